#!/usr/bin/env bash
# The README's first command: a local demo fabric.
#
#   scripts/demo.sh [--keep]            as root: on a real cluster (scripts/demo-cluster.sh):
#                                       the images from our Dockerfiles, 9 nodes each with its
#                                       own kubelet and containerd, the chart, the fabric
#   scripts/demo.sh --played [--keep] [--network loopback|netns]
#                                       on a played cluster (the only mode without root):
#                                       a real control plane, the harness playing kubelet
#   --keep                              leave it running for exploring
#
# The played demo installs what it needs, builds, starts etcd + kube-apiserver v1.20.2 on
# loopback, installs the CRDs (rr-operator's and the test copies of Calico's), then runs
# rr-demo-fabric (tests/e2e/demo_fabric.cpp): 9 simulated nodes in 3 racks (as root,
# each a network namespace on a bridge with BGP on port 179; otherwise 127.0.N.x
# addresses with BGP on port 1179), the real rr-operator, the real rr-agent + BIRD 2
# for every reflector Pod it schedules (host processes, in place of kubelet), a BIRD per
# Calico node peering as the operator's BGPPeers say, and shows the fabric Ready and a
# route reflected from rack 3 to rack 1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
KEEP=0
NETWORK=auto
PLAYED=0
while (($#)); do
  case $1 in
    --keep) KEEP=1 ;;
    --played) PLAYED=1 ;;
    --network)
      NETWORK=${2:-}
      shift
      case $NETWORK in auto|netns|loopback) ;; *) echo "demo: --network is auto, netns or loopback" >&2; exit 2 ;; esac
      ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
cd "$ROOT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if ((!PLAYED)); then
  if ((EUID == 0)); then
    say "The demo on a real cluster (scripts/demo-cluster.sh); scripts/demo.sh --played runs the played one"
    args=()
    ((KEEP)) && args+=(--keep)
    exec bash scripts/demo-cluster.sh "${args[@]}"
  fi
  say "Not root: a real cluster needs root (network namespaces, containerd). Running the played demo instead"
  echo "   (a real control plane; the harness plays kubelet and calico-node). As root, scripts/demo.sh runs a real cluster."
fi

say "Installing packages, kube-apiserver v1.20.2 (built once, cached) and kubectl 1.20"
bash scripts/setup.sh
bash scripts/build-kube.sh kube-apiserver kube-controller-manager >/dev/null
KUBECTL=$(bash scripts/fetch-kubectl.sh)

say "Building rr-operator, rr-agent and the demo driver"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target rr-operator rr-agent rr-demo-fabric

DEMO_DIR=${RR_DEMO_DIR:-/tmp/rr-demo}
say "Starting etcd + kube-apiserver on 127.0.0.1 (TLS, token auth, RBAC) in $DEMO_DIR"
if [[ -s $DEMO_DIR/demo-fabric.pid ]]; then   # a fabric left by an earlier --keep run
  old=$(cat "$DEMO_DIR/demo-fabric.pid")
  kill "$old" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
fi
if ((KEEP)); then owner=1; else owner=$$; fi   # --keep: owned by init, lives until stopped
bash scripts/kube-local.sh start "$DEMO_DIR" --replace --owner-pid "$owner" >/dev/null
# shellcheck disable=SC1091
source "$DEMO_DIR/env"
if ((!KEEP)); then trap 'bash "$ROOT/scripts/kube-local.sh" stop "$DEMO_DIR" >/dev/null 2>&1 || true' EXIT; fi

say "Installing the CRDs"
shopt -s nullglob
crds=(crds/*.yaml tests/crds/calico/*.yaml)
for f in "${crds[@]}"; do
  [[ $(basename "$f") == kustomization.yaml ]] && continue
  "$KUBECTL" apply -f "$f"
done
if ((${#crds[@]})); then
  "$KUBECTL" wait --for condition=established --timeout=60s crd --all >/dev/null
fi
"$KUBECTL" get crd

say "The demo fabric: simulated nodes, rr-operator, reflector Pods with rr-agent + BIRD, Calico stand-ins"
FABRIC_DIR=$DEMO_DIR/fabric
if ((KEEP)); then
  # The driver stays behind (its own session) to keep playing kubelet and calico-node.
  ready=$DEMO_DIR/demo-fabric.pid
  rm -f "$ready"
  setsid "$BUILD_DIR/tests/e2e/rr-demo-fabric" --dir "$FABRIC_DIR" --network "$NETWORK" --keep \
    --ready-file "$ready" </dev/null &
  driver=$!
  for _ in $(seq 1 1500); do   # bounded: the driver gives up on its own well before this
    [[ -s $ready ]] && break
    kill -0 "$driver" 2>/dev/null || break
    sleep 0.1
  done
  if [[ ! -s $ready ]]; then
    wait "$driver" || true
    echo "demo: the fabric did not come up; stopping the control plane" >&2
    bash scripts/kube-local.sh stop "$DEMO_DIR" --keep-logs >/dev/null 2>&1 || true
    exit 1
  fi
else
  "$BUILD_DIR/tests/e2e/rr-demo-fabric" --dir "$FABRIC_DIR" --network "$NETWORK" </dev/null
fi

if ((KEEP)); then
  say "The fabric and the control plane stay up"
  echo "  source $DEMO_DIR/env && \$RR_KUBECTL get rrc,pods -A"
  echo "  birdc -s $FABRIC_DIR/nodes/rack1-node3/bird.ctl show route        # a Calico node's routes"
  echo "  stop it with: kill \$(cat $ready); scripts/kube-local.sh stop $DEMO_DIR"
else
  say "Done; stopping the fabric and the control plane"
fi
