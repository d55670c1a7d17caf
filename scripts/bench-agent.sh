#!/usr/bin/env bash
# rr-agent's benchmarks (docs/benchmarks-agent.md says what each figure means):
#
#   render    bench/agent_render_bench (Google Benchmark): build_reflector_config +
#             render_bird_config for 100 / 1,000 / 5,000 clients, the agent's `bird -p`,
#             and `configure` on a real BIRD (its own, on 127.M.255.1:11179).
#   sessions  end to end: a control plane of its own (scripts/kube-local.sh), a fabric,
#             one rr-agent with the BIRD it spawns as the reflector, and ONE client BIRD
#             playing every Calico node; bench/agent_sessions_bench then adds nodes one
#             at a time (a) and 500 at once (b) and prints latencies, RSS and CPU.
#
#   scripts/bench-agent.sh [render] [sessions]      default: both
#
# Env: BUILD_DIR (default build), JOBS (2), REPS (Google Benchmark repetitions, 5;
#      medians are printed), RENDER_ARGS (extra flags for agent_render_bench),
#      SEQUENTIAL (100), BULK (500), THREADS (8 writers), POLL_MS (20), KEEP=1 keeps
#      the work dir (logs, configs) for a post-mortem, DOWN (10: sessions taken down and up
#      on the client side after the bulk, part c), AGENT_ARGS (extra rr-agent flags, e.g.
#      "--session-resync 2s" to read every session on every poll, as before BIRD's log was read).
# Exit status: non-zero only when the setup fails, never because a figure is slow.
#
# The client BIRD: one `protocol bgp` per simulated node, each with its own local address
# 127.N.(i/250).(i%250+1) port 11179 and `strict bind` (without it BIRD binds 0.0.0.0:11179,
# which the reflector's 127.N.255.1:11179 already excludes). Its sessions are passive and
# each names a different (unused) neighbor port: BIRD serialises the protocols of one
# process that share a neighbor address and port (one object lock per neighbor endpoint),
# so 500 protocols to the same reflector endpoint would come up one at a time, the others
# left Idle. The reflector, which matches incoming sessions by address only, connects to
# each of them after its connect delay (1 s here: BIRD's minimum).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
JOBS=${JOBS:-2}
REPS=${REPS:-5}
SEQUENTIAL=${SEQUENTIAL:-100}
BULK=${BULK:-500}
THREADS=${THREADS:-8}
POLL_MS=${POLL_MS:-20}
BIRD=${BIRD:-/usr/sbin/bird}
PORT=11179
cd "$ROOT"

run() {
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
  "$@"
}
die() { echo "bench-agent: $*" >&2; exit 1; }

want_render=0 want_sessions=0
(($#)) || set -- render sessions
for a in "$@"; do
  case $a in
    render) want_render=1 ;;
    sessions) want_sessions=1 ;;
    *) echo "usage: scripts/bench-agent.sh [render] [sessions]" >&2; exit 2 ;;
  esac
done
[[ -x $BIRD ]] || die "no BIRD at $BIRD"

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), $($BIRD --version 2>&1)" >&2

if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  run cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
targets=()
((want_render)) && targets+=(agent_render_bench)
((want_sessions)) && targets+=(agent_sessions_bench rr-agent)
run cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}"

if ((want_render)); then
  # shellcheck disable=SC2086  # RENDER_ARGS is a list of flags
  run "$BUILD_DIR/bench/agent_render_bench" --benchmark_color=false --benchmark_repetitions="$REPS" \
    --benchmark_report_aggregates_only=true ${RENDER_ARGS:-} | grep -E '^(---|Benchmark|BM_.*_median|Run|CPU|Load)' || true
fi

((want_sessions)) || exit 0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rr-bench-agent.XXXXXX")
CP_DIR=$WORK/cp
AGENT_PID='' CLIENT_PID=''

# Stops what this script started, by pid: the agent (which stops its BIRD), the client
# BIRD, the control plane.
stop_pid() {  # stop_pid PID NAME GRACE_SECONDS
  local pid=$1 name=$2 grace=$3 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "bench-agent: $name ($pid) ignored SIGTERM for ${grace}s; SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local bird_child=''
  [[ -n $AGENT_PID ]] && bird_child=$(cat /proc/"$AGENT_PID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+$' || true)
  stop_pid "$AGENT_PID" rr-agent 15
  for p in $bird_child; do  # only if the agent did not reap it (it normally does)
    [[ $(cat /proc/"$p"/comm 2>/dev/null) == bird ]] && stop_pid "$p" "reflector BIRD" 5
  done
  stop_pid "$CLIENT_PID" "client BIRD" 10
  if [[ -f $CP_DIR/env ]]; then
    run "$ROOT/scripts/kube-local.sh" stop "$CP_DIR" >/dev/null 2>&1 || true
  fi
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "bench-agent: work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run "$ROOT/scripts/kube-local.sh" start "$CP_DIR" --owner-pid $$ >/dev/null
# shellcheck disable=SC1091
source "$CP_DIR/env"
KUBECTL="$RR_KUBECTL --kubeconfig $KUBECONFIG"

# 127.N.x.y of this run; N from the pid, unless given.
N=${RR_BENCH_OCTET:-$((100 + $$ % 150))}
REFLECTOR=127.$N.255.1
NS=rr-bench

run $KUBECTL apply -f "$ROOT/crds/rr.bgp.dev_routereflectorclusters.yaml" >/dev/null
run $KUBECTL wait --for condition=established --timeout=60s crd --all >/dev/null
run $KUBECTL create namespace "$NS" >/dev/null
cat >"$WORK/fabric.yaml" <<EOF
apiVersion: rr.bgp.dev/v1alpha1
kind: RouteReflectorCluster
metadata:
  name: bench
spec:
  namespace: $NS
  nodeSelector:
    rr-bench: "1"
  reflectors:
    port: $PORT
  lease:
    durationSeconds: 15
  bgp:
    holdTimeSeconds: 9
    keepaliveSeconds: 3
EOF
run $KUBECTL apply -f "$WORK/fabric.yaml" >/dev/null

# The client BIRD: every node the bench will create (a: 0..SEQUENTIAL-1, b: 0..BULK-1).
CLIENTS=$((SEQUENTIAL > BULK ? SEQUENTIAL : BULK))
mkdir -p "$WORK/client" "$WORK/agent"
{
  echo "router id 127.$N.254.254;"
  echo "log stderr all;"
  echo "protocol device {}"
  for ((i = 0; i < CLIENTS; i++)); do
    addr=127.$N.$((i / 250)).$((i % 250 + 1))
    echo "protocol bgp sim$i { router id $addr; local $addr port $PORT as 64512; strict bind yes; passive on;" \
      "neighbor $REFLECTOR port $((20000 + i)) as 64512; hold time 9; keepalive time 3; ipv4 { import none; export none; }; }"
  done
} >"$WORK/client/bird.conf"
run "$BIRD" -p -c "$WORK/client/bird.conf" || die "the client BIRD config does not parse"
"$BIRD" -f -c "$WORK/client/bird.conf" -s "$WORK/client/bird.ctl" 2>"$WORK/client/bird.log" &
CLIENT_PID=$!
for ((i = 0; i < 100; i++)); do [[ -S $WORK/client/bird.ctl ]] && break; sleep 0.1; done
[[ -S $WORK/client/bird.ctl ]] || die "the client BIRD did not start: $(cat "$WORK/client/bird.log")"

# The reflector: rr-agent with the BIRD it spawns; production timers except the
# connect/error ones (BIRD's minimum connect delay, 1 s).
# shellcheck disable=SC2086  # AGENT_ARGS is a list of flags
env RR_POD_NAME=rr-bench-a RR_NAMESPACE=$NS RR_NODE_NAME=host-rr-bench-a RR_HOST_IP="$REFLECTOR" \
  RR_FABRIC=bench RR_RACK=rack-a RR_CLUSTER_ID=10.255.0.1 RR_BGP_PORT=$PORT RR_LEASE_DURATION_SECONDS=15 \
  "$BUILD_DIR/reflector/rr-agent" --kubeconfig "$KUBECONFIG" --metrics-address 127.0.0.1:0 \
  --bird-binary "$BIRD" --bird-config "$WORK/agent/bird.conf" --bird-socket "$WORK/agent/bird.ctl" \
  --scratch-dir "$WORK/agent" \
  --client-port $PORT --connect-retry-seconds 1 --connect-delay-seconds 1 \
  --error-wait-min-seconds 1 --error-wait-max-seconds 2 ${AGENT_ARGS:-} >"$WORK/agent/agent.log" 2>&1 &
AGENT_PID=$!
echo "+ rr-agent pid $AGENT_PID, reflector $REFLECTOR:$PORT, client BIRD pid $CLIENT_PID ($CLIENTS sessions)" >&2
# Ready: BIRD runs a config built from the API (the first rebuild logs "BIRD reconfigured"
# only when it adds a peer, so wait for the Lease the agent creates instead).
for ((i = 0; i < 300; i++)); do
  kill -0 "$AGENT_PID" 2>/dev/null || die "rr-agent exited: $(tail -20 "$WORK/agent/agent.log")"
  [[ -S $WORK/agent/bird.ctl ]] && $KUBECTL -n "$NS" get lease rr-bench-a >/dev/null 2>&1 && break
  sleep 0.1
done
[[ -S $WORK/agent/bird.ctl ]] || die "the agent's BIRD did not start: $(tail -20 "$WORK/agent/agent.log")"
sleep 2  # let the first rebuilds settle

run "$BUILD_DIR/bench/agent_sessions_bench" --kubeconfig "$KUBECONFIG" --socket "$WORK/agent/bird.ctl" \
  --octet "$N" --agent-pid "$AGENT_PID" --agent-log "$WORK/agent/agent.log" --sequential "$SEQUENTIAL" \
  --bulk "$BULK" --threads "$THREADS" --poll-ms "$POLL_MS" --label rr-bench=1 --rack-label-value rack-a \
  --client-socket "$WORK/client/bird.ctl" --down-samples "${DOWN:-10}"
echo "  client BIRD ($CLIENTS protocols) VmRSS $(awk '/VmRSS/ {print $2, $3}' /proc/$CLIENT_PID/status)"
unknown=$(grep -c "Unexpected connect" "$WORK/agent/agent.log" || true)
echo "  reflector BIRD log: $unknown 'Unexpected connect from unknown address' line(s)"
