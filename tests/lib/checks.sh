# Sourced by the shell test suites: PASS/FAIL lines with tallies, kubectl with
# bounded time ($K is the kubectl binary), and raw API calls to the local control
# plane ($RR_KUBE_SERVER, $RR_KUBE_CA; the admin token unless API_TOKEN is set).
# shellcheck shell=bash
FAILS=0
PASSES=0
FAILED_CHECKS=()
pass() { echo "PASS: $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); FAILED_CHECKS+=("$*"); }
# tally SUITE: the last lines of a suite's output (what a CI log keeps): its counts, then every
# failed check again. Returns non-zero when one failed.
tally() {
  echo "$1: $PASSES passed, $FAILS failed"
  local f
  for f in "${FAILED_CHECKS[@]}"; do echo "  failed: ${f:0:300}"; done
  ((FAILS == 0))
}
kc() { timeout 30 "$K" --request-timeout=20s "$@"; }
# api METHOD PATH [CONTENT-TYPE] [BODY]: prints the body, then the status code on its own line.
api() {
  local method=$1 path=$2 ctype=${3:-application/json} body=${4:-}
  local args=(-sS --max-time 20 --cacert "$RR_KUBE_CA" -H "Authorization: Bearer ${API_TOKEN:-$RR_KUBE_ADMIN_TOKEN}"
              -X "$method" -w '\n%{http_code}\n')
  [[ -n $body ]] && args+=(-H "Content-Type: $ctype" --data-binary "$body")
  curl "${args[@]}" "$RR_KUBE_SERVER$path"
}
code_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
