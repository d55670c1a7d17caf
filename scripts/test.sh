#!/usr/bin/env bash
# Builds rr-operator and runs every unit, integration and end-to-end test.
# Installs what it needs first (apt packages, kube-apiserver v1.20.2 built once
# and cached, kubectl 1.20); later runs reuse all of it and build incrementally.
#
#   scripts/test.sh [ctest args...]      e.g. scripts/test.sh -L unit
# Env: BUILD_DIR (default build), RR_SANITIZE (address|thread), CTEST_PARALLEL (default 3)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
cd "$ROOT"

step() { echo "== $*" >&2; }

step "installing packages"
bash scripts/setup.sh
step "kube-apiserver v1.20.2 (cached after the first build)"
bash scripts/build-kube.sh >/dev/null
step "kubectl 1.20 from Debian's kubernetes-client"
bash scripts/fetch-kubectl.sh >/dev/null
step "BIRD 1.6 for the calico-node stand-in (unpacked, cached)"
bash scripts/fetch-bird1.sh >/dev/null

step "configuring and building in $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${RR_SANITIZE:+-DRR_SANITIZE=$RR_SANITIZE} >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"

step "running tests"
cd "$BUILD_DIR"
exec ctest --output-on-failure -j "${CTEST_PARALLEL:-3}" "$@"
