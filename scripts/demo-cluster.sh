#!/usr/bin/env bash
# The demo on a real cluster (scripts/demo.sh runs this by default as root):
#
#   scripts/demo-cluster.sh [--keep] [--nodes N]
#
# 1. The images from the repository's Dockerfiles (scripts/build-images.sh, cached).
# 2. A real v1.20.2 cluster of N nodes (default 9) in 3 racks (scripts/kube-cluster.sh):
#    per node a network namespace with its own containerd, kubelet and kube-proxy. The first
#    two nodes of each rack are reflector hosts (rr.bgp.dev/reflector=true, no calico-node
#    BGP); the others are Calico nodes running the calico-node stand-in (tests/calico-node:
#    BIRD 1.6 rendering its config from the API as calico-node does, full mesh included).
# 3. rr-operator installed with its chart (helm install), as its own ServiceAccount.
# 4. deploy/examples/fabric-basic.yaml (two Dedicated reflectors per rack) while Calico's
#    full mesh runs: the operator schedules the reflector Pods, writes the BGPPeers and
#    turns the mesh off once every Calico node is served.
# Then it shows the fabric, the Pods on their nodes, the BGPPeers, and a Calico node's
# routes learned through the reflectors. Without --keep it stops the cluster at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KEEP=0
NODES=9
while (($#)); do
  case $1 in
    --keep) KEEP=1 ;;
    --nodes)
      NODES=${2:-}
      if ! [[ $NODES =~ ^[0-9]+$ ]] || ((NODES < 9)); then
        echo "demo: --nodes needs at least 9 (two reflector hosts and a Calico node in each of 3 racks)" >&2; exit 2
      fi
      shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
cd "$ROOT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
# wait_for SECONDS WHAT CMD...: a bounded wait with a dot per try
wait_for() {
  local limit=$1 what=$2 deadline=$((SECONDS + $1)); shift 2
  printf '   waiting: %s ' "$what"
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo; die "$what: not within ${limit}s"; }
    printf '.'; sleep 2
  done
  echo " ok"
}

say "Installing packages, Kubernetes v1.20.2 (built once from Debian's source package, cached), kubectl and helm"
bash scripts/setup.sh
bash scripts/build-kube.sh >/dev/null
KUBECTL=$(bash scripts/fetch-kubectl.sh)
HELM=$(bash scripts/fetch-helm.sh)

say "Building the images from operator/image, reflector/image and tests/calico-node Dockerfiles (cached)"
bash scripts/build-images.sh
say "Building kubectl-rr, rr-operator's kubectl plugin (kubectl rr plan, kubectl rr status)"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target kubectl-rr >/dev/null
KUBECTL_RR=$BUILD_DIR/operator/kubectl-rr

DIR=${RR_DEMO_CLUSTER_DIR:-/tmp/rr-demo-cluster}
say "Starting a real cluster of $NODES nodes in 3 racks in $DIR"
if ((KEEP)); then owner=1; else owner=$$; fi   # --keep: owned by init, lives until stopped
bash scripts/kube-cluster.sh start "$DIR" --nodes "$NODES" --reflectors-per-rack 2 --owner-pid "$owner" --replace >/dev/null
if ((!KEEP)); then trap 'bash "$ROOT/scripts/kube-cluster.sh" stop "$DIR" >/dev/null 2>&1 || true' EXIT; fi
# shellcheck disable=SC1091
source "$DIR/env"
export KUBECONFIG
kc() { "$KUBECTL" "$@"; }
kc get nodes -L topology.kubernetes.io/rack,rr.bgp.dev/reflector

say "Calico's CRDs and the calico-node stand-in on every Calico node (full mesh on)"
for n in $(kc get nodes -l rr.bgp.dev/reflector=true -o jsonpath='{.items[*].metadata.name}'); do
  kc label node "$n" rr.bgp.dev/calico-node=false --overwrite >/dev/null   # Dedicated: no calico-node BGP
done
kc apply -f tests/crds/calico/ >/dev/null
kc wait --for=condition=Established --timeout=60s crd/bgppeers.crd.projectcalico.org crd/bgpconfigurations.crd.projectcalico.org >/dev/null
kc apply -f tests/calico-node/daemonset.yaml >/dev/null
calico_nodes=$(kc get nodes -l 'rr.bgp.dev/calico-node!=false' -o name | wc -l)
standins_ready() {
  [[ $(kc get ds calico-node-standin -n rr-calico-node -o jsonpath='{.status.numberReady}') == "$calico_nodes" ]]
}
wait_for 300 "$calico_nodes calico-node stand-ins Ready" standins_ready

say "helm install rr-operator helm/rr-operator -n rr-system --create-namespace"
"$HELM" upgrade --install rr-operator helm/rr-operator -n rr-system --create-namespace \
  --set image.repository=localhost/rr-operator --set image.tag=dev --set image.pullPolicy=IfNotPresent \
  --set reflector.image.repository=localhost/rr-agent --set reflector.image.tag=dev --wait --timeout 300s
kc get pods -n rr-system -o wide

# The chart's operator flags: its reflector image, and rr-system as the one allowed namespace.
plan_flags=(--reflector-image localhost/rr-agent:dev --allowed-namespaces rr-system)
say "kubectl rr plan -f deploy/examples/fabric-basic.yaml: what applying it would do (exit code 1: changes)"
rc=0; "$KUBECTL_RR" plan -f deploy/examples/fabric-basic.yaml "${plan_flags[@]}" || rc=$?
((rc == 1)) || { echo "kubectl rr plan: exit code $rc, expected 1 (changes)" >&2; exit 1; }
# The picture outlives the cluster: beside the build (RR_DEMO_PLAN_DIR to choose).
PLAN_DIR=${RR_DEMO_PLAN_DIR:-$BUILD_DIR/demo}
mkdir -p "$PLAN_DIR"
"$KUBECTL_RR" plan -f deploy/examples/fabric-basic.yaml "${plan_flags[@]}" -o dot > "$PLAN_DIR/fabric-plan.dot" || true
"$KUBECTL_RR" plan -f deploy/examples/fabric-basic.yaml "${plan_flags[@]}" -o svg > "$PLAN_DIR/fabric-plan.svg" || true
echo "The picture: $PLAN_DIR/fabric-plan.svg (Graphviz source: fabric-plan.dot beside it)"

say "kubectl apply -f deploy/examples/fabric-basic.yaml"
kc apply -f deploy/examples/fabric-basic.yaml
fabric_ready() { [[ $(kc get rrc fabric -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
wait_for 600 "the fabric Ready" fabric_ready
mesh_off() { [[ $(kc get bgpconfigurations.crd.projectcalico.org default -o jsonpath='{.spec.nodeToNodeMeshEnabled}') == false ]]; }
wait_for 180 "Calico's node-to-node mesh off" mesh_off

say "The fabric"
kc get rrc -o wide
kc get rrc fabric -o jsonpath='{range .status.racks[*]}{.name}: cluster ID {.clusterID}, reflectors {range .reflectors[*]}{.pod}@{.node} {end}{"\n"}{end}'
say "The reflector Pods, each on its rack's reflector host (kubectl get pods -o wide)"
kc get pods -n rr-system -o wide -l app.kubernetes.io/name=rr-reflector
say "The BGPPeers the operator wrote (one per reflector, selecting its rack's nodes)"
kc get bgppeers.crd.projectcalico.org -o custom-columns=NAME:.metadata.name,PEER:.spec.peerIP,AS:.spec.asNumber,NODES:.spec.nodeSelector
say "Calico's BGPConfiguration: the mesh is off"
kc get bgpconfigurations.crd.projectcalico.org default -o jsonpath='nodeToNodeMeshEnabled: {.spec.nodeToNodeMeshEnabled}{"\n"}'
say "kubectl rr status fabric; kubectl rr plan of the same file now changes nothing (exit code 0)"
"$KUBECTL_RR" status fabric || true
rc=0; "$KUBECTL_RR" plan -f deploy/examples/fabric-basic.yaml "${plan_flags[@]}" >/dev/null || rc=$?
echo "kubectl rr plan -f deploy/examples/fabric-basic.yaml: exit code $rc"

client=$(kc get nodes -l 'rr.bgp.dev/calico-node!=false,topology.kubernetes.io/rack=rack-1' -o jsonpath='{.items[0].metadata.name}')
pod=$(kc get pods -n rr-calico-node --field-selector "spec.nodeName=$client" -o jsonpath='{.items[0].metadata.name}')
say "$client (rack-1, a Calico node): its BGP sessions and the routes it learned through the reflectors"
kc exec -n rr-calico-node "$pod" -- birdc -s /run/bird/bird.ctl show protocols
kc exec -n rr-calico-node "$pod" -- birdc -s /run/bird/bird.ctl show route

if ((KEEP)); then
  say "The cluster stays up"
  echo "  source $DIR/env && $KUBECTL get rrc,pods -A -o wide"
  echo "  stop it with: scripts/kube-cluster.sh stop $DIR"
else
  say "Done; stopping the cluster"
fi
