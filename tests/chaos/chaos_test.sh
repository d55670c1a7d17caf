#!/usr/bin/env bash
# rr-operator under chaos on a real multi-node cluster (scripts/kube-cluster.sh), every
# Calico node's routes polled throughout (route_poller.sh): a round in which any node lacks
# another node's pod CIDR fails the test.
#
# The cluster: 7 nodes in 3 racks (rack-1: node-1, node-4, node-7; rack-2: node-2, node-5;
# rack-3: node-3, node-6), every node a Calico node running the calico-node stand-in (BIRD
# 1.6, port 179) and every node a possible reflector host. The fabric is Colocated (BIRD 2
# on port 1179 beside calico-node), two reflectors per rack; rack-1's third node is the
# spare a replacement moves to. rr-operator is installed with its chart, as a user does.
#
# Steps, each a window of the route log that must hold no miss and at least a few rounds:
#   migrate         Calico's full mesh -> the fabric Ready, the mesh off, no Mesh_ session left
#   container-kill  SIGKILL of a rack-1 reflector's agent (the container's init): kubelet restarts it
#   agent-frozen    SIGSTOP of a rack-1 reflector's agent: alive but silent; it is replaced
#   pod-delete      a rack-1 reflector Pod deleted: the operator makes it again
#   drain           a rack-1 reflector's node drained (eviction): the reflector moves to the spare
#   kubelet-stop    a rack-1 reflector's kubelet stopped (Node NotReady): replaced, then removed
#   leader-kill     the operator leader's process SIGKILLed right after a reflector Pod is
#                   deleted (mid-reconcile): the standby takes the Lease and finishes
#   upgrade         helm upgrade to a new reflector image tag: one reflector per rack at a time
#   apiserver       kube-apiserver stopped and started: nothing is replaced, nothing duplicated
#                   (but for a reflector Pod the garbage collector deletes, per the audit log:
#                   a Kubernetes defect, reported)
#   alerts          a real Prometheus (tests/lib/prometheus.sh) has discovered the operator and
#                   every reflector through the API since the migration; BIRD frozen (SIGSTOP)
#                   in both of rack-3's reflectors: rack-3's alerts fire and no other rack's,
#                   then clear once BIRD runs again (well inside the 90 s hold time)
#   delete          the fabric deleted: the mesh back on first, then its BGPPeers, Pods and
#                   Leases gone (and no Lease back from a dying agent's last renewal)
# Only this script's kubectl and helm use admin's credentials.
#
# Needs RR_CLUSTER_DIR (set by rr_add_cluster_test) or a cluster directory as 1st argument.
set -uo pipefail

DIR=${1:-${RR_CLUSTER_DIR:?set RR_CLUSTER_DIR or pass the cluster directory}}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC1091
source "$DIR/env" || { echo "FAIL: cannot read $DIR/env"; exit 1; }
K=${RR_KUBECTL:?}
export KUBECONFIG
# shellcheck source=../lib/checks.sh
source "$ROOT/tests/lib/checks.sh"

NS=rr-system
CALICO_NS=rr-calico-node
FABRIC=chaos
OPERATOR_IMAGE=${RR_OPERATOR_IMAGE:-localhost/rr-operator:dev}
AGENT_IMAGE=${RR_AGENT_IMAGE:-localhost/rr-agent:dev}
STANDIN_IMAGE=${RR_STANDIN_IMAGE:-localhost/calico-node-standin:dev}
UPGRADE_TAG=chaos-upgrade
TMP=$(mktemp -d)
ROUTES=$TMP/routes.log
DEBUG_NAMESPACES=$NS
# shellcheck source=../lib/cluster_checks.sh
source "$ROOT/tests/lib/cluster_checks.sh"
# shellcheck source=../lib/prometheus.sh
source "$ROOT/tests/lib/prometheus.sh"

POLLER=
cleanup() {
  [[ -n $POLLER ]] && kill "$POLLER" 2>/dev/null
  # A stopped agent or kubelet must not outlive the test (the cluster's stop kills the rest).
  [[ -n ${FROZEN:-} ]] && kill -CONT "$FROZEN" 2>/dev/null
  [[ -n ${FROZEN_BIRDS:-} ]] && kill -CONT $FROZEN_BIRDS 2>/dev/null
  prom_stop
  [[ -n ${KUBELET_STOPPED:-} ]] && "$ROOT/scripts/kube-cluster.sh" kubelet-start "$DIR" "$KUBELET_STOPPED" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
finish() {
  if ((FAILS)) && [[ -f $ROUTES ]]; then
    echo "---------------- debug: route log (misses and markers)"
    grep -E ' MISS |^#' "$ROUTES" | head -200
  fi
  tally chaos_test.sh
  exit $?
}

# ---------------------------------------------------------------- 0. the cluster
read -r -a NODES <<<"$RR_CLUSTER_NODES"
N=${#NODES[@]}
declare -A RACK_OF=() CIDR_OF=() NETNS_OF=()
POLL_SPECS=()
for i in $(seq 1 "$N"); do
  n=$(node_var "$i" NAME)
  RACK_OF[$n]=$(node_var "$i" RACK); CIDR_OF[$n]=$(node_var "$i" POD_CIDR); NETNS_OF[$n]=$(node_var "$i" NETNS)
  POLL_SPECS+=("$n=${NETNS_OF[$n]}=${CIDR_OF[$n]}")
done
rack1=()
for n in "${NODES[@]}"; do [[ ${RACK_OF[$n]} == rack-1 ]] && rack1+=("$n"); done
RACKS=$(printf '%s\n' "${RACK_OF[@]}" | sort -u | wc -l)
if ((RACKS >= 3 && ${#rack1[@]} >= 3)); then
  pass "cluster: $N nodes in $RACKS racks, rack-1 = ${rack1[*]} (two reflectors and a spare)"
else
  fail "need >= 3 racks and >= 3 nodes in rack-1 (nodes: ${NODES[*]})"; finish
fi
# Every node may host a reflector (Colocated: beside its calico-node).
for n in "${NODES[@]}"; do
  kc label node "$n" rr.bgp.dev/reflector=true --overwrite >/dev/null || fail "label $n rr.bgp.dev/reflector=true"
done

# ---------------------------------------------------------------- 1. Calico's full mesh, polled
install_calico "$STANDIN_IMAGE" "$ROOT"
must "calico-node stand-in Ready on all $N nodes" 300 standin_ready_count "$N"
BIRDC=$("$ROOT/scripts/fetch-bird1.sh")/usr/sbin/birdc
"$ROOT/tests/chaos/route_poller.sh" "$ROUTES" "$BIRDC" "${POLL_SPECS[@]}" &
POLLER=$!
# The last round's verdict for every node: all OK.
last_round_ok() {
  local last; last=$(grep -v '^#' "$ROUTES" 2>/dev/null | tail -n "$N")
  [[ $(awk '{print $1}' <<<"$last" | sort -u | wc -l) == 1 && $(awk '$4 == "OK"' <<<"$last" | wc -l) == "$N" ]]
}
must "full mesh: every node learns the other $((N - 1)) nodes' pod CIDRs" 240 last_round_ok

mark() { echo "# $*" >>"$ROUTES"; }
# window_clean STEP: the rounds between "# begin STEP" and "# end STEP": at least 3, no miss.
window_clean() {
  local out rounds misses
  out=$(awk -v s="$1" '$1 == "#" && $2 == "begin" && $3 == s {on = 1; next}
                       $1 == "#" && $2 == "end" && $3 == s {on = 0}
                       on && $1 != "#" {if (!($1 in r)) {r[$1] = 1; n++}; if ($4 == "MISS") m++}
                       END {print n + 0, m + 0}' "$ROUTES")
  read -r rounds misses <<<"$out"
  if ((rounds >= 3 && misses == 0)); then
    pass "$1: no route lost on any of $N nodes over $rounds polling rounds"
  else
    fail "$1: $misses missing routes over $rounds rounds (want 0 over >= 3)"
    awk -v s="$1" '$1 == "#" && $3 == s {on = ($2 == "begin")} on && $4 == "MISS"' "$ROUTES" | head -20
    debug
  fi
}

# ---------------------------------------------------------------- 2. rr-operator, the fabric: off the mesh
helm_install_operator "$NS" "$OPERATOR_IMAGE" "$AGENT_IMAGE" "$ROOT" || { debug; finish; }
deploy_ready() { [[ $(kc get deploy -n "$NS" rr-operator -o jsonpath='{.status.readyReplicas}') == 2 ]]; }
must "operator Deployment: 2 Ready replicas" 300 deploy_ready || finish

mark begin migrate
kc apply -f - >/dev/null <<EOF || fail "apply the fabric"
apiVersion: rr.bgp.dev/v1alpha1
kind: RouteReflectorCluster
metadata:
  name: $FABRIC
spec:
  asNumber: 64512
  namespace: $NS
  rackLabel: topology.kubernetes.io/rack
  reflectors:
    perRack: 2
    placement: Colocated
    port: 1179
    nodeSelector:
      rr.bgp.dev/reflector: "true"
  lease:
    durationSeconds: 10
  manageNodeToNodeMesh: true
EOF
must "fabric $FABRIC Ready" 360 fabric_ready "$FABRIC"
must "the node-to-node mesh is off" 120 mesh_is false
all_off_mesh() { local n; for n in "${NODES[@]}"; do no_mesh_sessions "$n" || return 1; done; }
must "no Mesh_ session left on any node" 120 all_off_mesh
must "every node still has every route" 60 last_round_ok
mark end migrate
window_clean migrate
# From here on Prometheus scrapes the operator and the reflectors as the chaos goes on.
prom_start "$ROOT" "$NS" 4s

# ---------------------------------------------------------------- reflectors and their processes
reflectors() { kj pods -n "$NS" -l "rr.bgp.dev/cluster=$FABRIC"; }
# rack_reflectors RACK: "name node uid ready restarts" of the rack's live (not deleting) reflectors
rack_reflectors() {
  reflectors | jq -r --arg r "$1" '.items[] | select(.metadata.labels["rr.bgp.dev/rack"] == $r
      and .metadata.deletionTimestamp == null)
    | "\(.metadata.name) \(.spec.nodeName) \(.metadata.uid) \(any(.status.conditions[]?; .type == "Ready" and .status == "True")) \(.status.containerStatuses[0].restartCount // 0)"'
}
# rack_whole RACK [EXCLUDED-NODE]: two Ready reflectors, none on EXCLUDED-NODE, and the fabric Ready
rack_whole() {
  local lines; lines=$(rack_reflectors "$1") || return 1
  [[ $(awk -v x="${2:-}" '$4 == "true" && $2 != x' <<<"$lines" | wc -l) == 2 ]] && fabric_ready "$FABRIC"
}
# pod_pids UID COMM: the host pids of COMM processes in the Pod's cgroup (cgroupfs driver).
# Builtins only: it reads every process of the machine (a process per read was thousands).
pod_pids() {
  local uid=$1 comm=$2 f pid c line
  for f in /proc/[0-9]*/comm; do
    { read -r c <"$f"; } 2>/dev/null || continue
    [[ $c == "$comm" ]] || continue
    pid=${f#/proc/}; pid=${pid%/comm}
    while IFS= read -r line; do
      if [[ $line == *"pod$uid"* || $line == *"pod${uid//-/_}"* ]]; then echo "$pid"; break; fi
    done 2>/dev/null <"/proc/$pid/cgroup"
  done
  return 0
}
# victim: the first Ready rack-1 reflector ("name node uid"), into VICTIM, VICTIM_NODE, VICTIM_UID
victim() {
  read -r VICTIM VICTIM_NODE VICTIM_UID _ < <(rack_reflectors rack-1 | awk '$4 == "true"' | head -1)
  [[ -n ${VICTIM:-} ]] || { fail "no Ready reflector in rack-1"; debug; return 1; }
  echo "  victim: $VICTIM on $VICTIM_NODE (uid $VICTIM_UID)"
}
# signal_agent SIGNAL WHY: sends SIGNAL to the victim's rr-agent; its pid into SIGNALLED.
signal_agent() {
  SIGNALLED=$(pod_pids "$VICTIM_UID" rr-agent | head -1)
  if [[ -n $SIGNALLED ]] && kill -"$1" "$SIGNALLED"; then
    pass "SIG$1 rr-agent (pid $SIGNALLED) of $VICTIM$2"
  else
    fail "no rr-agent process of $VICTIM found to SIG$1"; debug; return 1
  fi
}
uid_gone() { [[ $(rack_reflectors rack-1 | awk -v u="$VICTIM_UID" '$3 == u' | wc -l) == 0 ]]; }

# ---------------------------------------------------------------- 3. a reflector container killed
mark begin container-kill
victim || finish
signal_agent KILL ""
restarted() { [[ -n $(rack_reflectors rack-1 | awk -v u="$VICTIM_UID" '$3 == u && $5 >= 1 && $4 == "true"') ]]; }
if ! must "$VICTIM restarted by kubelet (restartCount >= 1) and Ready again" 180 restarted; then
  # What became of it, in lines CI's digest keeps (scripts/ctest-digest.sh): restarted late, or replaced.
  echo "DETAIL: rack-1 now (name node uid ready restarts): $(rack_reflectors rack-1 | paste -sd ';')"
  echo "DETAIL: events of $VICTIM: $(kc get events -n "$NS" --field-selector involvedObject.name="$VICTIM" \
    -o custom-columns=R:.reason,M:.message --no-headers 2>/dev/null | tail -6 | paste -sd ';')"
  echo "DETAIL: the fabric's events: $(kc get events -A --field-selector involvedObject.kind=RouteReflectorCluster \
    -o custom-columns=R:.reason,M:.message --no-headers 2>/dev/null | tail -6 | paste -sd ';')"
fi
must "rack-1 whole again, the fabric Ready" 180 rack_whole rack-1
mark end container-kill
window_clean container-kill

# ---------------------------------------------------------------- 4. a reflector's agent frozen
mark begin agent-frozen
victim || finish
signal_agent STOP ": BIRD keeps running, the Lease stops" && FROZEN=$SIGNALLED
# Replaced either way: the operator deletes the Pod whose Lease lapsed, or kubelet's liveness
# probe restarts the container; the frozen process is gone in both.
frozen_gone() { [[ ! -e /proc/$FROZEN ]] || [[ $(awk '{print $3}' "/proc/$FROZEN/stat" 2>/dev/null) == Z ]]; }
must "the frozen agent is gone (Pod replaced or container restarted)" 240 frozen_gone
FROZEN=
must "rack-1 whole again, the fabric Ready" 240 rack_whole rack-1
mark end agent-frozen
window_clean agent-frozen

# ---------------------------------------------------------------- 5. a reflector Pod deleted
mark begin pod-delete
victim || finish
kc delete pod -n "$NS" "$VICTIM" --wait=false >/dev/null && pass "kubectl delete pod $VICTIM" || fail "delete $VICTIM"
must "$VICTIM (uid $VICTIM_UID) gone" 120 uid_gone
must "rack-1 whole again, the fabric Ready" 240 rack_whole rack-1
mark end pod-delete
window_clean pod-delete

# ---------------------------------------------------------------- 6. a reflector's node drained
mark begin drain
victim || finish
if out=$(timeout 180 "$K" drain "$VICTIM_NODE" --ignore-daemonsets --delete-emptydir-data --timeout=150s 2>&1); then
  pass "kubectl drain $VICTIM_NODE (eviction)"
else
  fail "kubectl drain $VICTIM_NODE: $out"; debug
fi
must "rack-1 whole again without $VICTIM_NODE, the fabric Ready" 240 rack_whole rack-1 "$VICTIM_NODE"
kc uncordon "$VICTIM_NODE" >/dev/null || fail "uncordon $VICTIM_NODE"
mark end drain
window_clean drain

# ---------------------------------------------------------------- 7. a reflector's kubelet stopped
mark begin kubelet-stop
victim || finish
if "$ROOT/scripts/kube-cluster.sh" kubelet-stop "$DIR" "$VICTIM_NODE"; then
  KUBELET_STOPPED=$VICTIM_NODE; pass "kubelet of $VICTIM_NODE stopped"
else
  fail "kube-cluster.sh kubelet-stop $VICTIM_NODE"; debug
fi
node_not_ready() {
  [[ $(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') != True ]]
}
must "$VICTIM_NODE NotReady" 180 node_not_ready "$VICTIM_NODE"
host_not_ready_state() {
  [[ $(kc get routereflectorcluster "$FABRIC" -o json | jq -r --arg p "$VICTIM" \
      '[.status.racks[]?.reflectors[]? | select(.pod == $p) | .state] | first // "absent"') =~ ^(HostNotReady|Terminating|absent)$ ]]
}
must "status: $VICTIM is HostNotReady (or already being removed)" 120 host_not_ready_state
must "rack-1 whole again on the other hosts, the fabric Ready" 300 rack_whole rack-1 "$VICTIM_NODE"
if "$ROOT/scripts/kube-cluster.sh" kubelet-start "$DIR" "$VICTIM_NODE"; then
  KUBELET_STOPPED=; pass "kubelet of $VICTIM_NODE started again"
else
  fail "kube-cluster.sh kubelet-start $VICTIM_NODE"
fi
node_ready() { ! node_not_ready "$1"; }
must "$VICTIM_NODE Ready again" 180 node_ready "$VICTIM_NODE"
pod_gone() { ! kc get pod -n "$NS" "$1" -o name >/dev/null 2>&1 ||
  [[ $(kc get pod -n "$NS" "$1" -o jsonpath='{.metadata.uid}') != "$VICTIM_UID" ]]; }
must "the old reflector $VICTIM is gone once its kubelet is back" 180 pod_gone "$VICTIM"
must "rack-1 whole, the fabric Ready" 180 rack_whole rack-1
mark end kubelet-stop
window_clean kubelet-stop

# ---------------------------------------------------------------- 8. the operator leader killed mid-reconcile
mark begin leader-kill
holder() { kc get lease rr-operator -n "$NS" -o jsonpath='{.spec.holderIdentity}'; }
leader=$(holder)
leader_uid=$(kc get pod -n "$NS" "$leader" -o jsonpath='{.metadata.uid}' 2>/dev/null)
op_pid=$(pod_pids "$leader_uid" rr-operator | head -1)
victim || finish
# The reconcile this starts is cut short: the leader dies before it can make the new Pod.
kc delete pod -n "$NS" "$VICTIM" --wait=false >/dev/null || fail "delete $VICTIM"
if [[ -n $op_pid ]] && kill -KILL "$op_pid"; then
  pass "SIGKILL the leader $leader (pid $op_pid) right after deleting $VICTIM"
else
  fail "no rr-operator process of the leader '$leader' found"; debug
fi
# Its Pod goes too: kubelet would restart the container under the same identity, which would
# simply take its own Lease back.
kc delete pod -n "$NS" "$leader" --force --grace-period=0 >/dev/null 2>&1 || fail "force-delete the leader Pod $leader"
new_leader() { local h; h=$(holder); [[ -n $h && $h != "$leader" ]]; }
must "the standby takes the leader Lease" 120 new_leader && echo "  new leader: $(holder)"
must "rack-1 whole again, the fabric Ready (the standby finished the job)" 240 rack_whole rack-1
must "operator Deployment: 2 Ready replicas again" 240 deploy_ready
mark end leader-kill
window_clean leader-kill

# ---------------------------------------------------------------- 9. helm upgrade to a new reflector image
mark begin upgrade
for i in $(seq 1 "$N"); do
  ctr --address "$(node_var "$i" CONTAINERD)" -n k8s.io images tag --force "$AGENT_IMAGE" "${AGENT_IMAGE%:*}:$UPGRADE_TAG" \
    >/dev/null || fail "tag $AGENT_IMAGE as :$UPGRADE_TAG on node $i"
done
# Per rack, the fewest Ready reflectors seen during the rollout (one at a time: never below 1).
# The sampler stops between two samples (a stop file): killed, its last pipeline would still be
# appending a line while the file is read, and a line read half-written lacks racks.
( while [[ -d $TMP && ! -e $TMP/stop-sampling ]]; do
    reflectors | jq -r '.items[] | select(.metadata.deletionTimestamp == null and
        any(.status.conditions[]?; .type == "Ready" and .status == "True")) | .metadata.labels["rr.bgp.dev/rack"]' |
      sort | uniq -c | awk -v t="$(date -u +%T.%N | cut -c1-12)" 'BEGIN {printf "%s ", t} {printf "%s=%s ", $2, $1} END {print ""}' \
      >>"$TMP/ready-during-upgrade"
    sleep 0.5
  done ) &
watcher=$!
if out=$(timeout 180 "$H" upgrade rr-operator "$ROOT/helm/rr-operator" -n "$NS" --reuse-values \
    --set reflector.image.tag="$UPGRADE_TAG" 2>&1); then
  pass "helm upgrade rr-operator --set reflector.image.tag=$UPGRADE_TAG"
else
  fail "helm upgrade: $out"; debug
fi
upgraded() {
  local want=$((2 * RACKS))
  [[ $(reflectors | jq --arg img "${AGENT_IMAGE%:*}:$UPGRADE_TAG" '[.items[] | select(.metadata.deletionTimestamp == null
      and .spec.containers[0].image == $img and any(.status.conditions[]?; .type == "Ready" and .status == "True"))]
      | length') == "$want" ]] && fabric_ready "$FABRIC"
}
must "every reflector runs :$UPGRADE_TAG and is Ready, the fabric Ready" 600 upgraded
touch "$TMP/stop-sampling"; wait "$watcher" 2>/dev/null
RACK_NAMES=$(printf '%s\n' "${RACK_OF[@]}" | sort -u | tr '\n' ' ')
fewest=$(awk -v racks="$RACK_NAMES" '
  BEGIN {n = split(racks, R, " "); for (i = 1; i <= n; i++) m[R[i]] = 99}
  NF > 1 {for (i = 1; i <= n; i++) {c = 0; for (j = 2; j <= NF; j++) {split($j, kv, "="); if (kv[1] == R[i]) c = kv[2]}
                                   if (c < m[R[i]]) m[R[i]] = c}}
  END {for (i = 1; i <= n; i++) printf "%s=%s ", R[i], m[R[i]]}' "$TMP/ready-during-upgrade")
if [[ -n $fewest && ! $fewest =~ =(0|99)\  ]]; then pass "rollout one reflector per rack at a time (fewest Ready per rack: $fewest)"
else
  fail "a rack had no Ready reflector during the rollout (fewest Ready per rack: $fewest)"
  echo "---------------- debug: Ready reflectors per rack during the rollout (UTC, every 0.5 s)"
  grep -v '^[0-9:.]* *$' "$TMP/ready-during-upgrade" | tail -n 80
  debug
fi
mark end upgrade
window_clean upgrade

# ---------------------------------------------------------------- 10. kube-apiserver restarted
mark begin apiserver
snapshot() {
  { reflectors | jq -r '.items[] | "pod \(.metadata.name) \(.metadata.uid)"'
    kj bgppeers.crd.projectcalico.org -l "rr.bgp.dev/cluster=$FABRIC" | jq -r '.items[] | "peer \(.metadata.name) \(.metadata.uid)"'
  } | sort
}
before=$(snapshot)
down_since=$(date -u +%FT%T.%6NZ)
"$ROOT/scripts/kube-local.sh" stop-apiserver "$DIR/cp" >/dev/null 2>&1 && pass "kube-apiserver stopped" ||
  fail "kube-local.sh stop-apiserver"
# Down for a while, every client's watches and renewals failing: until the route poller has
# gone round three times more.
rounds() { awk '$1 != "#" {r = $1} END {print r + 0}' "$ROUTES"; }
down_at=$(rounds)
rounds_past() { (($(rounds) >= $1)); }
must "three polling rounds with kube-apiserver down" 120 rounds_past $((down_at + 3))
"$ROOT/scripts/kube-local.sh" start-apiserver "$DIR/cp" >/dev/null 2>&1 && pass "kube-apiserver started again" ||
  fail "kube-local.sh start-apiserver"
started_at=$(date -u +%s)
# A leader that could not renew within its deadline while the API was away has exited (its
# container restarts); one replica leads again once the API answers: its Lease renewed since.
renewed_since() {
  local t; t=$(kc get lease rr-operator -n "$NS" -o jsonpath='{.spec.renewTime}' 2>/dev/null)
  [[ -n $t ]] && (($(date -u -d "$t" +%s) >= $1))
}
must "an rr-operator replica leads again: the leader Lease renewed since the restart" 120 renewed_since "$started_at"
must "the fabric Ready after the restart" 300 fabric_ready "$FABRIC"
must "rack-1 whole" 120 rack_whole rack-1
after=$(snapshot)
# Nothing replaced, but for one known Kubernetes defect: until a restarted kube-apiserver serves
# custom resources again it answers 404 for them, and the garbage collector, taking the fabric
# for gone, may delete a reflector Pod the fabric controls (kubernetes/kubernetes#104342;
# docs/operations.md, "Upgrades"). The audit log (audit-policy.yaml) tells who deleted what: a
# Pod the collector deleted (with its BGPPeer, which follows it) is reported; anything else
# replaced fails, and so does a change the log cannot account for.
AUDIT=$DIR/cp/logs/audit.log
# deleters RESOURCE NAME NAMESPACE: the user agents that deleted it since the API went down; not
# a kubelet (system:node:*), which only removes a Pod someone else deleted once its containers stop.
deleters() {
  jq -r --arg r "$1" --arg n "$2" --arg ns "$3" --arg since "$down_since" \
    'select(.verb == "delete" and .objectRef.resource == $r and .objectRef.name == $n
            and (.objectRef.namespace // "") == $ns and .stage == "ResponseComplete"
            and (.responseStatus.code // 0) < 300 and .requestReceivedTimestamp >= $since
            and ((.user.username // "") | startswith("system:node:") | not)) | .userAgent' \
    "$AUDIT" 2>/dev/null | sort -u
}
[[ -s $AUDIT ]] || fail "the audit log $AUDIT is missing or empty"
changed=$(comm -3 <(echo "$before") <(echo "$after") | awk 'NF {print $1, $2}' | sort -u)
collected=() unexplained=()
while read -r kind name; do
  [[ $kind == pod ]] || continue
  by=$(deleters pods "$name" "$NS")
  if [[ -n $by ]] && ! grep -qv 'garbage-collector' <<<"$by"; then collected+=("$name"); else unexplained+=("pod/$name (deleted by: ${by:-nobody on record})"); fi
done <<<"$changed"
while read -r kind name; do
  [[ $kind == peer ]] || continue
  [[ " ${collected[*]} " == *" $name "* ]] && continue  # the BGPPeer of a collected Pod follows it
  unexplained+=("bgppeer/$name (deleted by: $(deleters bgppeers "$name" "" | tr '\n' ' '))")
done <<<"$changed"
if ((${#unexplained[@]} == 0)); then
  pass "the same reflector Pods and BGPPeers (uids) before and after the restart${collected[*]:+, but for ${collected[*]}, which the garbage collector deleted (kubernetes/kubernetes#104342)}"
  ((${#collected[@]})) && echo "NOTE: the garbage collector deleted ${collected[*]} after the restart: replaced, no route lost"
else
  fail "replaced by the restart: ${unexplained[*]}"
  echo "before:"; echo "$before"; echo "after:"; echo "$after"
  debug
fi
mark end apiserver
window_clean apiserver

# ---------------------------------------------------------------- 10b. Prometheus: a rack's alerts fire and clear
mark begin alerts
targets_up() {  # targets_up JOB COUNT: COUNT targets of JOB, all up
  [[ $(prom_query "up{job=\"$1\"} == 1" | wc -l) == "$2" && $(prom_query "up{job=\"$1\"}" | wc -l) == "$2" ]]
}
wanted=$(reflectors | jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length')
must "Prometheus: both operator replicas discovered through the metrics Service and up" 120 targets_up rr-operator 2
must "Prometheus: all $wanted reflector Pods discovered and up" 120 targets_up rr-reflector "$wanted"
# Scraped since the leader came back (the API server's restart above may have ended a leader).
one_leader() { [[ $(prom_value 'sum(rr_operator_leader{job="rr-operator"})') == 1 ]]; }
must "Prometheus: sum(rr_operator_leader) is 1 (one leader among the replicas)" 120 one_leader
check "Prometheus: reflector targets carry rack and fabric from the Pod's labels" \
  "$(prom_query 'count by (rack, fabric) (up{job="rr-reflector"})' | awk '{print $1}' | jq -r '.rack + "/" + .fabric' | sort | tr '\n' ' ')" \
  "rack-1/$FABRIC rack-2/$FABRIC rack-3/$FABRIC "
sessions_everywhere() { [[ $(prom_query 'count by (rack) (rr_bgp_session_up{job="rr-reflector"} == 1)' | wc -l) == 3 ]]; }
must "Prometheus: Established sessions reported in every rack" 120 sessions_everywhere
rack_quiet() { quiet RRRackWithoutEstablishedReflector "$1" && quiet RRReflectorDown "$1"; }
must "rack-3: no alert pending or firing before the fault" 120 rack_quiet rack-3
FROZEN_BIRDS=
for uid in $(rack_reflectors rack-3 | awk '{print $3}'); do FROZEN_BIRDS+=" $(pod_pids "$uid" bird | head -1)"; done
if [[ $(wc -w <<<"$FROZEN_BIRDS") == 2 ]] && kill -STOP $FROZEN_BIRDS; then
  pass "SIGSTOP BIRD (pids$FROZEN_BIRDS) of both rack-3 reflectors"
  rack3_firing() { firing RRRackWithoutEstablishedReflector rack-3 && firing RRReflectorDown rack-3; }
  # Bounded well inside BGP's 90 s hold time, so the frozen sessions never expire.
  must "RRRackWithoutEstablishedReflector and RRReflectorDown fire for rack-3" 50 rack3_firing
  check "rack-1 and rack-2: no alert meanwhile" \
    "$(alert_states RRRackWithoutEstablishedReflector rack-1)$(alert_states RRRackWithoutEstablishedReflector rack-2)$(alert_states RRReflectorDown rack-1)$(alert_states RRReflectorDown rack-2)" ""
  kill -CONT $FROZEN_BIRDS && pass "SIGCONT BIRD of rack-3's reflectors"
  FROZEN_BIRDS=
  must "rack-3's alerts clear once BIRD answers again" 120 rack_quiet rack-3
else
  fail "rack-3's two BIRD processes not found (got:$FROZEN_BIRDS)"; debug
fi
must "the fabric Ready again" 180 fabric_ready "$FABRIC"
mark end alerts
window_clean alerts
prom_stop

# ---------------------------------------------------------------- 11. the fabric deleted: back to the mesh
mark begin delete
kc delete routereflectorcluster "$FABRIC" --wait=false >/dev/null || fail "delete the fabric"
must "the node-to-node mesh is back on" 180 mesh_is true
must "fabric deleted" 240 gone routereflectorcluster "$FABRIC"
must "no reflector Pods left" 180 gone pods -n "$NS" -l "rr.bgp.dev/cluster=$FABRIC"
must "no BGPPeers left" 120 gone bgppeers.crd.projectcalico.org -l "rr.bgp.dev/cluster=$FABRIC"
# A dying agent's last renewal must not bring its Lease back once the operator removed it.
must "no reflector Leases left" 120 gone leases -n "$NS" -l "rr.bgp.dev/cluster=$FABRIC"
leases_gone_at=$(rounds)
must "three polling rounds since" 60 rounds_past $((leases_gone_at + 3))
check "still no reflector Lease three polling rounds later" \
  "$(gone leases -n "$NS" -l "rr.bgp.dev/cluster=$FABRIC" && echo none || echo "a Lease (or no answer)")" none
must "every node has every route over the mesh" 120 last_round_ok
mark end delete
window_clean delete

# Between the steps too: nothing lost from the migration's start to the end.
late=$(awk '$1 == "#" && $2 == "begin" && $3 == "migrate" {on = 1} on && $4 == "MISS"' "$ROUTES" | wc -l)
check "no route lost on any node from the migration on, between the steps included" "$late" 0
total=$(awk '$1 != "#" && !($1 in r) {r[$1] = 1; n++} END {print n + 0}' "$ROUTES")
misses=$(awk '$4 == "MISS"' "$ROUTES" | wc -l)
echo "route polling: $total rounds over $N nodes, $misses misses in all (the full-mesh start included)"
finish
