#!/usr/bin/env bash
# Builds rr-operator and runs every unit, integration and end-to-end test.
# Installs what it needs first (apt packages, kube-apiserver v1.20.2 built once
# and cached, kubectl 1.20); later runs reuse all of it and build incrementally.
#
#   scripts/test.sh [ctest args...]      e.g. scripts/test.sh -L unit
# A whole run (no arguments) runs ctest in two phases: every test but the images, the real
# clusters and the integration suites, then the images, the chaos suite in the background and
# the other clusters beside it.
# A whole run then runs the sanitizer tiers: the unit and integration suites under ASan+UBSan
# (build-address/) and under TSan (build-thread/), which is where a whole run runs the
# integration suites, and every fuzz target briefly (build-fuzz/); see "Sanitizer tiers" below
# and docs/sanitizers.md.
# Env: BUILD_DIR (default build), RR_SANITIZE (address|thread), CTEST_PARALLEL (ctest -j with
#      arguments, default 3; of a whole run's first phase, default 4),
#      CTEST_CLUSTER_PARALLEL (ctest -j of the real clusters beside the chaos suite, default 2),
#      RR_SANITIZER_TIERS (default "address thread fuzz" on a whole run, none with ctest
#      arguments), RR_SANITIZER_LABELS (default 'unit|integration')
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
cd "$ROOT"

# Each step says when it starts, and how far into the run: CI's time is budgeted step by step.
# It also says how busy the two cores were since the step before (from /proc/stat): a step near
# 100% is bound by CPU, one well below it by timers, and only the latter gains from running beside
# another.
cpu_mark=
cpu_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat; }
step() {
  local now busy=
  now=$(cpu_ticks)
  [[ -n $cpu_mark ]] && busy=$(awk -v a="$cpu_mark" -v b="$now" 'BEGIN {split(a, x, " "); split(b, y, " ")
    if (y[2] > x[2]) printf ", cores %d%% busy since", 100 * (y[1] - x[1]) / (y[2] - x[2])}')
  cpu_mark=$now
  printf '== [%s, +%dm%02ds%s] %s\n' "$(date -u +%H:%M:%S)" $((SECONDS / 60)) $((SECONDS % 60)) "$busy" "$*" >&2
}

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

# Sanitizer tiers, each in its own build directory, which registers only the tests that run
# instrumented code (tests/CMakeLists.txt), so `ctest -L 'unit|integration'` there is exactly
# what a tier runs:
#   address  ASan+UBSan (build-address/): the unit suites and the integration suites (kube/,
#            operator/, agent/, edges/, calico-node/, harness/) against the real kube-apiserver
#            and BIRD, with rr-operator, rr-agent, kubectl-rr and the calico-node stand-in built in
#            the same tree, so instrumented too.
#   thread   TSan (build-thread/): the same suites; the controller's concurrency test among them.
#   fuzz     every libFuzzer target (clang, ASan+UBSan, build-fuzz/) over its seeds and 2000
#            more inputs (scripts/fuzz.sh, docs/fuzzing.md), so a target that no longer
#            builds or a parser that crashes fails CI.
# RR_SANITIZER_LABELS narrows what a sanitizer tier runs (default 'unit|integration', e.g. unit);
# RR_SANITIZER_PARALLEL is its ctest -j (default 3: at -j3 the ASan tier took 3 min 45 s against
# 5 min 13 s at -j2, both cores 59% busy, and TSan 4 min 7 s against 5 min 29 s, 65% busy, its
# length then the operator integration tests' chain, now two shards; at -j4 TSan kept both
# cores 89-99% busy and TiersIT once missed a route at its first poll; the tiers run one after the
# other: side by side, 86% of both cores busy, a TSan'd operator missed a 3 s renew deadline in
# tests/integration/operator/exit_test.cpp, whose deadline is 6 s since).
# A report fails the test that caused it (halt_on_error), in a child process too: the harness
# reads a child's output for reports whatever its exit code (tests/integration/support/process.h).
# Suppressions: only third-party code, one commented entry each, in tests/sanitizers/.
# A whole run (no ctest arguments) runs "address thread fuzz"; RR_SANITIZER_TIERS picks (none
# with ctest arguments; "" skips them).
if (($# == 0)); then tiers=${RR_SANITIZER_TIERS-address thread fuzz}; else tiers=${RR_SANITIZER_TIERS-}; fi
labels=${RR_SANITIZER_LABELS:-unit|integration}
targets=(unit_tests calico_node_unit_tests)
[[ $labels == *integration* ]] &&
  targets+=(kube_integration_tests operator_integration_tests agent_integration_tests
            edge_integration_tests calico_node_integration_tests harness_integration_tests)
sanitizer_dir() { echo "$BUILD_DIR-$1"; }
# The trees are built before any test runs: a tree that no longer builds fails at once, and the
# compile cache holds every tree early (a later run, CI's among them, then hits it).
for tier in $tiers; do
  case $tier in
    address | thread)
      step "sanitizer tier $tier: building ${targets[*]} in $(sanitizer_dir "$tier")"
      cmake -S . -B "$(sanitizer_dir "$tier")" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRR_SANITIZE="$tier" >/dev/null
      cmake --build "$(sanitizer_dir "$tier")" -j "$(nproc)" --target "${targets[@]}" ;;
    fuzz) ;;  # scripts/fuzz.sh builds its own tree
    *) echo "RR_SANITIZER_TIERS: unknown tier $tier (address, thread, fuzz)" >&2; exit 2 ;;
  esac
done

rc=0
# Process accounting over a whole run (acct's accton; system-wide while it is on): the run ends
# with the commands that took the most CPU, summed over every process that ended, so what CI's
# time goes to can be read off its log.
acct_file=
if (($# == 0)) && command -v accton >/dev/null; then
  acct_file=$(mktemp /tmp/rr-acct.XXXXXX)
  accton "$acct_file" >/dev/null 2>&1 || { rm -f "$acct_file"; acct_file=; }
fi
acct_off() { [[ -z $acct_file ]] || { accton off >/dev/null 2>&1; rm -f "$acct_file"; acct_file=; }; }
acct_summary() {
  [[ -n $acct_file ]] || return 0
  accton off >/dev/null 2>&1
  step "CPU by command over the run, top 20 (process accounting: seconds, share, processes)"
  # Sorted whole and cut by awk, not head: under pipefail, head's early exit (SIGPIPE to sort)
  # failed the pipeline and, with set -e, ended the run before its verdict.
  { dump-acct "$acct_file" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $1); c[$1] += $3 + $4; n[$1]++; t += $3 + $4}
      END {for (k in c) printf "%8.0f s %5.1f%% %7d  %s\n", c[k] / 100, t ? 100 * c[k] / t : 0, n[k], k}' |
      sort -rn | awk 'NR <= 20' >&2; } || true
  acct_off
}
# What each failed test said, kept as each ctest run ends (the next run in the same tree
# overwrites ctest's record) and printed again at the very end, where a truncated log keeps it.
digests=$(mktemp)
chaos_pid= chaos_out=
trap 'rm -f "$digests" ${chaos_out:+"$chaos_out"}; [[ -n $chaos_pid ]] && kill "$chaos_pid" 2>/dev/null; acct_off' EXIT
keep_digest() { bash "$ROOT/scripts/ctest-digest.sh" "$1" >>"$digests" || true; }
if (($# > 0)); then
  step "running tests: ctest $*"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j "${CTEST_PARALLEL:-3}" "$@") || { rc=$?; keep_digest "$BUILD_DIR"; }
else
  # Two phases. Real clusters (kubelets, containerd, our images) keep both cores busy for
  # minutes; beside them the timing-sensitive integration tests (renew deadlines, restarts)
  # starve. So the images and the cluster tests run after the rest, among themselves.
  # Phase 1 mostly waits (Leases, BGP timers, control planes: both cores about 60% busy at
  # -j4, 50-70% at -j3), so it runs four at a time: 5 min 19 s against 7 min 10 s.
  # The integration suites run here only when no instrumented tier will run them: the address
  # and thread tiers run the same suites against the same real kube-apiserver and BIRD, with
  # the same binaries instrumented, so a third, uninstrumented run proved nothing more (it was
  # 1 000 of phase 1's 2 700 test-seconds, with its seven control planes).
  # Control-plane fixtures (label fixture) start only for a selected test that requires them.
  # (Named <suite>.it.<Test>: tests/integration/CMakeLists.txt.)
  phase1_args=(-LE 'cluster|images|fixture') phase1_what='the images and the real clusters'
  if [[ " $tiers " == *" address "* && " $tiers " == *" thread "* && $labels == *integration* ]]; then
    phase1_args+=(-E '^[a-z_]+\.it\.') phase1_what='the images, the real clusters and the integration suites (the tiers run them)'
  fi
  step "running tests, phase 1: everything but $phase1_what"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j "${CTEST_PARALLEL:-4}" "${phase1_args[@]}") || { rc=$?; keep_digest "$BUILD_DIR"; }
  # Phase 2: the images, then the chaos suite (the longest test, mostly waiting on its
  # scenarios' timers) started in the background by a ctest of its own in its own directory
  # (tests/chaos: its own Testing/ logs), and the other real clusters beside it, two at a
  # time: the chain of suites on the shared 5-node cluster in one slot, the 9-node demo and
  # the lifecycle test in the other. The first sanitizer tier runs beside the end of the
  # chaos suite; the next waits for it (below).
  step "running tests, phase 2: the images"
  if (cd "$BUILD_DIR" && ctest --output-on-failure -L images); then
    step "running tests, phase 2: the chaos suite in the background (its output follows when it ends)"
    chaos_out=$(mktemp)
    (cd "$BUILD_DIR/tests/chaos" && exec ctest --output-on-failure) >"$chaos_out" 2>&1 &
    chaos_pid=$!
    step "running tests, phase 2: the other real clusters, beside the chaos suite"
    (cd "$BUILD_DIR" && ctest --output-on-failure -j "${CTEST_CLUSTER_PARALLEL:-2}" -L cluster -LE chaos -FS rr_images) || { rc=$?; keep_digest "$BUILD_DIR"; }
  else
    rc=1; keep_digest "$BUILD_DIR"
    step "the images did not build: no real-cluster test runs"
  fi
fi
# wait_chaos: the chaos suite's end, its output and verdict.
wait_chaos() {
  [[ -n ${chaos_pid:-} ]] || return 0
  step "waiting for the chaos suite"
  local chaos_rc=0
  wait "$chaos_pid" || chaos_rc=$?
  chaos_pid=
  step "the chaos suite (ctest in $BUILD_DIR/tests/chaos) ended (exit $chaos_rc):"
  cat "$chaos_out"; rm -f "$chaos_out"
  ((chaos_rc == 0)) || { rc=$chaos_rc; keep_digest "$BUILD_DIR/tests/chaos"; }
}

first_tier=1
for tier in $tiers; do
  # Only the first tier beside the chaos suite: two would starve the real cluster's timers.
  ((first_tier)) || wait_chaos
  first_tier=0
  if [[ $tier == fuzz ]]; then
    step "fuzz tier: every libFuzzer target, seeds + 2000 inputs (scripts/fuzz.sh --runs 2000)"
    bash scripts/fuzz.sh --runs 2000 || rc=$?
    continue
  fi
  step "sanitizer tier $tier: ctest -L '$labels'"
  # halt_on_error: a report fails the test that caused it, not just its log.
  (cd "$(sanitizer_dir "$tier")" && ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
      LSAN_OPTIONS=suppressions=$ROOT/tests/sanitizers/lsan.supp \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/sanitizers/tsan.supp \
      ctest --output-on-failure -j "${RR_SANITIZER_PARALLEL:-3}" -L "$labels") || { rc=$?; keep_digest "$(sanitizer_dir "$tier")"; }
done
wait_chaos
acct_summary
if [[ -s $digests ]]; then
  step "what the failed tests said (scripts/ctest-digest.sh)"
  cat "$digests" >&2
fi
step "done (exit $rc)"
exit "$rc"
