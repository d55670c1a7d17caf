#!/usr/bin/env bash
# Builds the benchmarks and runs them, printing their figures (docs/benchmarks.md
# says what each one measures). The watch and scale benchmarks each get a control
# plane of their own (scripts/kube-local.sh, owned by this script), stopped on exit
# whatever happens, with every process they started.
# Every command it runs is printed first, prefixed with "+".
#
#   scripts/bench.sh [planner] [watch] [tiers] [memory] [scale]   default: planner and watch
#   (memory: what one reconcile of a 100,000-Node fabric allocates above what the operator
#    holds, every C++ allocation counted; FabricController on the fake API, no server;
#    MEMORY_ARGS, e.g. "--racks 100 --repeat 5", passes flags to reconcile_memory_bench)
#   (tiers: the fabric's session counts at 100,000 nodes, flat mesh vs spec.topTier;
#    TIERS_ARGS, e.g. "--racks 1000 --zones 10", passes shape flags to tier_sessions_bench)
#   (scale: the real rr-operator over RR_BENCH_NODES Nodes, default 100,000, in a real
#    kube-apiserver: creation rate, the raw list floor, time to the first plan, RSS steady
#    and through a relist; bench/operator_scale_bench.cpp. 8-11 minutes at 100,000 on 2
#    cores, most of it creating the Nodes.)
#
# Env: BUILD_DIR (default build; configured if it is not yet), JOBS (default 2),
#      PLANNER_ARGS (extra Google Benchmark flags for planner_bench, e.g.
#      "--benchmark_filter=Steady --skip_memory"), RR_BENCH_WATCH_WRITES (200),
#      RR_BENCH_NODES (10000 for watch, 100000 for scale), RR_BENCH_RUNS (5 for watch,
#      3 for scale). scale also reads RR_BENCH_WRITERS (16 Node writers),
#      RR_BENCH_OPERATOR_ARGS (extra rr-operator flags), RR_BENCH_FIRST_PLAN_TIMEOUT (1200 s),
#      RR_BENCH_SETTLE_MAX (60 s), RR_BENCH_RELIST_MAX (180 s), RR_OPERATOR_BIN (default: the
#      build's rr-operator; to pin a copy while the tree changes); its control plane's logs
#      (rr-operator's included) are kept when it fails, or always with RR_BENCH_KEEP_LOGS=1.
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

want_planner=0 want_watch=0 want_tiers=0 want_memory=0 want_scale=0
(($#)) || set -- planner watch
for a in "$@"; do
  case $a in
    planner) want_planner=1 ;;
    watch) want_watch=1 ;;
    tiers) want_tiers=1 ;;
    memory) want_memory=1 ;;
    scale) want_scale=1 ;;
    *) echo "usage: scripts/bench.sh [planner] [watch] [tiers] [memory] [scale]" >&2; exit 2 ;;
  esac
done

# Everything started here is stopped on exit, also on failure or SIGTERM (the kube-local
# watchdog stops a control plane if this script is killed outright): the benchmark running
# in the background (it stops its own children on SIGTERM), then the control planes.
BENCH_PID='' CP_DIRS=() KEEP_LOGS=()
stop_everything() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $BENCH_PID ]] && kill -0 "$BENCH_PID" 2>/dev/null; then
    run kill -TERM "$BENCH_PID" || true
    wait "$BENCH_PID" 2>/dev/null || true
  fi
  local d keep
  for d in "${CP_DIRS[@]+"${CP_DIRS[@]}"}"; do
    keep=0
    [[ ($rc != 0 || ${RR_BENCH_KEEP_LOGS:-0} == 1) && " ${KEEP_LOGS[*]+"${KEEP_LOGS[*]}"} " == *" $d "* ]] && keep=1
    if ((keep)); then
      run "$ROOT/scripts/kube-local.sh" stop "$d" --keep-logs || true
      echo "== logs kept in $d/logs" >&2
    else
      run "$ROOT/scripts/kube-local.sh" stop "$d" || true
      rm -rf "$d"
    fi
  done
  exit "$rc"
}
trap stop_everything EXIT
trap 'exit 130' INT TERM

# Runs a command in the background (printed like run), so that a signal reaches the trap at
# once instead of after the command; `wait "$BENCH_PID"` gives its exit status.
run_bg() {
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf ' &\n' >&2
  "$@" &
  BENCH_PID=$!
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)" >&2

if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  run cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
targets=()
((want_planner)) && targets+=(planner_bench)
((want_watch)) && targets+=(watch_bench)
((want_tiers)) && targets+=(tier_sessions_bench)
((want_memory)) && targets+=(reconcile_memory_bench)
((want_scale)) && targets+=(operator_scale_bench rr-operator)
run cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}"

if ((want_tiers)); then
  run "$BUILD_DIR/bench/tier_sessions_bench" ${TIERS_ARGS:-}
fi

if ((want_memory)); then
  # shellcheck disable=SC2086  # MEMORY_ARGS is a list of flags
  run "$BUILD_DIR/bench/reconcile_memory_bench" ${MEMORY_ARGS:-}
fi

if ((want_planner)); then
  # shellcheck disable=SC2086  # PLANNER_ARGS is a list of flags
  run "$BUILD_DIR/bench/planner_bench" --benchmark_color=false ${PLANNER_ARGS:-}
fi

if ((want_watch)); then
  CP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rr-bench-cp.XXXXXX")
  CP_DIRS+=("$CP_DIR")
  run "$ROOT/scripts/kube-local.sh" start "$CP_DIR" --owner-pid $$ >/dev/null
  run env RR_KUBE_DIR="$CP_DIR" RR_BENCH_OWN_CONTROL_PLANE=1 "$BUILD_DIR/bench/watch_bench"
fi

if ((want_scale)); then
  SCALE_CP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rr-bench-scale.XXXXXX")
  CP_DIRS+=("$SCALE_CP_DIR")
  KEEP_LOGS+=("$SCALE_CP_DIR")
  run "$ROOT/scripts/kube-local.sh" start "$SCALE_CP_DIR" --owner-pid $$ >/dev/null
  # The bench starts build/operator/rr-operator itself (and stops it, whatever happens).
  run_bg env RR_KUBE_DIR="$SCALE_CP_DIR" RR_BENCH_OWN_CONTROL_PLANE=1 RR_BENCH_NODES="${RR_BENCH_NODES:-100000}" \
    RR_BENCH_RUNS="${RR_BENCH_RUNS:-3}" RR_OPERATOR_BIN="${RR_OPERATOR_BIN:-$BUILD_DIR/operator/rr-operator}" \
    "$BUILD_DIR/bench/operator_scale_bench"
  wait "$BENCH_PID"
  BENCH_PID=''
fi
