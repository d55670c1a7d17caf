#!/usr/bin/env python3
"""The rights each ServiceAccount gets from RBAC manifests, as Markdown tables.

  rbac-tables.py --markdown [SOURCE...]          print one table per component
  rbac-tables.py --check DOC [SOURCE...]         exit 1 when DOC's tables (between
                                                 <!-- rbac:begin --> and <!-- rbac:end -->)
                                                 differ from what SOURCE grants
  rbac-tables.py --compare [SOURCE...] --with OTHER... [--with-namespace NS] [--with-fullname NAME]
                                                 exit 1 when OTHER (e.g. the chart's render)
                                                 grants any component other rights than SOURCE

SOURCE and OTHER are YAML files ('-' for stdin) or directories holding a kustomization.yaml
(its `resources`, as `kubectl apply -k` reads them). Default SOURCE: deploy/ of this repository.
Only ServiceAccount, Role, ClusterRole, RoleBinding and ClusterRoleBinding objects count.

Normalization, so that the same rights written differently compare equal: every rule is split
into (scope, apiGroup, resource, resourceNames) -> verbs, rules and roles bound to one subject
are merged, verbs a rule grants on every name of a resource are dropped from the rules that
grant them on some names only, and everything is sorted. A ClusterRole bound by a RoleBinding
has the RoleBinding's namespace as scope. For --compare, the other source's release namespace
(--with-namespace) reads as rr-system and its objects' base name (--with-fullname, the chart's
`rr-operator.fullname`) as rr-operator, so a `helm template` in any namespace and under any
release name compares with deploy/.
"""

import argparse
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_NAMESPACE = "rr-system"
BASE_NAME = "rr-operator"
BEGIN, END = "<!-- rbac:begin -->", "<!-- rbac:end -->"
RBAC_KINDS = {"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
# Verbs in the order people read them; others follow alphabetically.
VERB_ORDER = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
HEADER = "| scope | apiGroup | resource | verbs | resourceNames |"


class Problem(Exception):
    pass


def read_documents(source):
    """The YAML documents of a file, stdin ('-') or a kustomization directory."""
    if source == "-":
        return [d for d in yaml.safe_load_all(sys.stdin) if d]
    if os.path.isdir(source):
        kust = next((os.path.join(source, n) for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
                     if os.path.exists(os.path.join(source, n))), None)
        if kust is None:
            raise Problem(f"{source}: a directory without kustomization.yaml")
        with open(kust) as f:
            resources = (yaml.safe_load(f) or {}).get("resources") or []
        docs = []
        for r in resources:
            docs += read_documents(os.path.join(source, r))
        return docs
    with open(source) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def rbac_objects(sources):
    objects = []
    for source in sources:
        for doc in read_documents(source):
            items = doc.get("items", []) if doc.get("kind", "").endswith("List") else [doc]
            objects += [o for o in items if isinstance(o, dict) and o.get("kind") in RBAC_KINDS]
    return objects


def verb_key(v):
    return (VERB_ORDER.index(v), v) if v in VERB_ORDER else (len(VERB_ORDER), v)


class Model:
    """component -> {(scope, apiGroup, resource, resourceNames): set(verbs)}."""

    def __init__(self, objects, release_namespace=DEFAULT_NAMESPACE, fullname=BASE_NAME):
        self.release_namespace = release_namespace
        self.fullname = fullname
        self.grants = {}
        roles = {}
        for o in objects:
            meta = o.get("metadata") or {}
            ns = meta.get("namespace") or release_namespace
            if o["kind"] == "ServiceAccount":
                self.grants.setdefault(self.subject("ServiceAccount", meta["name"], ns), {})
            elif o["kind"] in ("Role", "ClusterRole"):
                if o.get("aggregationRule"):
                    raise Problem(f"ClusterRole {meta['name']}: aggregated ClusterRoles are not supported")
                key = ("ClusterRole", "", meta["name"]) if o["kind"] == "ClusterRole" else ("Role", ns, meta["name"])
                roles[key] = o.get("rules") or []
        for o in objects:
            if o["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            meta = o.get("metadata") or {}
            ref = o.get("roleRef") or {}
            if o["kind"] == "ClusterRoleBinding":
                ns, scope = "", "cluster"
            else:
                ns = meta.get("namespace") or release_namespace
                scope = "namespace " + self.namespace(ns)
            key = ("ClusterRole", "", ref.get("name")) if ref.get("kind") == "ClusterRole" else ("Role", ns, ref.get("name"))
            if key not in roles:
                raise Problem(f"{o['kind']} {meta.get('name')}: its {ref.get('kind')} {ref.get('name')} "
                              "is not among the manifests read")
            for s in o.get("subjects") or []:
                grants = self.grants.setdefault(
                    self.subject(s.get("kind"), s.get("name"), s.get("namespace") or ns or release_namespace), {})
                for rule in roles[key]:
                    self.add_rule(grants, scope, rule, o)
        for grants in self.grants.values():
            normalize(grants)

    def namespace(self, ns):
        return DEFAULT_NAMESPACE if ns == self.release_namespace else ns

    def subject(self, kind, name, ns):
        if name == self.fullname:
            name = BASE_NAME
        elif name.startswith(self.fullname + "-"):
            name = BASE_NAME + name[len(self.fullname):]
        return f"ServiceAccount {self.namespace(ns)}/{name}" if kind == "ServiceAccount" else f"{kind} {name}"

    @staticmethod
    def add_rule(grants, scope, rule, binding):
        if rule.get("nonResourceURLs"):
            raise Problem(f"{binding['kind']} {binding['metadata'].get('name')}: nonResourceURLs are not supported")
        names = tuple(sorted(set(rule.get("resourceNames") or [])))
        for group in rule.get("apiGroups") or [""]:
            for resource in rule.get("resources") or []:
                grants.setdefault((scope, group, resource, names), set()).update(rule.get("verbs") or [])


def normalize(grants):
    for (scope, group, resource, names), verbs in list(grants.items()):
        if names:
            verbs -= grants.get((scope, group, resource, ()), set())
            if not verbs:
                del grants[(scope, group, resource, names)]


def scope_key(scope):
    return (scope != "cluster", scope)


def row_key(key):
    scope, group, resource, names = key
    return (scope_key(scope), group, resource, names)


def row_text(key, verbs):
    scope, group, resource, names = key
    cells = [scope, group or "core", resource, ", ".join(sorted(verbs, key=verb_key)), ", ".join(names) or "any"]
    return "| " + " | ".join(cells) + " |"


def component_rows(grants):
    return [row_text(k, grants[k]) for k in sorted(grants, key=row_key)]


def markdown(model):
    out = []
    for component in sorted(model.grants):
        out += [f"#### {component}", "", HEADER, "|---|---|---|---|---|"]
        rows = component_rows(model.grants[component])
        out += rows if rows else ["| (none) | | | | |"]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def parse_tables(text):
    """{component: set(normalized rows)} from Markdown written by markdown() (or by hand)."""
    tables, current = {}, None
    for line in text.splitlines():
        heading = re.match(r"^#+\s+(.*\S)\s*$", line)
        if heading:
            current = heading.group(1)
            tables.setdefault(current, set())
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        if current is None or cells is None or len(cells) != 5 or cells[0] in ("scope", "(none)") \
                or set(cells[0]) <= set("-: "):
            continue
        scope, group, resource, verbs, names = cells
        key = (scope, "" if group == "core" else group, resource,
               tuple(sorted(n.strip() for n in names.split(",") if n.strip() and names != "any")))
        tables[current].add(row_text(key, {v.strip() for v in verbs.split(",") if v.strip()}))
    return tables


def differences(want, got, only_want, only_got):
    """Lines naming every row one side has and the other lacks, per component."""
    lines = []
    for component in sorted(set(want) | set(got)):
        w, g = set(want.get(component, ())), set(got.get(component, ()))
        lines += [f"{component}: {r}: {only_want}" for r in sorted(w - g)]
        lines += [f"{component}: {r}: {only_got}" for r in sorted(g - w)]
        if not (w - g or g - w) and (component in want) != (component in got):
            lines.append(f"{component}: (no rights): {only_want if component in want else only_got}")
    return lines


def doc_block(path):
    with open(path) as f:
        text = f.read()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise Problem(f"{path}: needs exactly one {BEGIN} ... {END} block")
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--markdown", action="store_true", help="print the tables")
    mode.add_argument("--check", metavar="DOC", help="compare DOC's tables with the manifests")
    mode.add_argument("--compare", action="store_true", help="compare SOURCE with --with")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="YAML files or kustomization directories")
    p.add_argument("--namespace", default=DEFAULT_NAMESPACE,
                   help="release namespace of SOURCE, read as rr-system (default: %(default)s)")
    p.add_argument("--with", dest="other", nargs="+", metavar="OTHER", help="the second source (--compare)")
    p.add_argument("--with-namespace", default=DEFAULT_NAMESPACE,
                   help="release namespace of OTHER, read as rr-system (default: %(default)s)")
    p.add_argument("--with-fullname", default=BASE_NAME,
                   help="OTHER's objects' base name, read as rr-operator (default: %(default)s)")
    args = p.parse_args(argv)
    sources = args.sources or [os.path.join(ROOT, "deploy")]
    try:
        model = Model(rbac_objects(sources), args.namespace)
        if args.markdown:
            sys.stdout.write(markdown(model))
            return 0
        if args.check:
            got = parse_tables(doc_block(args.check))
            want = parse_tables(markdown(model))
            what = " ".join(sources)
            diff = differences(want, got, f"granted by {what}, not listed in {args.check}",
                               f"listed in {args.check}, not granted by {what}")
        else:
            if not args.other:
                p.error("--compare needs --with OTHER")
            other = Model(rbac_objects(args.other), args.with_namespace, args.with_fullname)
            want = {c: set(component_rows(g)) for c, g in model.grants.items()}
            got = {c: set(component_rows(g)) for c, g in other.grants.items()}
            a, b = " ".join(sources), " ".join(args.other)
            diff = differences(want, got, f"granted by {a}, not by {b}", f"granted by {b}, not by {a}")
            what = f"{a} and {b}"
    except (Problem, OSError, yaml.YAMLError, KeyError) as e:
        print(f"rbac-tables: {e}", file=sys.stderr)
        return 2
    if diff:
        print("\n".join(diff))
        if args.check:
            print(f"regenerate: scripts/rbac-tables.py --markdown {' '.join(args.sources) or 'deploy/'}")
        return 1
    count = sum(len(rows) for rows in want.values())
    print(f"rbac-tables: {what}: {len(want)} components, {count} rows, the same")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
