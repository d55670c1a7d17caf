#!/usr/bin/env bash
# Proves that a local control plane never outlives its owner:
#  1. owner killed -> the watchdog stops etcd and kube-apiserver within a bounded time;
#  2. owner and watchdog killed -> `kube-local.sh cleanup-stale` stops the instance;
#  3. a recorded pid that now belongs to a stranger process is never killed.
# Usage: stale_cleanup_test.sh DIR   (DIR: a scratch instance directory)
set -uo pipefail

DIR=${1:?usage: stale_cleanup_test.sh DIR}
KL=$(cd "$(dirname "$0")/../../scripts" && pwd)/kube-local.sh
STATE=${RR_KUBE_LOCAL_STATE:-/tmp/rr-kube-local}
# shellcheck source=../lib/checks.sh
source "$(dirname "$0")/../lib/checks.sh"
SLEEPS=()
cleanup() {
  local p
  for p in "${SLEEPS[@]+"${SLEEPS[@]}"}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  "$KL" stop "$DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT

owner() { sleep 300 & SLEEPS+=($!); OWNER=$!; }
pid_of() { awk -v n="$1" '$1==n {print $2}' "$DIR/pids"; }
# alive PID...: 0 when any of the pids runs (a zombie has an empty cmdline)
alive() {
  local p
  for p in "$@"; do [[ -n $(tr -d '\0' <"/proc/$p/cmdline" 2>/dev/null) ]] && return 0; done
  return 1
}
# wait_gone SECONDS PID...: 0 when none of the pids runs any more
wait_gone() {
  local n=$(($1 * 10)); shift
  while ((n-- > 0)); do alive "$@" || return 0; sleep 0.1; done
  return 1
}
start() {
  "$KL" start "$DIR" --replace --owner-pid "$OWNER" >/dev/null || { fail "kube-local.sh start $DIR"; exit 1; }
  ETCD=$(pid_of etcd) API=$(pid_of kube-apiserver) WD=$(pid_of watchdog)
  ID=$(basename "$(grep -lx "$DIR" "$STATE"/instances/*/dir | head -1 | xargs dirname)")
  if alive "$ETCD" && alive "$API" && alive "$WD"; then
    pass "instance up: etcd $ETCD, kube-apiserver $API, watchdog $WD, owner $OWNER"
  else
    fail "instance not fully up (etcd $ETCD, kube-apiserver $API, watchdog $WD)"; exit 1
  fi
}

# ---------------------------------------------------------------- 1. watchdog
owner; start
t0=$(date +%s%3N)
kill -9 "$OWNER"
if wait_gone 20 "$ETCD" "$API" "$WD"; then
  pass "owner killed: etcd and kube-apiserver gone after $(( $(date +%s%3N) - t0 )) ms (watchdog)"
else
  fail "owner killed 20 s ago, still running: $(ps -o pid=,args= -p "$ETCD,$API,$WD" | cut -c1-80)"
fi
for _ in $(seq 50); do [[ -e $DIR || -e $STATE/instances/$ID ]] || break; sleep 0.1; done
[[ ! -e $DIR && ! -e $STATE/instances/$ID ]] && pass "instance directory and registry entry removed" \
  || fail "left behind: $(ls -d "$DIR" "$STATE/instances/$ID" 2>/dev/null)"

# ---------------------------------------------------------------- 2. cleanup-stale
owner; start
kill -9 "$WD" "$OWNER"
sleep 2
if alive "$ETCD" && alive "$API"; then
  pass "watchdog and owner killed: the instance is orphaned (as expected without a watchdog)"
else
  fail "instance died without its watchdog?"
fi
# 3. a stranger that took over a recorded pid: record it as this instance's controller manager.
sleep 300 & SLEEPS+=($!); STRANGER=$!
echo "kube-controller-manager $STRANGER" >>"$STATE/instances/$ID/pids"
"$KL" cleanup-stale
if ! alive "$ETCD" && ! alive "$API"; then pass "cleanup-stale stopped the orphaned etcd and kube-apiserver"
else fail "cleanup-stale left: $(ps -o pid=,args= -p "$ETCD,$API" | cut -c1-80)"; fi
[[ ! -e $DIR && ! -e $STATE/instances/$ID ]] && pass "cleanup-stale removed the directory and registry entry" \
  || fail "cleanup-stale left: $(ls -d "$DIR" "$STATE/instances/$ID" 2>/dev/null)"
alive "$STRANGER" && pass "a stranger process under a recorded pid survived" \
  || fail "cleanup-stale killed the stranger pid $STRANGER"

echo "stale_cleanup: $FAILS failure(s)"
((FAILS == 0))
