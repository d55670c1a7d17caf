#!/usr/bin/env bash
# Polls the routes of every Calico node of a real cluster, round after round, until its
# parent exits or it is killed:
#
#   route_poller.sh OUT BIRDC NODE=NETNS=CIDR...
#
# Each round asks the calico-node stand-in's BIRD 1.6 on every node (found in the node's
# network namespace: a process `bird` whose parent is calico-node-standin, its control
# socket reached through /proc/PID/root) for its routes, and appends to OUT one line per
# node:  ROUND EPOCH-MS NODE OK COUNT  or  ROUND EPOCH-MS NODE MISS CIDR,...  where a MISS
# names the other nodes' pod CIDRs it lacks (or "no-bird"/"birdc-failed"). The caller
# appends its own "# ..." marker lines to OUT; appends of one short line do not interleave.
# RR_ROUTE_POLL_PAUSE: seconds between rounds (default 1).
set -uo pipefail
OUT=${1:?usage: route_poller.sh OUT BIRDC NODE=NETNS=CIDR...}
BIRDC=${2:?}
shift 2
PARENT=$PPID
declare -a NAMES=() NETNS=() CIDRS=()
for spec in "$@"; do
  IFS== read -r name ns cidr <<<"$spec"
  NAMES+=("$name"); NETNS+=("$ns"); CIDRS+=("$cidr")
done
declare -A BIRD_PID=()
SHOWN=$OUT.birdc  # the last answer, beside OUT (its caller's scratch directory)

# Builtins only, into REPLY: every round reads them for every node.
comm_of() { REPLY=; { read -r REPLY <"/proc/$1/comm"; } 2>/dev/null; }
ppid_of() {
  local s f; { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  read -r -a f <<<"${s##*) }"; REPLY=${f[1]}
}
# standin_bird_pid PID: PID is BIRD and its parent the calico-node stand-in.
standin_bird_pid() {
  comm_of "$1"; [[ $REPLY == bird ]] || return 1
  ppid_of "$1" || return 1
  comm_of "$REPLY"; [[ $REPLY == calico-node-sta* ]]
}
# The stand-in's BIRD in NETNS into FOUND (a reflector's BIRD 2 may share the namespace: its
# parent is rr-agent). Not a command substitution: the cache must outlive the call.
standin_bird() {
  local ns=$1 pid cached=${BIRD_PID[$1]:-}
  FOUND=
  if [[ -n $cached ]] && standin_bird_pid "$cached"; then
    FOUND=$cached; return 0
  fi
  for pid in $(ip netns pids "$ns" 2>/dev/null); do
    standin_bird_pid "$pid" || continue
    BIRD_PID[$ns]=$pid; FOUND=$pid; return 0
  done
  return 1
}

round=0
while kill -0 "$PARENT" 2>/dev/null; do
  round=$((round + 1))
  lines=""
  for i in "${!NAMES[@]}"; do
    now=${EPOCHREALTIME/./}; now=${now:0:-3}
    if ! standin_bird "${NETNS[i]}"; then
      lines+="$round $now ${NAMES[i]} MISS no-bird"$'\n'; continue
    fi
    pid=$FOUND
    # Into a file and read with builtins: a command substitution and an awk were three more
    # processes per node per round, and a process costs milliseconds of CPU here.
    if ! timeout 5 "$BIRDC" -s "/proc/$pid/root/run/bird/bird.ctl" show route >"$SHOWN" 2>&1; then
      lines+="$round $now ${NAMES[i]} MISS birdc-failed"$'\n'; continue
    fi
    have=" "
    while read -r first _; do [[ $first == [0-9]* ]] && have+="$first "; done <"$SHOWN"
    missing="" count=0
    for j in "${!NAMES[@]}"; do
      ((j == i)) && continue
      if [[ $have == *" ${CIDRS[j]} "* ]]; then count=$((count + 1)); else missing+="${missing:+,}${CIDRS[j]}"; fi
    done
    if [[ -z $missing ]]; then lines+="$round $now ${NAMES[i]} OK $count"$'\n'
    else lines+="$round $now ${NAMES[i]} MISS $missing"$'\n'; fi
  done
  printf '%s' "$lines" >>"$OUT"
  # A round asks every node. Paused 0.2 s, rounds came 0.75 s apart on an idle machine and the
  # poller (then five processes per node per round) took a tenth of a chaos run's CPU; a route
  # lost with both of a rack's reflectors stays lost until a session is up again, seconds,
  # which rounds a second apart still see.
  sleep "${RR_ROUTE_POLL_PAUSE:-1}"
done
