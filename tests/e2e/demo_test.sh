#!/usr/bin/env bash
# The README's first command as a newcomer runs it: scripts/demo.sh must end on its
# own, show a route reflected across racks, and leave nothing running behind it.
#   demo_test.sh BUILD_DIR played    scripts/demo.sh --played (a played cluster)
#   demo_test.sh BUILD_DIR cluster   scripts/demo.sh as root (a real cluster, the chart)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$1
MODE=${2:-played}
top=$(mktemp -d /tmp/rr-demo-test.XXXXXX)
dir=$top/demo   # kube-local.sh makes it; it replaces only directories it made itself
out=$top/demo.out
trap 'rm -rf "$top"' EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "---- demo output ----" >&2
  cat "$out" >&2
  exit 1
}

start=$(date +%s)
if [[ $MODE == cluster ]]; then
  [[ $(id -u) == 0 ]] || fail "the real-cluster demo needs root"
  if ! RR_DEMO_CLUSTER_DIR=$dir RR_DEMO_PLAN_DIR=$top/plan timeout 1500 bash "$ROOT/scripts/demo.sh" >"$out" 2>&1; then
    fail "scripts/demo.sh failed or did not end within 1500 s"
  fi
  echo "scripts/demo.sh (real cluster) took $(($(date +%s) - start)) s"
  plain=$(sed 's/\x1b\[[0-9;]*m//g' "$out")
  grep -q "The demo on a real cluster" <<<"$plain" || fail "as root the demo did not run on a real cluster"
  grep -Eq "^fabric +3 +6/6 +[0-9]+ +True" <<<"$plain" || fail "kubectl get rrc did not show the Ready fabric"
  # kubectl get pods -o wide: six reflector Pods Running and Ready, two on each rack's reflector hosts.
  pods=$(awk '/kubectl get pods -o wide/ {on = 1; next} /^== / {on = 0} on && $1 ~ /^fabric-/' <<<"$plain")
  [[ $(awk '$2 == "1/1" && $3 == "Running"' <<<"$pods" | wc -l) == 6 ]] || fail "not six Running, Ready reflector Pods: $pods"
  [[ $(awk '{print $7}' <<<"$pods" | sort -u | wc -l) == 6 ]] || fail "the reflector Pods do not sit on six different nodes: $pods"
  grep -q "nodeToNodeMeshEnabled: false" <<<"$plain" || fail "the mesh was not shown off"
  # node-7 (rack-1, a Calico node) learned the pod CIDRs of the other racks' Calico nodes.
  routes=$(awk '/its BGP sessions and the routes/ {on = 1} /^== Done/ {on = 0} on' <<<"$plain")
  [[ $(grep -cE '^10\.[0-9]+\.(8|9)\.0/24 ' <<<"$routes") == 2 ]] ||
    fail "node-7 did not show the routes of node-8 and node-9 (other racks' Calico nodes)"
  grep -q 'Established' <<<"$routes" || fail "node-7 showed no Established session"
  # kubectl rr plan before the apply: a new fabric, three racks, six reflector Pods to create;
  # after it, the same file changes nothing (exit code 0). And the picture.
  preview=$(awk '/kubectl rr plan -f deploy\/examples\/fabric-basic.yaml: what/ {on = 1; next} /^== / {on = 0} on' <<<"$plain")
  grep -q "RouteReflectorCluster fabric: a new fabric" <<<"$preview" || fail "kubectl rr plan did not preview the new fabric"
  [[ $(grep -cE '^rack-[123] ' <<<"$preview") == 3 ]] || fail "kubectl rr plan did not show three racks: $preview"
  [[ $(grep -cE '^  \+ Pod rr-system/fabric-' <<<"$preview") == 6 ]] || fail "kubectl rr plan did not show six Pods to create"
  grep -q "kubectl rr plan -f deploy/examples/fabric-basic.yaml: exit code 0" <<<"$plain" ||
    fail "kubectl rr plan of the applied fabric did not say: no change"
  grep -q "<svg" "$top/plan/fabric-plan.svg" || fail "kubectl rr plan -o svg drew no picture"
  if [[ -n ${RR_DEMO_SAVE_PLAN:-} ]]; then cp "$top/plan/fabric-plan.svg" "$top/plan/fabric-plan.dot" "$RR_DEMO_SAVE_PLAN/"; fi
  for _ in $(seq 1 50); do pgrep -f -- "$dir/" >/dev/null || break; sleep 0.2; done
  if pgrep -af -- "$dir/"; then fail "processes of the demo cluster are still running"; fi
  echo "---- demo output ----"
  echo "$plain"
  echo "ok"
  exit 0
fi
if ! RR_DEMO_DIR=$dir BUILD_DIR=$BUILD_DIR timeout 600 bash "$ROOT/scripts/demo.sh" --played >"$out" 2>&1; then
  fail "scripts/demo.sh --played failed or did not end within 600 s"
fi
echo "scripts/demo.sh --played took $(($(date +%s) - start)) s"

grep -q "The fabric is Ready and routes reflect across racks" "$out" || fail "no reflected route shown"
grep -Eq "CLUSTER_LIST +10\.255\.0\.1 \(rack-1\) 10\.255\.0\.3 \(rack-3\)" "$out" || fail "no CLUSTER_LIST through rack 3 and rack 1"
grep -Eq "^  demo +3 +6/6 +[0-9]+ +True" <(sed 's/\x1b\[[0-9;]*m//g' "$out") || fail "kubectl get rrc did not show the Ready fabric"
if [[ $(id -u) == 0 ]]; then
  grep -q "each node is a namespace" "$out" || fail "run as root, the nodes were not network namespaces"
  grep -q "resolved on rack1-node3's eth0" "$out" || fail "the reflected route's next hop did not resolve over eth0"
fi

# Nothing it started may outlive it: every one of its processes names $dir on its command line.
for _ in $(seq 1 50); do
  pgrep -f -- "$dir/" >/dev/null || break
  sleep 0.2
done
if pgrep -af -- "$dir/"; then fail "processes of the demo are still running"; fi
echo "ok"
