#!/usr/bin/env bash
# Builds rr-operator and runs every unit, integration and end-to-end test.
# Installs what it needs first (apt packages, kube-apiserver v1.20.2 built once
# and cached, kubectl 1.20); later runs reuse all of it and build incrementally.
#
#   scripts/test.sh [ctest args...]      e.g. scripts/test.sh -L unit
# A whole run (no arguments) runs ctest twice: every test but the images and the real clusters
# in parallel, then those one at a time.
# A whole run then builds and runs the controller's concurrency test under TSan (build-thread/)
# and every fuzz target briefly (build-fuzz/); RR_SANITIZER_TIERS="thread fuzz address" adds
# every unit test under ASan+UBSan (build-address/).
# Env: BUILD_DIR (default build), RR_SANITIZE (address|thread), CTEST_PARALLEL (default 3),
#      RR_SANITIZER_TIERS (default "thread" on a whole run, none with ctest arguments)
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
step "Prometheus with Kubernetes discovery from Debian trixie (verified, unpacked, cached)"
bash scripts/fetch-prometheus.sh >/dev/null

step "configuring and building in $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${RR_SANITIZE:+-DRR_SANITIZE=$RR_SANITIZE} >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"

rc=0
if (($# > 0)); then
  step "running tests: ctest $*"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j "${CTEST_PARALLEL:-3}" "$@") || rc=$?
else
  # Two phases. A real cluster (five kubelets, containerd, our images) keeps both cores busy for
  # minutes; beside it the timing-sensitive integration tests (renew deadlines, restarts) starve.
  # So the images and the cluster tests run after the rest, one at a time.
  step "running tests, phase 1: everything but the images and the real clusters"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j "${CTEST_PARALLEL:-3}" -LE 'cluster|images') || rc=$?
  step "running tests, phase 2: images and real clusters, one at a time"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j 1 -L 'cluster|images') || rc=$?
fi

# Sanitizer tiers, each in its own build directory: the controller's two workers reconciling at
# once under TSan (label tsan); every libFuzzer target (clang, ASan+UBSan, build-fuzz/) over its
# seeds and 2000 more inputs (scripts/fuzz.sh, docs/fuzzing.md), so a target that no longer
# builds or a parser that crashes fails CI; and with RR_SANITIZER_TIERS="thread fuzz address"
# every unit test under ASan+UBSan too (not yet on by default: the whole unit suite has not had
# a clean ASan run). A whole run (no ctest arguments) runs the default tiers;
# RR_SANITIZER_TIERS="" skips them.
if (($# == 0)); then tiers=${RR_SANITIZER_TIERS-thread fuzz}; else tiers=${RR_SANITIZER_TIERS-}; fi
for tier in $tiers; do
  case $tier in
    address) targets=(unit_tests calico_node_unit_tests) label=unit ;;
    thread) targets=(controller_concurrency_tests) label=tsan ;;
    fuzz)
      step "fuzz tier: every libFuzzer target, seeds + 2000 inputs (scripts/fuzz.sh --runs 2000)"
      bash scripts/fuzz.sh --runs 2000 || rc=$?
      continue ;;
    *) echo "RR_SANITIZER_TIERS: unknown tier $tier (address, thread, fuzz)" >&2; exit 2 ;;
  esac
  dir=$BUILD_DIR-$tier
  step "sanitizer tier $tier: building ${targets[*]} in $dir"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRR_SANITIZE="$tier" >/dev/null
  cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"
  step "sanitizer tier $tier: ctest -L $label"
  # halt_on_error: a report fails the test that caused it, not just its log.
  (cd "$dir" && ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      ctest --output-on-failure -j "${CTEST_PARALLEL:-3}" -L "$label") || rc=$?
done
exit "$rc"
