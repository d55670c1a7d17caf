#!/usr/bin/env bash
# The ways to install rr-operator, against a real kube-apiserver v1.20.2 (with
# kube-controller-manager, so Deployments make Pods, which stay Pending: no scheduler):
#   deploy/ (kubectl apply -k), deploy/servicemonitor.yaml, deploy/examples/,
#   helm/rr-operator (helm 4: lint --strict, template, the render applied to a fresh
#   namespace; its RBAC rules equal deploy/rbac.yaml's, its Deployment equals deploy/'s),
#   docs/security.md's rights tables (scripts/rbac-tables.py: equal to what deploy/ and the chart grant),
#   monitoring/alerts.yaml (promtool check rules + test rules) and
#   monitoring/grafana-dashboard.json (parses, valid PromQL, metric names exist in the code).
# One PASS/FAIL line per check; exit 1 on any failure.
#
# Needs RR_KUBE_DIR (set by rr_add_control_plane_test) or an explicit DIR argument.
set -uo pipefail

DIR=${1:-${RR_KUBE_DIR:?set RR_KUBE_DIR or pass the instance directory}}
# shellcheck disable=SC1091
source "$DIR/env" || { echo "FAIL: cannot read $DIR/env"; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/deploy
K=${RR_KUBECTL:-$("$ROOT/scripts/fetch-kubectl.sh")}
H=${RR_HELM:-$("$ROOT/scripts/fetch-helm.sh")} || { echo "FAIL: cannot obtain helm (scripts/fetch-helm.sh)"; exit 1; }
export KUBECONFIG

TMP=$(mktemp -d)
SUFFIX=$(date +%s)-$RANDOM
REL=rrchart                          # the chart's objects: rrchart-rr-operator...
NS=rr-chart-$SUFFIX                  # fresh namespace for the chart's render
REL3=rrv3                            # the chart with calicoAPI=projectcalico.org/v3 (its RBAC only)
NS3=rr-chart-v3-$SUFFIX
NSC=rr-chart-calico-$SUFFIX          # calico-node's namespace for calico.passwordCopies
cleanup() {
  # Bounded: the instance is this test's own, but leave it as found for a rerun.
  kc delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1
  kc delete clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$REL" --ignore-not-found --wait=false >/dev/null 2>&1
  kc delete namespace "$NS3" --ignore-not-found --wait=false >/dev/null 2>&1
  kc delete namespace "$NSC" --ignore-not-found --wait=false >/dev/null 2>&1
  kc delete clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$REL3" --ignore-not-found --wait=false >/dev/null 2>&1
  kc delete -f "$HERE/prometheus-operator-crds.yaml" --ignore-not-found --wait=false >/dev/null 2>&1
  kc delete -k "$ROOT/deploy" --ignore-not-found --wait=false >/dev/null 2>&1
  kc delete -f "$ROOT/tests/crds/calico" --ignore-not-found --wait=false >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=../lib/checks.sh
source "$(dirname "$0")/../lib/checks.sh"
check() { # check DESCRIPTION GOT WANT
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: got $2, want $3"; fi
}
helm_() { timeout 60 "$H" "$@" 2>"$TMP/helm.err"; }
# as_list: kubectl's -o json output (one object, a List, or several objects) as one {items}.
as_list() { jq -s '{items: [.[] | (.items // [.])[]]}'; }
# to_json FILE: the objects of a YAML file as {items: [...]} (kubectl parses; needs discovery).
to_json() { kc create --dry-run=client -o json -f "$1" | as_list; }
# wait_for SECONDS CMD...: polls CMD every 0.5 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.5; done
}
# Rules as a set: order of rules and of their lists does not matter.
norm_rules='[.rules[] | {apiGroups: (.apiGroups // [] | sort), resources: (.resources // [] | sort),
             resourceNames: (.resourceNames // [] | sort), verbs: (.verbs | sort)}] | sort'

# ======================================================================== static checks
# ---------------------------------------------------------------- helm lint / template
if out=$(helm_ lint --strict "$ROOT/helm/rr-operator"); then
  pass "helm lint --strict helm/rr-operator ($("$H" version --short 2>/dev/null))"
else
  fail "helm lint --strict: $out $(cat "$TMP/helm.err")"
fi
if helm_ template "$REL" "$ROOT/helm/rr-operator" -n "$NS" >"$TMP/chart.yaml"; then
  kinds=$(grep -E '^kind: ' "$TMP/chart.yaml" | sort | uniq -c | awk '{printf "%s%s=%s", sep, $3, $1; sep=","}')
  check "helm template (defaults) objects" "$kinds" \
    "ClusterRole=2,ClusterRoleBinding=2,CustomResourceDefinition=1,Deployment=1,Role=3,RoleBinding=3,Service=1,ServiceAccount=2"
else
  fail "helm template (defaults): $(cat "$TMP/helm.err")"
fi
grep -q 'monitoring.coreos.com' "$TMP/chart.yaml" && fail "default render has Prometheus Operator objects" \
  || pass "default render has no ServiceMonitor/PodMonitor (the CRDs may be absent)"
if helm_ template "$REL" "$ROOT/helm/rr-operator" -n "$NS" --set metrics.serviceMonitor.enabled=true \
     --set metrics.podMonitor.enabled=true --set-string metrics.serviceMonitor.labels.release=prom \
     --set metrics.serviceMonitor.interval=15s >"$TMP/chart-sm.yaml"; then
  if grep -q '^kind: ServiceMonitor' "$TMP/chart-sm.yaml" && grep -q '^kind: PodMonitor' "$TMP/chart-sm.yaml" &&
     grep -q 'release: prom' "$TMP/chart-sm.yaml" && grep -q 'interval: 15s' "$TMP/chart-sm.yaml"; then
    pass "helm template with metrics.serviceMonitor/podMonitor enabled renders both, with labels and interval"
  else
    fail "serviceMonitor render: $(grep -A12 'kind: ServiceMonitor' "$TMP/chart-sm.yaml" | head -20)"
  fi
else
  fail "helm template --set metrics.serviceMonitor.enabled=true: $(cat "$TMP/helm.err")"
fi
if helm_ template "$REL" "$ROOT/helm/rr-operator" --set leaderElection.enabled=false >/dev/null; then
  fail "2 replicas without leader election rendered (two writers)"
else
  grep -q 'needs leaderElection.enabled' "$TMP/helm.err" && pass "2 replicas without leader election refused" \
    || fail "2 replicas without leader election: $(cat "$TMP/helm.err")"
fi
if out=$(helm_ template "$REL" "$ROOT/helm/rr-operator" --set leaderElection.enabled=false --set replicas=1); then
  grep -q -- '--leader-elect=false' <<<"$out" && ! grep -q -- '--lease-duration' <<<"$out" \
    && pass "1 replica without leader election: --leader-elect=false" || fail "1 replica, no leader election: args wrong"
else
  fail "helm template replicas=1 leaderElection.enabled=false: $(cat "$TMP/helm.err")"
fi
if out=$(helm_ template "$REL" "$ROOT/helm/rr-operator" -n rr-system --set 'reflector.namespaces={rr-system,fabric-b}' \
           --set crds.install=false --set rbac.create=true); then
  got=$(grep -A3 -E '^kind: (Role|RoleBinding|ServiceAccount)$' <<<"$out" | grep -E '^  namespace: ' | sort | uniq -c | awk '{printf "%s%s=%s", sep, $3, $1; sep=","}')
  check "reflector.namespaces: the agent's ServiceAccount/Roles/bindings, the operator's Roles/bindings in each" "$got" \
    "fabric-b=7,rr-system=8"
  check "reflector.namespaces are rr-operator's --allowed-namespaces" \
    "$(grep -oE -- '--allowed-namespaces=[^ "]*' <<<"$out")" "--allowed-namespaces=rr-system,fabric-b"
  grep -q '^kind: CustomResourceDefinition' <<<"$out" && fail "crds.install=false still renders the CRD" \
    || pass "crds.install=false leaves the CRD out"
else
  fail "helm template reflector.namespaces: $(cat "$TMP/helm.err")"
fi

if out=$(helm_ template "$REL" "$ROOT/helm/rr-operator" -n ops --set 'reflector.namespaces={fabric-a}' \
           --set 'reflector.allowedImages={registry.example/rr-agent:0.2.0,registry.example/rr-agent@sha256:0a1b}'); then
  got=$(grep -A3 -E '^kind: Role$' <<<"$out" | grep -E '^  (name|namespace): ' | awk '{print $2}' | paste -sd' ' -)
  check "release namespace outside reflector.namespaces: the operator's Role there holds the leader Lease only" "$got" \
    "$REL-rr-operator-leader-election ops $REL-rr-operator fabric-a $REL-rr-operator-secrets fabric-a $REL-rr-operator-agent fabric-a"
  check "reflector.allowedImages are rr-operator's --allowed-reflector-images" \
    "$(grep -oE -- '--allowed-(namespaces|reflector-images)=[^ "]*' <<<"$out" | paste -sd' ' -)" \
    "--allowed-namespaces=fabric-a --allowed-reflector-images=registry.example/rr-agent:0.2.0,registry.example/rr-agent@sha256:0a1b"
else
  fail "helm template reflector.allowedImages: $(cat "$TMP/helm.err")"
fi

# ---------------------------------------------------------------- RBAC: docs/security.md, deploy/ and the chart
# No component runs with more rights than docs/security.md lists (scripts/rbac-tables.py).
RBAC_TABLES=$ROOT/scripts/rbac-tables.py
if out=$(python3 "$RBAC_TABLES" --check "$ROOT/docs/security.md" "$ROOT/deploy" 2>&1); then
  pass "docs/security.md lists exactly the rights deploy/ grants: $out"
else
  fail "docs/security.md and deploy/ differ (regenerate: scripts/rbac-tables.py --markdown): $out"
fi
if out=$(python3 "$RBAC_TABLES" --compare "$ROOT/deploy" --with "$TMP/chart.yaml" --with-namespace "$NS" \
           --with-fullname "$REL-rr-operator" 2>&1); then
  pass "the chart (defaults, release $REL in $NS) grants each component what deploy/ grants: $out"
else
  fail "the chart's RBAC differs from deploy/'s: $out"
fi
# The check itself: one verb more in a copy of deploy/ fails it, naming the row.
mkdir -p "$TMP/deploy-extra" && cp "$ROOT"/deploy/*.yaml "$TMP/deploy-extra/"
sed -i 's/verbs: \["get", "list", "watch", "create", "update"\]  # its own Lease/verbs: ["get", "list", "watch", "create", "update", "delete"]  # its own Lease/' \
  "$TMP/deploy-extra/rbac.yaml"
out=$(python3 "$RBAC_TABLES" --check "$ROOT/docs/security.md" "$TMP/deploy-extra" 2>&1)
if [[ $? == 1 && $out == *"ServiceAccount rr-system/rr-agent: | namespace rr-system | coordination.k8s.io | leases | get, list, watch, create, update, delete | any |: granted by"* ]]; then
  pass "a verb docs/security.md does not list (rr-agent deleting Leases) fails the check, naming the row"
else
  fail "an extra verb in deploy/rbac.yaml passed the docs/security.md check: $out"
fi

# ---------------------------------------------------------------- calicoAPI: projectcalico.org/v3
# The chart grants rights on the Calico API group it is told to use, and on no other; deploy/'s
# recipe for it (docs/operations.md, "Calico's API server") grants the same as the chart.
if helm_ template "$REL3" "$ROOT/helm/rr-operator" -n "$NS3" --set calicoAPI=projectcalico.org/v3 >"$TMP/chart-v3.yaml"; then
  check "calicoAPI=projectcalico.org/v3: rr-operator's flag" \
    "$(grep -oE -- '--calico-api=[^ "]*' "$TMP/chart-v3.yaml")" "--calico-api=projectcalico.org/v3"
  calico_groups() { grep -ohE 'apiGroups: \["[a-z.]*projectcalico\.org"\]' "$1" | sort | uniq -c | awk '{print $1, $3}' | paste -sd, -; }
  check "the API groups of the chart's Calico rules (v3 render / default render)" \
    "$(calico_groups "$TMP/chart-v3.yaml") / $(calico_groups "$TMP/chart.yaml")" \
    '2 ["projectcalico.org"] / 2 ["crd.projectcalico.org"]'
  # deploy/ as docs/operations.md says to install it for Calico's API server.
  recipe=$(sed -n 's/^ *\(kubectl kustomize deploy\/ | sed .*\) | kubectl apply -f -$/\1/p' "$ROOT/docs/operations.md")
  if [[ -n $recipe ]] && (cd "$ROOT" && eval "${recipe/kubectl/$K}") >"$TMP/deploy-v3.yaml" 2>"$TMP/recipe.err" &&
     grep -q -- '--calico-api=projectcalico.org/v3' "$TMP/deploy-v3.yaml"; then
    if out=$(python3 "$RBAC_TABLES" --compare "$TMP/deploy-v3.yaml" --with "$TMP/chart-v3.yaml" --with-namespace "$NS3" \
               --with-fullname "$REL3-rr-operator" 2>&1); then
      pass "deploy/ by docs/operations.md's recipe for projectcalico.org/v3 grants what the chart's v3 render does: $out"
    else
      fail "deploy/ by the v3 recipe and the chart's v3 render differ: $out"
    fi
  else
    fail "docs/operations.md's recipe for projectcalico.org/v3 (${recipe:-not found}): $(cat "$TMP/recipe.err" 2>/dev/null)"
  fi
else
  fail "helm template --set calicoAPI=projectcalico.org/v3: $(cat "$TMP/helm.err")"
fi
if helm_ template "$REL3" "$ROOT/helm/rr-operator" --set calicoAPI=projectcalico.org/v1 >/dev/null; then
  fail "calicoAPI=projectcalico.org/v1 (no such API) rendered"
else
  grep -q 'calicoAPI must be' "$TMP/helm.err" && pass "an unknown calicoAPI is refused: $(grep -o 'calicoAPI must be.*' "$TMP/helm.err")" \
    || fail "unknown calicoAPI: $(cat "$TMP/helm.err")"
fi

# ---------------------------------------------------------------- alerts
if out=$(promtool check rules "$ROOT/monitoring/alerts.yaml" 2>&1); then
  pass "promtool check rules monitoring/alerts.yaml: $(grep -o '[0-9]* rules found' <<<"$out")"
else
  fail "promtool check rules: $out"
fi
mkdir -p "$TMP/rules" && cp "$ROOT/monitoring/alerts.yaml" "$HERE/alerts_test.yaml" "$TMP/rules/"
if out=$(cd "$TMP/rules" && timeout 60 promtool test rules alerts_test.yaml 2>&1); then
  pass "promtool test rules: the alerts fire on the scenarios of tests/deploy/alerts_test.yaml"
else
  fail "promtool test rules: $out"
fi
# Bookworm's promtool knows no kubernetes_sd_configs: trixie's (scripts/fetch-prometheus.sh).
if out=$("$("$ROOT/scripts/fetch-prometheus.sh")/usr/bin/promtool" check config "$ROOT/monitoring/prometheus-scrape.yaml" 2>&1); then
  pass "promtool check config monitoring/prometheus-scrape.yaml"
else
  fail "promtool check config monitoring/prometheus-scrape.yaml: $out"
fi
for a in RRRackWithoutEstablishedReflector RRReflectorDown RRBGPSessionFlapping RROperatorReconcileErrors RROperatorNoLeader; do
  grep -q "alert: $a\$" "$ROOT/monitoring/alerts.yaml" || fail "alert $a missing"
done

# ---------------------------------------------------------------- metric names
# The names the code registers (prometheus-cpp .Name("...")).
CODE_METRICS=$(grep -rhoE '\.Name\("rr_[a-z0-9_]+"\)' "$ROOT/operator" "$ROOT/reflector" "$ROOT/kube" "$ROOT/contract" 2>/dev/null \
               | sed -E 's/.*"(.*)".*/\1/' | sort -u)
[[ $(wc -l <<<"$CODE_METRICS") -ge 10 ]] && pass "metric names registered in the code: $(tr '\n' ' ' <<<"$CODE_METRICS")" \
  || fail "found too few metric names in the code: $CODE_METRICS"
known_metric() { # a registered name, or a histogram's _bucket/_sum/_count series of one
  grep -qx "$1" <<<"$CODE_METRICS" && return 0
  local base=${1%_bucket}; base=${base%_sum}; base=${base%_count}
  [[ $base != "$1" ]] && grep -qx "$base" <<<"$CODE_METRICS"
}
check_names() { # check_names WHAT NAMES
  local unknown=() n
  for n in $2; do known_metric "$n" || unknown+=("$n"); done
  if ((${#unknown[@]})); then fail "$1 references metrics the code does not export: ${unknown[*]}"
  else pass "$1: every metric it references exists in the code ($(wc -w <<<"$2") names)"; fi
}
ALERT_METRICS=$(grep -E '^\s+expr:|^\s{10}' "$ROOT/monitoring/alerts.yaml" | grep -v '^\s*#' \
                | grep -oE '\brr_[a-z0-9_]+' | sort -u)
check_names "monitoring/alerts.yaml" "$ALERT_METRICS"

# ---------------------------------------------------------------- dashboard
DASH=$ROOT/monitoring/grafana-dashboard.json
if jq -e '.title and .uid and (.panels | length > 0) and .schemaVersion' "$DASH" >/dev/null 2>"$TMP/jq.err"; then
  pass "grafana-dashboard.json parses ($(jq '.panels | length' "$DASH") panels, uid $(jq -r .uid "$DASH"))"
else
  fail "grafana-dashboard.json: $(cat "$TMP/jq.err")"
fi
EXPRS=$(jq -r '[.. | objects | (.expr?, .definition?) | strings] | .[]' "$DASH" 2>/dev/null)
DASH_METRICS=$(grep -oE '\brr_[a-z0-9_]+' <<<"$EXPRS" | sort -u)
check_names "monitoring/grafana-dashboard.json" "$DASH_METRICS"
missing=()
for m in rr_bgp_session_up rr_bgp_session_prefixes_received rr_bgp_session_prefixes_exported rr_bird_up \
         rr_bird_reconfigurations_total rr_lease_renewals_total rr_operator_reconciles_total \
         rr_operator_api_writes_total rr_operator_leader; do
  grep -qx "$m" <<<"$DASH_METRICS" || missing+=("$m")
done
((${#missing[@]})) && fail "the dashboard shows no ${missing[*]}" \
  || pass "the dashboard shows peer state, sessions, prefixes, reconfigurations, lease renewals, reconciles, writes, leader"
dupes=$(jq -r '[.panels[].id] | group_by(.) | map(select(length > 1) | .[0]) | join(",")' "$DASH")
[[ -z $dupes ]] && pass "dashboard panel ids are unique" || fail "dashboard panel ids repeat: $dupes"
# Every query is valid PromQL: as recording rules (Grafana's variables replaced) for promtool.
jq -r '[.. | objects | select(has("expr")) | .expr] | to_entries[] |
       "  - record: dashboard:query_\(.key)\n    expr: \(.value | @json)"' "$DASH" \
  | sed -e 's/\$__rate_interval/5m/g' -e 's/\$rack/.*/g' -e 's/\$reflector/.*/g' -e 's/\$operator_job/rr-operator/g' \
  | { echo "groups:"; echo "- name: dashboard"; echo "  rules:"; sed 's/^/  /'; } >"$TMP/dash-rules.yaml"
if out=$(promtool check rules "$TMP/dash-rules.yaml" 2>&1); then
  pass "every dashboard query is valid PromQL ($(grep -o '[0-9]* rules found' <<<"$out"))"
else
  fail "dashboard PromQL: $out"
fi

# ======================================================================== the server
# ---------------------------------------------------------------- crds/ and deploy/
CRD=routereflectorclusters.rr.bgp.dev
# A rerun on the same instance: the last run's rr-system may still be terminating.
ns_usable() { [[ $(kc get namespace rr-system -o jsonpath='{.status.phase}' 2>/dev/null) != Terminating ]]; }
wait_for 90 ns_usable || fail "namespace rr-system still Terminating after 90 s"
# Calico's BGPPeer/BGPConfiguration (test copies): what the operator's RBAC is about.
if out=$(kc apply -k "$ROOT/crds" 2>&1) && out2=$(kc apply -f "$ROOT/tests/crds/calico" 2>&1) &&
   kc wait --for condition=established --timeout=20s "crd/$CRD" crd/bgppeers.crd.projectcalico.org \
     crd/bgpconfigurations.crd.projectcalico.org >/dev/null 2>&1; then
  pass "kubectl apply -k crds/ (and the Calico test CRDs): $CRD Established"
else
  fail "kubectl apply -k crds/: $out ${out2:-}"
fi
if out=$(kc apply -k "$ROOT/deploy" 2>&1); then
  pass "kubectl apply -k deploy/ ($(wc -l <<<"$out") objects)"
else
  fail "kubectl apply -k deploy/: $out"
fi
out=$(kc apply -k "$ROOT/deploy" 2>&1)
changed=$(grep -v ' unchanged$' <<<"$out")
[[ -z $changed ]] && pass "a second kubectl apply -k deploy/ changes nothing" || fail "second apply -k deploy/: $changed"
# Not in the kustomization: the monitors (their CRDs may be absent) and the examples.
kustom=$(kc kustomize "$ROOT/deploy" 2>&1)
if grep -qE '^kind: (ServiceMonitor|PodMonitor|RouteReflectorCluster)' <<<"$kustom"; then
  fail "deploy/kustomization.yaml includes monitors or examples"
else
  pass "deploy/kustomization.yaml leaves out servicemonitor.yaml and examples/"
fi

dep=$(kc -n rr-system get deployment rr-operator -o json 2>&1)
if jq -e . >/dev/null 2>&1 <<<"$dep"; then
  c='.spec.template.spec.containers[0]'
  check "Deployment replicas/image/serviceAccount" \
    "$(jq -r "[.spec.replicas, $c.image, .spec.template.spec.serviceAccountName] | join(\" \")" <<<"$dep")" \
    "2 rr-operator:0.1.0 rr-operator"
  args=$(jq -r "$c.args | join(\" \")" <<<"$dep")
  [[ " $args " == *" --leader-elect=true "* && " $args " == *" --leader-election-namespace=rr-system "* ]] \
    && pass "Deployment args: $args" || fail "Deployment args lack leader election in rr-system: $args"
  check "probes: liveness /healthz, readiness /readyz on port metrics = 8080" \
    "$(jq -r "[$c.livenessProbe.httpGet.path, $c.livenessProbe.httpGet.port, $c.readinessProbe.httpGet.path,
               $c.readinessProbe.httpGet.port, ($c.ports[] | select(.name == \"metrics\") | .containerPort)] | join(\" \")" <<<"$dep")" \
    "/healthz metrics /readyz metrics 8080"
  check "container securityContext" \
    "$(jq -c "$c.securityContext | {runAsNonRoot, runAsUser, readOnlyRootFilesystem, allowPrivilegeEscalation,
               drop: .capabilities.drop, seccomp: .seccompProfile.type}" <<<"$dep")" \
    '{"runAsNonRoot":true,"runAsUser":65532,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"drop":["ALL"],"seccomp":"RuntimeDefault"}'
  jq -e "$c.resources.requests.cpu and $c.resources.requests.memory and $c.resources.limits.cpu and $c.resources.limits.memory" \
    >/dev/null <<<"$dep" && pass "resource requests and limits set" || fail "resources: $(jq -c "$c.resources" <<<"$dep")"
  check "env RR_IDENTITY from metadata.name" \
    "$(jq -r "$c.env[] | select(.name == \"RR_IDENTITY\") | .valueFrom.fieldRef.fieldPath" <<<"$dep")" "metadata.name"
  check "preferred podAntiAffinity across hosts" \
    "$(jq -r '.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey' <<<"$dep")" \
    "kubernetes.io/hostname"
  # The operator's own flags accept what the Deployment passes.
  if [[ -x $ROOT/build/operator/rr-operator ]]; then
    mapfile -t argv < <(jq -r "$c.args[]" <<<"$dep")
    if out=$("$ROOT/build/operator/rr-operator" "${argv[@]}" --help 2>&1 >/dev/null); then
      pass "rr-operator accepts the Deployment's args"
    else
      fail "rr-operator refuses the Deployment's args: $out"
    fi
  fi
else
  fail "Deployment rr-system/rr-operator: $dep"
fi
svc=$(kc -n rr-system get service rr-operator-metrics -o json 2>&1)
if jq -e . >/dev/null 2>&1 <<<"$svc"; then
  check "metrics Service port" "$(jq -r '.spec.ports[0] | "\(.name) \(.port) \(.targetPort)"' <<<"$svc")" "metrics 8080 metrics"
  sel=$(jq -r '.spec.selector | to_entries | map("\(.key)=\(.value)") | join(",")' <<<"$svc")
  [[ -n $sel ]] && pass "metrics Service selector $sel" || fail "metrics Service has no selector"
else
  fail "Service rr-system/rr-operator-metrics: $svc"
fi
for obj in serviceaccount/rr-operator serviceaccount/rr-agent role/rr-operator rolebinding/rr-operator \
           role/rr-operator-secrets rolebinding/rr-operator-secrets role/rr-agent rolebinding/rr-agent; do
  kc -n rr-system get "$obj" >/dev/null 2>&1 || fail "rr-system $obj missing"
done
for obj in clusterrole/rr-operator clusterrolebinding/rr-operator clusterrole/rr-agent clusterrolebinding/rr-agent; do
  kc get "$obj" >/dev/null 2>&1 || fail "$obj missing"
done
pass "ServiceAccounts, ClusterRoles, Roles and bindings of deploy/rbac.yaml exist"
# What the bindings grant (the API's own authorizer: kubectl auth can-i --as).
can() { kc auth can-i "$@" 2>/dev/null; }
OP=system:serviceaccount:rr-system:rr-operator
AG=system:serviceaccount:rr-system:rr-agent
got="$(can --as=$OP create pods -n rr-system) $(can --as=$OP delete bgppeers.crd.projectcalico.org) \
$(can --as=$OP patch routereflectorclusters.rr.bgp.dev/status) $(can --as=$OP update leases -n rr-system) \
$(can --as=$OP get secrets -n rr-system) $(can --as=$OP get secrets -n default) $(can --as=$OP list secrets -n rr-system) \
$(can --as=$OP delete nodes) $(can --as=$AG update leases -n rr-system) $(can --as=$AG watch secrets -n rr-system) \
$(can --as=$AG create pods -n rr-system) $(can --as=$AG get secrets -n default) \
$(can --as=$OP create pods -n default) $(can --as=$OP list pods --all-namespaces) $(can --as=$OP watch leases --all-namespaces) \
$(can --as=$OP create leases -n kube-system) $(can --as=$OP list nodes) \
$(can --as=$AG get secrets -n rr-system) $(can --as=$AG list secrets -n rr-system) \
$(can --as=$OP create roles -n rr-system) $(can --as=$OP update rolebindings -n rr-system) $(can --as=$OP create roles -n default)"
check "RBAC grants (operator: pods, leases, secrets, roles in rr-system only; bgppeers, status, nodes cluster-wide; agent: leases, no secrets)" \
  "$(tr -s ' ' <<<"$got")" "yes yes yes yes yes no no no yes no no no no no no no yes no no yes yes no"

# kube-controller-manager makes the Pods (the ServiceAccount admission plugin checks the
# service account exists); they stay Pending without a scheduler.
pods_pending() { # pods_pending NS SELECTOR N
  [[ $(kc -n "$1" get pods -l "$2" -o json 2>/dev/null |
       jq -r '[.items[] | select(.status.phase == "Pending")] | length') == "$3" ]]
}
if [[ ${RR_KUBE_CONTROLLER_MANAGER:-0} == 1 ]]; then
  if wait_for 90 pods_pending rr-system app.kubernetes.io/name=rr-operator 2; then
    pass "deploy/: the Deployment made 2 Pods (Pending: no scheduler)"
  else
    fail "deploy/: Pods of rr-operator: $(kc -n rr-system get pods,rs -o wide 2>&1 | head -10)
$(kc -n rr-system get events --field-selector type=Warning 2>&1 | tail -5)"
  fi
fi

# ---------------------------------------------------------------- deploy/examples (server dry run)
for ex in "$ROOT"/deploy/examples/*.yaml; do
  if out=$(kc apply --dry-run=server -f "$ex" 2>&1); then
    pass "deploy/examples/$(basename "$ex") (--dry-run=server): $out"
  else
    fail "deploy/examples/$(basename "$ex"): $out"
  fi
done

# ---------------------------------------------------------------- deploy/servicemonitor.yaml
# Against stand-ins of the Prometheus Operator's CRDs that prune unknown fields.
monitors_served() { kc get servicemonitors,podmonitors -A >/dev/null 2>&1; }
if kc apply -f "$HERE/prometheus-operator-crds.yaml" >/dev/null 2>"$TMP/pcrd.err" &&
   kc wait --for condition=established --timeout=20s crd/servicemonitors.monitoring.coreos.com \
     crd/podmonitors.monitoring.coreos.com >/dev/null 2>>"$TMP/pcrd.err" &&
   wait_for 20 monitors_served; then
  pass "Prometheus Operator CRD stand-ins installed"
else
  fail "Prometheus Operator CRD stand-ins: $(cat "$TMP/pcrd.err")"
fi
# unpruned FILE NS: a server dry run keeps every field of every object (nothing misspelt).
unpruned() {
  local file=$1 ns=$2 want got
  want=$(to_json "$file" 2>"$TMP/unpruned.err" | jq -cS '[.items[] | select(.kind | test("Monitor$")) | .spec]') || return 1
  got=$(kc apply --dry-run=server -n "$ns" -o json -f "$file" 2>>"$TMP/unpruned.err" | as_list \
        | jq -cS '[.items[] | select(.kind | test("Monitor$")) | .spec]') || return 1
  [[ $want == "$got" && $want != "[]" ]] || { echo "sent $want, stored $got" >>"$TMP/unpruned.err"; return 1; }
}
if unpruned "$ROOT/deploy/servicemonitor.yaml" rr-system; then
  pass "deploy/servicemonitor.yaml accepted by the server, no field pruned"
else
  fail "deploy/servicemonitor.yaml: $(cat "$TMP/unpruned.err")"
fi
if sm=$(to_json "$ROOT/deploy/servicemonitor.yaml" 2>"$TMP/sm.err"); then
  # The ServiceMonitor selects the metrics Service and names its port; the PodMonitor
  # selects the labels and the port name rr-operator gives reflector Pods.
  svc_labels=$(jq -c '.metadata.labels' <<<"$svc")
  check "ServiceMonitor selects the metrics Service, port metrics" \
    "$(jq -r --argjson l "$svc_labels" '.items[] | select(.kind == "ServiceMonitor") |
        [(.spec.selector.matchLabels | to_entries | all(. as $e | $l[$e.key] == $e.value)), .spec.endpoints[0].port] | join(" ")' <<<"$sm")" \
    "true metrics"
  wk=$ROOT/contract/well_known.h
  const() { sed -nE "s/.*$1 = \"([^\"]*)\".*/\1/p" "$wk"; }
  want="$(const kNameLabel)=$(const kNameValue),$(const kManagedByLabel)=$(const kManagedByValue) $(const kMetricsPortName)"
  check "PodMonitor selects reflector Pods as contract/well_known.h labels them" \
    "$(jq -r '.items[] | select(.kind == "PodMonitor") |
        "\(.spec.selector.matchLabels | to_entries | sort_by(.key) | map("\(.key)=\(.value)") | join(",")) \(.spec.podMetricsEndpoints[0].port)"' <<<"$sm")" \
    "$(tr ',' '\n' <<<"${want% *}" | sort | paste -sd, -) ${want#* }"
else
  fail "parse deploy/servicemonitor.yaml: $(cat "$TMP/sm.err")"
fi

# ======================================================================== the chart on the server
if kc create namespace "$NS" >/dev/null 2>&1 && out=$(kc apply -f "$TMP/chart.yaml" 2>&1); then
  pass "the chart's default render applied to namespace $NS ($(wc -l <<<"$out") objects)"
else
  fail "apply the chart's render to $NS: ${out:-cannot create namespace}"
fi
check "every namespaced object of the render names the release namespace" \
  "$(grep -E '^  namespace: ' "$TMP/chart.yaml" | sort | uniq -c | awk '{print $3, $1}')" "$NS 10"
# RBAC: the chart's objects against deploy/rbac.yaml's, as the server stores them.
rules_of() { kc get "$@" -o json 2>/dev/null | jq -cS "$norm_rules"; }
for pair in "clusterrole rr-operator|clusterrole $REL-rr-operator" \
            "-n rr-system role rr-operator|-n $NS role $REL-rr-operator" \
            "clusterrole rr-agent|clusterrole $REL-rr-operator-agent" \
            "-n rr-system role rr-operator-secrets|-n $NS role $REL-rr-operator-secrets" \
            "-n rr-system role rr-agent|-n $NS role $REL-rr-operator-agent"; do
  IFS='|' read -r a b <<<"$pair"
  # shellcheck disable=SC2086
  ra=$(rules_of $a); rb=$(rules_of $b)
  if [[ -n $ra && $ra != null && $ra == "$rb" ]]; then
    pass "chart $b has the rules of deploy/rbac.yaml $a ($(jq length <<<"$ra") rules)"
  else
    fail "chart $b rules differ from deploy/rbac.yaml $a: deploy $ra, chart $rb"
  fi
done
binding() { kc get "$@" -o json 2>/dev/null | jq -c '{role: .roleRef.name, subjects: [.subjects[] | "\(.namespace)/\(.name)"]}'; }
check "chart ClusterRoleBindings bind the chart's ServiceAccounts" \
  "$(binding clusterrolebinding "$REL-rr-operator") $(binding clusterrolebinding "$REL-rr-operator-agent")" \
  "{\"role\":\"$REL-rr-operator\",\"subjects\":[\"$NS/$REL-rr-operator\"]} {\"role\":\"$REL-rr-operator-agent\",\"subjects\":[\"$NS/rr-agent\"]}"
check "chart RoleBindings bind the chart's ServiceAccounts" \
  "$(binding -n "$NS" rolebinding "$REL-rr-operator") $(binding -n "$NS" rolebinding "$REL-rr-operator-secrets") $(binding -n "$NS" rolebinding "$REL-rr-operator-agent")" \
  "{\"role\":\"$REL-rr-operator\",\"subjects\":[\"$NS/$REL-rr-operator\"]} {\"role\":\"$REL-rr-operator-secrets\",\"subjects\":[\"$NS/$REL-rr-operator\"]} {\"role\":\"$REL-rr-operator-agent\",\"subjects\":[\"$NS/rr-agent\"]}"
COP=system:serviceaccount:$NS:$REL-rr-operator
got="$(can --as="$COP" create pods -n "$NS") $(can --as="$COP" get secrets -n "$NS") $(can --as="$COP" get secrets -n rr-system) \
$(can --as="system:serviceaccount:$NS:rr-agent" update leases -n "$NS") $(can --as="$COP" create pods -n rr-system) \
$(can --as="$COP" list pods --all-namespaces) $(can --as="system:serviceaccount:$NS:rr-agent" get secrets -n "$NS") \
$(can --as="$COP" create roles -n "$NS") $(can --as="$COP" create rolebindings -n rr-system)"
check "chart RBAC grants (operator: pods, secrets, roles in its namespace only; agent: leases, no secrets)" \
  "$(tr -s ' ' <<<"$got")" "yes yes no yes no no no yes no"

# calicoAPI=projectcalico.org/v3: Calico's aggregated API server cannot run here, so its rights
# are what is tested: the render's RBAC applied, and the API server's authorizer asked
# (SubjectAccessReview) about every verb on both Calico groups' resources.
# sar USER VERB GROUP RESOURCE [NAMESPACE]: yes or no, as the authorizer answers (anything else
# is an error). One request with curl: calico_rights asks 48 of them, and each kubectl costs
# 0.17 s of CPU to start (the suite spent 60 of its 86 s in kubectl create for these).
sar() {
  local r review
  review=$(jq -cn --arg user "$1" --arg verb "$2" --arg group "$3" --arg resource "$4" --arg ns "${5:-}" \
    '{apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview",
      spec: {user: $user, groups: ["system:serviceaccounts", "system:authenticated"],
             resourceAttributes: {verb: $verb, group: $group, resource: $resource, namespace: $ns}}}')
  r=$(api POST /apis/authorization.k8s.io/v1/subjectaccessreviews application/json "$review")
  [[ $(code_of "$r") == 201 ]] || { echo "error: HTTP $(code_of "$r")"; return; }
  body_of "$r" | jq -r '.status.allowed' | sed -e 's/^true$/yes/' -e 's/^false$/no/'
}
allowed_verbs() { # allowed_verbs USER GROUP RESOURCE [NAMESPACE]: the verbs the authorizer allows, or "none"
  local v out=()
  for v in get list watch create update patch delete deletecollection; do
    [[ $(sar "$1" "$v" "$2" "$3" "${4:-}") == yes ]] && out+=("$v")
  done
  ((${#out[@]})) && echo "${out[*]}" || echo none
}
calico_rights() { # calico_rights USER: the allowed verbs per Calico group and resource
  local g r
  for g in projectcalico.org crd.projectcalico.org; do
    for r in bgppeers bgpconfigurations ippools; do echo "$r.$g: $(allowed_verbs "$1" "$g" "$r")"; done
  done
}
if kc create namespace "$NS3" >/dev/null 2>&1 &&
   "$H" template "$REL3" "$ROOT/helm/rr-operator" -n "$NS3" --set calicoAPI=projectcalico.org/v3 \
     --show-only templates/rbac.yaml >"$TMP/chart-v3-rbac.yaml" 2>"$TMP/helm.err" &&
   out=$(kc apply -f "$TMP/chart-v3-rbac.yaml" 2>&1); then
  pass "the chart's v3 render's RBAC applied ($(wc -l <<<"$out") objects)"
else
  fail "apply the chart's v3 RBAC: ${out:-} $(cat "$TMP/helm.err")"
fi
check "calicoAPI=projectcalico.org/v3: the operator's rights on Calico's resources, as the API server decides" \
  "$(calico_rights "system:serviceaccount:$NS3:$REL3-rr-operator" | paste -sd';' -)" \
  "bgppeers.projectcalico.org: get list watch create update delete;bgpconfigurations.projectcalico.org: get list watch create patch;\
ippools.projectcalico.org: none;bgppeers.crd.projectcalico.org: none;bgpconfigurations.crd.projectcalico.org: none;\
ippools.crd.projectcalico.org: none"
check "calicoAPI default (crd.projectcalico.org/v1): the operator's rights on Calico's resources" \
  "$(calico_rights "$COP" | paste -sd';' -)" \
  "bgppeers.projectcalico.org: none;bgpconfigurations.projectcalico.org: none;ippools.projectcalico.org: none;\
bgppeers.crd.projectcalico.org: get list watch create update delete;bgpconfigurations.crd.projectcalico.org: get list watch create patch;\
ippools.crd.projectcalico.org: none"
check "calicoAPI=projectcalico.org/v3: the agent has no Calico rights" \
  "$(calico_rights "system:serviceaccount:$NS3:rr-agent" | grep -vc ': none$')" "0"

# calico.passwordCopies.namespace (off by default): only then a Role for rr-operator in calico-node's
# namespace (copies of BGP password Secrets, and the Role letting calico-node get them), and the flags.
if out=$(helm_ template "$REL" "$ROOT/helm/rr-operator" -n "$NS" --set "calico.passwordCopies.namespace=$NSC" \
           --set calico.passwordCopies.serviceAccount=calico-node-sa); then
  got=$(grep -A3 -E '^kind: (Role|RoleBinding)$' <<<"$out" | grep -E '^  namespace: ' | grep -c " $NSC$")
  check "calico.passwordCopies.namespace: one Role and one RoleBinding for rr-operator there" "$got" "2"
  check "calico.passwordCopies: rr-operator's flags" \
    "$(grep -oE -- '--calico-(password-namespace|node-service-account)=[^ "]*' <<<"$out" | paste -sd' ' -)" \
    "--calico-password-namespace=$NSC --calico-node-service-account=calico-node-sa"
  grep -qE -- '^ +- --calico-password-namespace=' "$TMP/chart.yaml" && fail "the default render passes --calico-password-namespace" \
    || pass "the default render keeps no password copies (no flag)"
  grep -q 'calico-passwords' "$TMP/chart.yaml" && fail "the default render has the calico-passwords Role" \
    || pass "the default render has no Role for password copies"
else
  fail "helm template calico.passwordCopies.namespace: $(cat "$TMP/helm.err")"
fi
if kc create namespace "$NSC" >/dev/null 2>&1 &&
   "$H" template "$REL" "$ROOT/helm/rr-operator" -n "$NS" --set "calico.passwordCopies.namespace=$NSC" \
     --show-only templates/calico-passwords-rbac.yaml >"$TMP/chart-calico-rbac.yaml" 2>"$TMP/helm.err" &&
   out=$(kc apply -f "$TMP/chart-calico-rbac.yaml" 2>&1); then
  pass "the chart's calico.passwordCopies RBAC applied ($(wc -l <<<"$out") objects)"
else
  fail "apply the chart's calico.passwordCopies RBAC: ${out:-} $(cat "$TMP/helm.err")"
fi
check "calico.passwordCopies: the operator's rights in calico-node's namespace, as the API server decides" \
  "$(for r in secrets roles rolebindings; do
       g=; [[ $r != secrets ]] && g=rbac.authorization.k8s.io
       echo "$r: $(allowed_verbs "$COP" "$g" "$r" "$NSC")"
     done | paste -sd';' -)" \
  "secrets: get create update delete;roles: get create update delete;rolebindings: get create update delete"
check "calico.passwordCopies: no Secret rights in other namespaces beyond the defaults" \
  "$(can --as="$COP" create secrets -n "$NS") $(can --as="$COP" create secrets -n rr-system)" "no no"

# The chart's Deployment is deploy/operator.yaml's, up to names, labels and namespace.
pod_view='.spec as $s | $s.template.spec as $p | $p.containers[0] as $c |
  {replicas: $s.replicas, strategy: $s.strategy, podSecurityContext: $p.securityContext,
   grace: $p.terminationGracePeriodSeconds, image: $c.image, args: $c.args, env: $c.env, ports: $c.ports,
   liveness: $c.livenessProbe, readiness: $c.readinessProbe, resources: $c.resources, securityContext: $c.securityContext,
   antiAffinity: ($p.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution | map(.podAffinityTerm.topologyKey))}'
d1=$(jq -cS "$pod_view" <<<"$dep" 2>/dev/null | sed -E "s/--(leader-election-namespace|allowed-namespaces)=rr-system/--\1=NS/g")
d2=$(kc -n "$NS" get deployment "$REL-rr-operator" -o json 2>/dev/null | jq -cS "$pod_view" | sed -E "s/--(leader-election-namespace|allowed-namespaces)=$NS/--\1=NS/g")
if [[ -n $d1 && $d1 == "$d2" ]]; then
  pass "the chart's Deployment (defaults) equals deploy/operator.yaml's (args, probes, resources, security, affinity)"
else
  fail "chart Deployment differs from deploy/operator.yaml: $(diff <(jq -S . <<<"$d1") <(jq -S . <<<"$d2" 2>&1) | head -20)"
fi
check "the chart's metrics Service" \
  "$(kc -n "$NS" get service "$REL-rr-operator-metrics" -o json 2>/dev/null | jq -r '.spec.ports[0] | "\(.name) \(.port) \(.targetPort)"')" \
  "metrics 8080 metrics"
# The chart's CRD is crds/'s (files/ links there), plus labels and the keep policy.
if crd_c=$(awk '/^# Source: rr-operator\/templates\/crds.yaml/{p=1; next} /^---/{p=0} p' "$TMP/chart.yaml" >"$TMP/crd-chart.yaml" &&
           to_json "$TMP/crd-chart.yaml") && crd_r=$(to_json "$ROOT/crds/rr.bgp.dev_routereflectorclusters.yaml"); then
  crd_c=$(jq '.items[0]' <<<"$crd_c"); crd_r=$(jq '.items[0]' <<<"$crd_r")
  if [[ $(jq -cS .spec <<<"$crd_c") == "$(jq -cS .spec <<<"$crd_r")" && $(jq -r .spec.group <<<"$crd_r") == rr.bgp.dev ]]; then
    pass "the chart's CRD spec equals crds/rr.bgp.dev_routereflectorclusters.yaml"
  else
    fail "the chart's CRD differs from crds/: $(diff <(jq -S .spec <<<"$crd_r") <(jq -S .spec <<<"$crd_c") | head -10)"
  fi
  check "the chart's CRD is kept on uninstall" "$(jq -r '.metadata.annotations["helm.sh/resource-policy"]' <<<"$crd_c")" "keep"
else
  fail "read the chart's CRD: ${crd_c:-}"
fi
if [[ ${RR_KUBE_CONTROLLER_MANAGER:-0} == 1 ]]; then
  if wait_for 90 pods_pending "$NS" "app.kubernetes.io/instance=$REL" 2; then
    pass "the chart's Deployment made 2 Pods (Pending: no scheduler)"
  else
    fail "chart Pods in $NS: $(kc -n "$NS" get pods,rs 2>&1 | head -10)"
  fi
fi
# The monitors the chart renders when enabled, against the stand-in CRDs.
awk '/^# Source: rr-operator\/templates\/servicemonitor.yaml/{p=1} /^# Source: /&&!/servicemonitor.yaml/{p=0} p' \
  "$TMP/chart-sm.yaml" >"$TMP/chart-monitors.yaml"
if unpruned "$TMP/chart-monitors.yaml" "$NS"; then
  pass "the chart's ServiceMonitor and PodMonitor accepted by the server, no field pruned"
else
  fail "the chart's monitors: $(cat "$TMP/unpruned.err")"
fi

tally deploy
