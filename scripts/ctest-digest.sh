#!/usr/bin/env bash
# Prints what a failed test said, briefly, from the last ctest run in a build directory:
# for each test that did not pass, its failure lines (gtest's "Failure", sanitizer reports,
# "FAIL:" and "DETAIL:" of the shell tests) and the last lines of its output. scripts/test.sh prints this
# at the very end of a run, so the reason of a failure stays in view when only the tail of a
# long CI log is kept.
#
#   scripts/ctest-digest.sh BUILD_DIR [TAIL_LINES]
set -euo pipefail
log=$1/Testing/Temporary/LastTest.log
failed=$1/Testing/Temporary/LastTestsFailed.log   # "NUMBER:NAME" per failed test
tail_lines=${2:-25}
[[ -s $failed && -f $log ]] || exit 0
awk -v tail_lines="$tail_lines" -v tree="$1" '
  FNR == NR { sub(/^[0-9]+:/, ""); failed[$0] = 1; next }
  function flush(   i, first, shown) {
    if (!(name in failed)) return
    printf "---- %s (%s) in %s\n", name, status, tree
    shown = 0
    for (i = 1; i <= n && shown < 20; i++)
      if (out[i] ~ /Failure$|: Failure|FAIL:|DETAIL:|ERROR: (Address|Leak|Thread)Sanitizer|SUMMARY: |runtime error:|WARNING: ThreadSanitizer|Timeout|Expected|Which is|Value of/) {
        print "   ! " out[i]; shown++
      }
    if (n == 0) return
    first = n - tail_lines + 1; if (first < 1) first = 1
    print "   last lines:"
    for (i = first; i <= n; i++) print "   | " out[i]
  }
  # ctest logs a test it did not run (a fixture it needs failed) as an empty "Test Passed." run,
  # after a line naming what failed.
  /^Failed test dependencies: / { flush(); name = ""; not_run = "Not Run: " $0; next }
  /^[0-9]+\/[0-9]+ Test: / { flush(); name = $3; status = not_run; not_run = ""; n = 0; in_output = 0; next }
  /^Output:$/ { in_output = 1; getline; next }   # the dashes after it
  /^<end of output>$/ { in_output = 0; next }
  in_output { out[++n] = substr($0, 1, 300); next }
  /^Test (Passed|Failed)\.|^Test Fail Reason|^\*\*\*/ { if (status == "") status = $0 }
  /^Test time = / { next }
  END { flush() }
' "$failed" "$log"
