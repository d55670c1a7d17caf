#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang under ASan+UBSan (in
# build-fuzz, separate from the gcc build) and runs each over its seed corpus.
#
#   scripts/fuzz.sh [--runs N] [--seconds S] [--jobs J] [target...]
#
# Default: 1000000 executions per target (with --seconds: S seconds; with
# both, whichever comes first), one target at a time (--jobs: J side by side);
# all targets in fuzz/CMakeLists.txt.
# A target name may be given with or without its _fuzzer suffix.
# Prints executions and exec/s per target. Exits non-zero when a target crashes,
# leaks, hangs (an input running over 10 s) or runs out of memory (2 GB); the
# input that did it is kept as build-fuzz/fuzz/crashes/<target>-{crash,leak,timeout,oom}-<sha1>
# and the target's log as build-fuzz/fuzz/logs/<target>.log. Reproduce with
#   build-fuzz/fuzz/<target> <that file>
# Inputs that found new coverage accumulate in build-fuzz/fuzz/corpus/<target>
# (the checked-in seeds in fuzz/corpus/<target> are only read).
# Env: BUILD_DIR (default build-fuzz), FUZZ_TIMEOUT (seconds per input, default 10).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-fuzz}
cd "$ROOT"

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
runs=
seconds=
jobs=1
targets=()
while (($#)); do
  case $1 in
    --runs) [[ ${2:-} =~ ^[0-9]+$ ]] || usage; runs=$2; shift 2 ;;
    --seconds) [[ ${2:-} =~ ^[0-9]+$ ]] || usage; seconds=$2; shift 2 ;;
    --jobs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; jobs=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage ;;
    *) targets+=("${1%_fuzzer}_fuzzer"); shift ;;
  esac
done

limit=()
[[ -n $runs ]] && limit+=(-runs="$runs")
[[ -n $seconds ]] && limit+=(-max_total_time="$seconds")
((${#limit[@]})) || limit=(-runs=1000000)

# clang and its runtime libraries (libclang_rt.fuzzer, asan, ubsan): Debian's packages.
missing=()
for p in clang libclang-rt-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[[ -f $BUILD_DIR/CMakeCache.txt ]] || bash scripts/setup.sh >/dev/null  # the libraries' own -dev packages

all=$(sed -n '/^set(RR_FUZZ_TARGETS/,/)/p' fuzz/CMakeLists.txt | grep -o '[a-z_]*_fuzzer')
((${#targets[@]})) || mapfile -t targets <<<"$all"
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$all" || { echo "fuzz.sh: no target $t (have: $(echo $all))" >&2; exit 2; }
done

echo "== configuring $BUILD_DIR (clang, -DRR_FUZZ=ON)" >&2
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DRR_FUZZ=ON -DRR_BUILD_TESTS=OFF -DRR_BUILD_BENCHMARKS=OFF >/dev/null
echo "== building ${targets[*]}" >&2
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${targets[@]}"

out=$BUILD_DIR/fuzz
mkdir -p "$out/crashes" "$out/logs"
# One target: its line of the table in $out/logs/<target>.result, exit status = the fuzzer's.
run_target() {
  local t=$1 log=$out/logs/$1.log rc=0 started took execs rate artifact result
  mkdir -p "$out/corpus/$t"
  started=$(date +%s)
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$out/$t" "${limit[@]}" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/crashes/$t-" "$out/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  took=$(($(date +%s) - started))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if ((rc == 0)); then
    result=ok
  else
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    result="FAILED (exit $rc): ${artifact:-see $log}"
  fi
  {
    printf '%-24s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$took" "$result"
    ((rc == 0)) || grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|deadly signal|timeout' "$log" | sed 's/^/    /' || true
  } >"$out/logs/$t.result"
  return $rc
}

rm -f "$out"/logs/*.result
printf '%-24s %12s %10s %8s  %s\n' target executions exec/s seconds result
running=0
for t in "${targets[@]}"; do
  if ((jobs == 1)); then
    run_target "$t" || true
    cat "$out/logs/$t.result"
    continue
  fi
  run_target "$t" &
  if ((++running >= jobs)); then wait -n || true; ((running--)); fi
done
wait || true
failed=()
for t in "${targets[@]}"; do
  ((jobs == 1)) || cat "$out/logs/$t.result"
  grep -q '  ok$' "$out/logs/$t.result" || failed+=("$t")
done
if ((${#failed[@]})); then
  echo "fuzz.sh: ${failed[*]} failed; logs in $out/logs, inputs in $out/crashes" >&2
  exit 1
fi
