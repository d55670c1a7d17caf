#!/usr/bin/env bash
# GitOps round trips of the RouteReflectorCluster CRD against a real kube-apiserver v1.20.2:
# every example in deploy/examples/ applied as Argo CD or Flux would, client-side
# (`kubectl apply`) and server-side (`kubectl apply --server-side`), each twice, and each over
# the other. A repeated apply must be a no-op (`unchanged`, or no new resourceVersion), no apply
# may conflict, and `kubectl diff` must find nothing each time. Also: the schema's lists are
# typed for server-side apply (named items are keyed maps, two field managers can own one item
# each), no default hides inside a list item, and the Helm chart renders the same CRD as crds/.
# One PASS/FAIL line per check; exit 1 on any failure.
#
# Needs RR_KUBE_DIR (set by rr_add_control_plane_test) or an explicit DIR argument.
set -uo pipefail

DIR=${1:-${RR_KUBE_DIR:?set RR_KUBE_DIR or pass the instance directory}}
# shellcheck disable=SC1091
source "$DIR/env" || { echo "FAIL: cannot read $DIR/env"; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
K=${RR_KUBECTL:-$("$ROOT/scripts/fetch-kubectl.sh")}
H=${RR_HELM:-$("$ROOT/scripts/fetch-helm.sh")}
export KUBECONFIG

TMP=$(mktemp -d)
CREATED=()          # RouteReflectorClusters to delete at exit
cleanup() {
  local n
  for n in "${CREATED[@]+"${CREATED[@]}"}"; do kc delete rrc "$n" --ignore-not-found --wait=false >/dev/null 2>&1; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=../lib/checks.sh
source "$(dirname "$0")/../lib/checks.sh"

CRD=routereflectorclusters.rr.bgp.dev
# field OBJECT JQ: one field of a live RouteReflectorCluster.
field() { kc get rrc "$1" -o json | jq -r "$2"; }
# diff_empty FILE STEP [--server-side]: kubectl diff finds nothing (exit 0; 1 means a diff).
diff_empty() {
  local out rc
  out=$(kc diff "${@:3}" -f "$1" 2>&1); rc=$?
  ((rc == 0)) && pass "$2: kubectl diff ${3:+$3 }is empty" || fail "$2: kubectl diff ${3:+$3 }exit $rc: $(head -c 600 <<<"$out")"
}
# server_side_changes_nothing FILE STEP OBJECT: what a server-side apply would store (dry run)
# has the live spec and labels. For an object last written client-side, `kubectl diff
# --server-side` of kubectl 1.20 also shows the bookkeeping such an apply adds (its
# managedFields entry, last-applied-configuration re-serialised by the server), for every
# kind, ConfigMaps included; that is not drift.
server_side_changes_nothing() {
  local want got
  want=$(kc get rrc "$3" -o json | jq -cS '{spec, labels: .metadata.labels}')
  if got=$(kc apply --server-side --dry-run=server -o json -f "$1" 2>"$TMP/dry-run.err"); then
    got=$(jq -cS '{spec, labels: .metadata.labels}' <<<"$got")
    [[ $got == "$want" ]] && pass "$2: a server-side apply would change no spec (dry run)" \
      || fail "$2: a server-side apply would store $got over $want"
  else
    fail "$2: server-side dry run: $(head -c 600 "$TMP/dry-run.err")"
  fi
}
# apply_csa FILE STEP WANT: client-side apply; its report must end in WANT.
apply_csa() {
  local out
  if out=$(kc apply -f "$1" 2>&1) && grep -q " $3\$" <<<"$out"; then
    pass "$2: $(tail -n 1 <<<"$out")"
  else
    fail "$2: want '$3', got: $(head -c 600 <<<"$out")"
  fi
}
# apply_ssa FILE STEP: server-side apply without --force-conflicts must succeed.
apply_ssa() {
  local out
  if out=$(kc apply --server-side -f "$1" 2>&1); then
    pass "$2: $out"
  else
    fail "$2: $(head -c 600 <<<"$out")"
  fi
}
# unchanged_since OBJECT STEP RV: a no-op write stores nothing (same resourceVersion).
unchanged_since() {
  local now; now=$(field "$1" .metadata.resourceVersion)
  [[ $now == "$3" ]] && pass "$2: nothing stored (resourceVersion $now)" \
    || fail "$2: stored a new version ($3 -> $now): $(kc get rrc "$1" -o json | jq -c .metadata.managedFields)"
}
# same_generation OBJECT STEP GEN: the spec did not change.
same_generation() {
  local now; now=$(field "$1" .metadata.generation)
  [[ $now == "$3" ]] && pass "$2: spec unchanged (generation $now)" || fail "$2: spec changed (generation $3 -> $now)"
}

# ---------------------------------------------------------------- 1. the chart's CRD is crds/'s
# to_spec FILE: the .spec of the one object in FILE, as sorted JSON.
to_spec() { kc create --dry-run=client -o json -f "$1" 2>/dev/null | jq -S .spec; }
if out=$(kc apply -k "$ROOT/crds" 2>&1) &&
   kc wait --for condition=established --timeout=20s "crd/$CRD" >/dev/null 2>&1; then
  pass "kubectl apply -k crds/: $CRD Established"
else
  fail "kubectl apply -k crds/: $out"
fi
if timeout 60 "$H" template rr "$ROOT/helm/rr-operator" --show-only templates/crds.yaml >"$TMP/chart-crd.yaml" 2>"$TMP/helm.err"; then
  chart=$(to_spec "$TMP/chart-crd.yaml")
  plain=$(to_spec "$ROOT/crds/rr.bgp.dev_routereflectorclusters.yaml")
  [[ -n $chart && $chart == "$plain" ]] && pass "the Helm chart renders crds/'s CRD spec unchanged" \
    || fail "the chart's CRD differs from crds/: $(diff <(echo "$plain") <(echo "$chart") | head -20)"
else
  fail "helm template --show-only templates/crds.yaml: $(cat "$TMP/helm.err")"
fi

# ---------------------------------------------------------------- 2. list types in the schema
schema=$(kc get crd "$CRD" -o json | jq '.spec.versions[0].schema.openAPIV3Schema')
# Every array says how server-side apply merges it.
untyped=$(jq -r '[paths(objects) as $p | select(getpath($p).type? == "array")
                  | select(getpath($p)["x-kubernetes-list-type"] == null) | $p | map(tostring) | join(".")] | join(" ")' \
          <<<"$schema" 2>&1)
arrays=$(jq '[paths(objects) as $p | select(getpath($p).type? == "array")] | length' <<<"$schema")
[[ $arrays -gt 3 && -z $untyped ]] && pass "all $arrays lists declare x-kubernetes-list-type" \
  || fail "lists without x-kubernetes-list-type (of ${arrays:-?}): $untyped"
# A keyed list's keys are required in its items (a key may not be absent).
badkeys=$(jq -r '[paths(objects) as $p | getpath($p) | select(.["x-kubernetes-list-type"]? == "map")
                  | select((.["x-kubernetes-list-map-keys"] // []) as $k | ($k | length) == 0
                           or ($k - (.items.required // []) | length) > 0) | .description[0:40]] | join("; ")' <<<"$schema")
[[ -z $badkeys ]] && pass "every keyed list has keys, all required in its items" || fail "keyed lists with bad keys: $badkeys"
# kubectl apply replaces a custom resource's lists whole (JSON merge patch): a server default
# inside a list item is drift on every apply.
hidden=$(jq -r '[paths(objects) as $p | select($p | index("items"))
                 | select(getpath($p) | has("default")) | $p | map(tostring) | join(".")] | join(" ")' <<<"$schema")
[[ -z $hidden ]] && pass "no server-side default inside a list item" || fail "defaults inside list items: $hidden"

# Discovery and the published OpenAPI lag a moment behind Established.
for _ in $(seq 100); do kc get rrc >/dev/null 2>&1 && break; sleep 0.2; done

# ---------------------------------------------------------------- 3. every example, both ways
for ex in "$ROOT"/deploy/examples/*.yaml; do
  ex_name=examples/$(basename "$ex")
  obj=$(kc create --dry-run=client -o json -f "$ex" 2>/dev/null | jq -r .metadata.name)
  if [[ -z $obj || $obj == null ]]; then
    fail "$ex_name: no object name"
    continue
  fi
  CREATED+=("$obj")
  kc delete rrc "$obj" --ignore-not-found >/dev/null 2>&1

  # Client-side twice.
  apply_csa "$ex" "$ex_name client-side create" created
  apply_csa "$ex" "$ex_name client-side again" unchanged
  diff_empty "$ex" "$ex_name after client-side applies"
  server_side_changes_nothing "$ex" "$ex_name after client-side applies" "$obj"
  # Server-side over client-side: same values, so shared ownership and no conflict.
  gen=$(field "$obj" .metadata.generation)
  apply_ssa "$ex" "$ex_name server-side over client-side"
  same_generation "$obj" "$ex_name server-side over client-side" "$gen"
  diff_empty "$ex" "$ex_name after server-side over client-side"
  diff_empty "$ex" "$ex_name after server-side over client-side" --server-side
  rv=$(field "$obj" .metadata.resourceVersion)
  apply_ssa "$ex" "$ex_name server-side again"
  unchanged_since "$obj" "$ex_name server-side again" "$rv"

  # Server-side twice on a fresh object.
  kc delete rrc "$obj" >/dev/null 2>&1
  apply_ssa "$ex" "$ex_name server-side create"
  rv=$(field "$obj" .metadata.resourceVersion)
  apply_ssa "$ex" "$ex_name server-side again"
  unchanged_since "$obj" "$ex_name server-side again" "$rv"
  diff_empty "$ex" "$ex_name after server-side applies"
  diff_empty "$ex" "$ex_name after server-side applies" --server-side
  # Client-side over server-side: the first one only records last-applied-configuration
  # (a server-side apply keeps none), the second is a no-op.
  gen=$(field "$obj" .metadata.generation)
  apply_csa "$ex" "$ex_name client-side over server-side" configured
  same_generation "$obj" "$ex_name client-side over server-side" "$gen"
  apply_csa "$ex" "$ex_name client-side over server-side, again" unchanged
  diff_empty "$ex" "$ex_name after client-side over server-side"
  server_side_changes_nothing "$ex" "$ex_name after client-side over server-side" "$obj"
  # And server-side once more: the server re-serialises last-applied-configuration once (as
  # for any kind), the spec stays, and the apply after that is a no-op.
  gen=$(field "$obj" .metadata.generation)
  apply_ssa "$ex" "$ex_name server-side after client-side"
  same_generation "$obj" "$ex_name server-side after client-side" "$gen"
  rv=$(field "$obj" .metadata.resourceVersion)
  apply_ssa "$ex" "$ex_name server-side again"
  unchanged_since "$obj" "$ex_name server-side again" "$rv"
  diff_empty "$ex" "$ex_name at the end"
  diff_empty "$ex" "$ex_name at the end" --server-side
done

# ---------------------------------------------------------------- 4. named items are keyed
# Two field managers (two Git repositories, say) each own one external peer of one fabric.
KEYED=gitops-keyed-$(date +%s)-$RANDOM
CREATED+=("$KEYED")
peer_file() { # peer_file FILE PEER-NAME ADDRESS [MORE-SPEC-LINES]
  printf 'apiVersion: rr.bgp.dev/v1alpha1\nkind: RouteReflectorCluster\nmetadata: {name: %s}\nspec:\n  externalPeers:\n  - {name: %s, address: %s, asNumber: 65000}\n%s' \
    "$KEYED" "$2" "$3" "${4:-}" >"$1"
}
peer_file "$TMP/team-a.yaml" edge-a 192.0.2.1 "  reflectors: {resources: {requests: {cpu: 1, memory: 64Mi}}}"$'\n'
peer_file "$TMP/team-b.yaml" edge-b 192.0.2.2
if out=$(kc apply --server-side --field-manager=team-a -f "$TMP/team-a.yaml" 2>&1) &&
   out2=$(kc apply --server-side --field-manager=team-b -f "$TMP/team-b.yaml" 2>&1); then
  pass "two field managers each apply their own external peer without a conflict"
else
  fail "two field managers, one peer each: ${out:-} ${out2:-}"
fi
got=$(field "$KEYED" '[.spec.externalPeers[].name] | sort | join(",")')
[[ $got == "edge-a,edge-b" ]] && pass "both peers kept: $got" || fail "external peers after two managers: $got"
owned=$(kc get rrc "$KEYED" -o json | jq -r '.metadata.managedFields[] | select(.manager == "team-a")
          | .fieldsV1["f:spec"]["f:externalPeers"] | keys | map(select(. != ".")) | join(",")')
[[ $owned == 'k:{"name":"edge-a"}' ]] && pass "team-a owns its peer by key: $owned" \
  || fail "team-a's external peer fields: '$owned' (want k:{\"name\":\"edge-a\"})"
# team-a re-applies its file, and team-b's peer stays.
kc apply --server-side --field-manager=team-a -f "$TMP/team-a.yaml" >/dev/null 2>&1
got=$(field "$KEYED" '[.spec.externalPeers[].name] | sort | join(",")')
[[ $got == "edge-a,edge-b" ]] && pass "team-a's re-apply keeps team-b's peer" || fail "after team-a's re-apply: $got"
# A peer without port or multihop reads back as written; rr-operator takes 179 and true.
got=$(field "$KEYED" '.spec.externalPeers[] | select(.name == "edge-b") | keys | join(",")')
[[ $got == "address,asNumber,name" ]] && pass "edge-b stored as written ($got)" || fail "edge-b stored as: $got"

tally gitops
