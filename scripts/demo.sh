#!/usr/bin/env bash
# The README's first command: a local demo on a real Kubernetes control plane.
#
#   scripts/demo.sh            run, show, clean up
#   scripts/demo.sh --keep     leave the control plane running for exploring
#
# Today it installs what it needs, builds, starts etcd + kube-apiserver v1.20.2 on
# loopback, installs the CRDs (rr-operator's and the test copies of Calico's),
# applies the example fabric and shows what the API server holds. The full demo
# fabric (reflectors, BIRD, simulated Calico nodes) lands with the operator.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
KEEP=0
for a in "$@"; do
  case $a in
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $a" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing packages, kube-apiserver v1.20.2 (built once, cached) and kubectl 1.20"
bash scripts/setup.sh
bash scripts/build-kube.sh >/dev/null
KUBECTL=$(bash scripts/fetch-kubectl.sh)

say "Building rr-operator"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target rr-operator rr-agent

DEMO_DIR=${RR_DEMO_DIR:-/tmp/rr-demo}
say "Starting etcd + kube-apiserver on 127.0.0.1 (TLS, token auth, RBAC) in $DEMO_DIR"
if ((KEEP)); then owner=1; else owner=$$; fi   # --keep: owned by init, lives until stopped
bash scripts/kube-local.sh start "$DEMO_DIR" --replace --owner-pid "$owner" >/dev/null
# shellcheck disable=SC1091
source "$DEMO_DIR/env"
if ((!KEEP)); then trap 'bash "$ROOT/scripts/kube-local.sh" stop "$DEMO_DIR" >/dev/null 2>&1 || true' EXIT; fi

say "rr-operator connects with the generated kubeconfig"
"$BUILD_DIR/operator/rr-operator" --kubeconfig "$KUBECONFIG"

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

examples=(deploy/examples/*.yaml)
if ((${#examples[@]})); then
  say "Applying the example fabric"
  "$KUBECTL" apply -f "${examples[0]}"
  "$KUBECTL" get rrc -o wide
  "$KUBECTL" explain rrc.spec.reflectors | head -20
fi

if ((KEEP)); then
  say "The control plane stays up"
  echo "  source $DEMO_DIR/env && \$RR_KUBECTL get rrc"
  echo "  stop it with: scripts/kube-local.sh stop $DEMO_DIR"
else
  say "Done; stopping the control plane"
fi
