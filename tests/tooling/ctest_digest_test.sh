#!/usr/bin/env bash
# scripts/ctest-digest.sh, which CI prints at the end of a run, on a ctest run of its own: a
# failed fixture setup shows with its FAIL line and output, the test that needed it as not run
# (ctest logs it as an empty "Test Passed." run), and a passed test not at all.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/checks.sh
source "$ROOT/tests/lib/checks.sh"
WORK=$(mktemp -d /tmp/rr-digest-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(digest NONE)
enable_testing()
add_test(NAME fx.start COMMAND sh -c "echo starting the fixture; echo 'FAIL: the image seed is gone'; exit 1")
set_tests_properties(fx.start PROPERTIES FIXTURES_SETUP fx)
add_test(NAME fx.use COMMAND sh -c "echo used")
set_tests_properties(fx.use PROPERTIES FIXTURES_REQUIRED fx)
add_test(NAME alone COMMAND sh -c "echo fine")
CMAKE
cmake -S "$WORK" -B "$WORK/b" >/dev/null && (cd "$WORK/b" && ctest >/dev/null 2>&1)
out=$(bash "$ROOT/scripts/ctest-digest.sh" "$WORK/b" 2>&1); rc=$?
echo "$out" | sed 's/^/  digest: /'
has() { grep -qF -- "$1" <<<"$out"; }
if ((rc == 0)) && has "---- fx.start (Test Failed.)" && has "   ! FAIL: the image seed is gone" &&
   has "   | starting the fixture"; then
  pass "the failed setup shows with its FAIL line and its last lines"
else fail "the failed setup (exit $rc)"; fi
if has "---- fx.use (Not Run: Failed test dependencies: fx.start)" && ! grep -q "Test Passed" <<<"$out"; then
  pass "the test that needed it shows as not run, naming the failed setup"
else fail "the test that was not run"; fi
if ! has "alone"; then pass "a passed test is not shown"; else fail "the passed test 'alone' is shown"; fi

tally ctest_digest_test.sh
