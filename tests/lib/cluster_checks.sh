# Sourced by the suites that run on a real cluster (tests/install, tests/chaos), after
# checks.sh, with $K (kubectl), $TMP (a scratch directory), $CALICO_NS (the calico-node
# stand-in's namespace) and DEBUG_NAMESPACES (whose Pods a failure describes) set.
# Every wait is a bounded poll; `must` and `check` print PASS/FAIL and, on the first
# failure, what is needed to debug it.
# Never `producer | grep -q` here: with pipefail, grep's early exit fails the producer (SIGPIPE).
# shellcheck shell=bash

# poll SECONDS CMD...: until CMD succeeds (a bound on waiting, not on speed), once a second.
# A condition is a kubectl or two (0.17 s of CPU each, measured with process accounting over
# a chaos run: kubectl was the largest consumer after the kubelets); polled twice a second,
# the suites' own checks took CPU from the cluster they wait for.
poll() {
  local deadline=$((SECONDS + $1)); shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}
kj() { kc get "$@" -o json 2>/dev/null; }
node_var() { local v="RR_CLUSTER_NODE_$1_$2"; echo "${!v}"; }

DEBUGGED=0
debug() {  # what a failed check needs to be understood; printed once
  ((DEBUGGED)) && return; DEBUGGED=1
  echo "---------------- debug: pods"
  kc get pods -A -o wide
  echo "---------------- debug: nodes"
  kc get nodes -L topology.kubernetes.io/rack,rr.bgp.dev/reflector,rr.bgp.dev/calico-node
  local ns p
  for ns in $DEBUG_NAMESPACES; do
    echo "---------------- debug: $ns objects"
    kc get deploy,rs,lease,sa,events -n "$ns" -o wide
  done
  kc get routereflectorclusters -o yaml
  kc get bgppeers.crd.projectcalico.org,bgpconfigurations.crd.projectcalico.org -o yaml
  for ns in $DEBUG_NAMESPACES "$CALICO_NS"; do
    for p in $(kc get pods -n "$ns" -o name); do
      echo "---------------- debug: describe $ns/$p"
      kc describe -n "$ns" "$p" | sed -n '/^Containers:/,$p'
      echo "---------------- debug: logs $ns/$p (last 60 lines; the previous container's too)"
      kc logs -n "$ns" "$p" --all-containers --tail=60
      kc logs -n "$ns" "$p" --all-containers --tail=30 --previous 2>/dev/null
    done
  done
}
must() {  # must DESCRIPTION SECONDS CMD...: a bounded poll that must succeed (its wait is printed)
  local what=$1 secs=$2 began=$SECONDS; shift 2
  if poll "$secs" "$@"; then pass "$what [$((SECONDS - began))s]"; return 0; fi
  fail "$what (not within ${secs}s)"; debug; return 1
}
check() {  # check DESCRIPTION GOT WANT
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: got '$2', want '$3'"; debug; fi
}
# gone ARGS...: kubectl get ARGS finds nothing: no such object, or an empty list (an error of
# any other kind, an API server that does not answer, is not "gone").
gone() { local out; out=$(kc get "$@" --ignore-not-found -o name 2>/dev/null) && [[ -z $out ]]; }

# ---- Calico: its CRDs, the calico-node stand-in (tests/calico-node), the mesh switch
# install_calico STANDIN-IMAGE ROOT
install_calico() {
  kc apply -f "$2/tests/crds/calico/" >/dev/null || fail "apply the Calico CRDs"
  must "Calico CRDs established" 60 kc wait --for=condition=Established --timeout=20s \
    crd/bgppeers.crd.projectcalico.org crd/bgpconfigurations.crd.projectcalico.org
  sed "s|image: localhost/calico-node-standin:dev|image: $1|" "$2/tests/calico-node/daemonset.yaml" |
    kc apply -f - >/dev/null || fail "apply tests/calico-node/daemonset.yaml"
}
standin_ready_count() {  # standin_ready_count WANT: the DaemonSet has WANT Pods, all Ready
  local got; got=$(kc get ds calico-node-standin -n "$CALICO_NS" -o jsonpath='{.status.numberReady}/{.status.desiredNumberScheduled}')
  [[ $got == "$1/$1" ]]
}
standin_pod() { kc get pods -n "$CALICO_NS" --field-selector "spec.nodeName=$1" -o jsonpath='{.items[0].metadata.name}'; }
birdc_on() {  # birdc_on NODE ARGS...: BIRD 1.6 of the stand-in on NODE
  local pod; pod=$(standin_pod "$1") || return 1
  kc exec -n "$CALICO_NS" "$pod" -- birdc -s /run/bird/bird.ctl "${@:2}"
}
learns() {  # learns NODE CIDR: BIRD on NODE has a route to CIDR
  local out; out=$(birdc_on "$1" show route "$2" 2>/dev/null) || return 1
  grep -q "^${2//./\\.} " <<<"$out"
}
# Calico's nodeToNodeMeshEnabled: true when the BGPConfiguration default or the field is absent.
mesh() {
  local out
  out=$(kc get bgpconfigurations.crd.projectcalico.org default -o json 2>&1) || {
    [[ $out == *NotFound* ]] && echo true; return; }
  jq -r 'if (.spec // {}) | has("nodeToNodeMeshEnabled") then .spec.nodeToNodeMeshEnabled else true end' <<<"$out"
}
mesh_is() { [[ $(mesh) == "$1" ]]; }
no_mesh_sessions() { local out; out=$(birdc_on "$1" show protocols) && ! grep -q '^Mesh_' <<<"$out"; }

# ---- rr-operator through its chart
# helm_install_operator RELEASE-NS OPERATOR-IMAGE AGENT-IMAGE ROOT [HELM-ARGS...]; sets H (helm).
H=
helm_install_operator() {
  local ns=$1 op=$2 agent=$3 root=$4 out; shift 4
  H=${RR_HELM:-$("$root/scripts/fetch-helm.sh")} || { fail "cannot obtain helm (scripts/fetch-helm.sh)"; return 1; }
  if out=$(timeout 120 "$H" install rr-operator "$root/helm/rr-operator" -n "$ns" --create-namespace \
      --set image.repository="${op%:*}" --set image.tag="${op##*:}" \
      --set image.pullPolicy=IfNotPresent \
      --set reflector.image.repository="${agent%:*}" --set reflector.image.tag="${agent##*:}" "$@" 2>&1); then
    pass "helm install rr-operator helm/rr-operator -n $ns --create-namespace"
  else
    fail "helm install: $out"; return 1
  fi
}
fabric_ready() {  # fabric_ready NAME
  [[ $(kc get routereflectorcluster "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
