#!/usr/bin/env bash
# Builds the benchmarks and runs them, printing their figures (docs/benchmarks.md
# says what each one measures). The watch benchmark gets a control plane of its
# own (scripts/kube-local.sh, owned by this script), stopped on exit whatever happens.
# Every command it runs is printed first, prefixed with "+".
#
#   scripts/bench.sh [planner] [watch] [tiers]   default: planner and watch
#   (tiers: the fabric's session counts at 100,000 nodes, flat mesh vs spec.topTier;
#    TIERS_ARGS, e.g. "--racks 1000 --zones 10", passes shape flags to tier_sessions_bench)
#
# Env: BUILD_DIR (default build; configured if it is not yet), JOBS (default 2),
#      PLANNER_ARGS (extra Google Benchmark flags for planner_bench, e.g.
#      "--benchmark_filter=Steady --skip_memory"), RR_BENCH_WATCH_WRITES (200),
#      RR_BENCH_NODES (10000), RR_BENCH_RUNS (5).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
JOBS=${JOBS:-2}
cd "$ROOT"

run() {
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
  "$@"
}

want_planner=0 want_watch=0 want_tiers=0
(($#)) || set -- planner watch
for a in "$@"; do
  case $a in
    planner) want_planner=1 ;;
    watch) want_watch=1 ;;
    tiers) want_tiers=1 ;;
    *) echo "usage: scripts/bench.sh [planner] [watch] [tiers]" >&2; exit 2 ;;
  esac
done

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)" >&2

if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  run cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
targets=()
((want_planner)) && targets+=(planner_bench)
((want_watch)) && targets+=(watch_bench)
((want_tiers)) && targets+=(tier_sessions_bench)
run cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}"

if ((want_tiers)); then
  run "$BUILD_DIR/bench/tier_sessions_bench" ${TIERS_ARGS:-}
fi

if ((want_planner)); then
  # shellcheck disable=SC2086  # PLANNER_ARGS is a list of flags
  run "$BUILD_DIR/bench/planner_bench" --benchmark_color=false ${PLANNER_ARGS:-}
fi

if ((want_watch)); then
  CP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rr-bench-cp.XXXXXX")
  stop_control_plane() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n ${CP_DIR:-} ]]; then
      run "$ROOT/scripts/kube-local.sh" stop "$CP_DIR" || true
      rm -rf "$CP_DIR"
    fi
    exit "$rc"
  }
  trap stop_control_plane EXIT
  trap 'exit 130' INT TERM
  run "$ROOT/scripts/kube-local.sh" start "$CP_DIR" --owner-pid $$ >/dev/null
  run env RR_KUBE_DIR="$CP_DIR" RR_BENCH_OWN_CONTROL_PLANE=1 "$BUILD_DIR/bench/watch_bench"
fi
