#!/usr/bin/env bash
# Lifecycle of scripts/kube-cluster.sh: a one-node cluster whose owner dies is stopped by
# its watchdog, and stopping leaves nothing of its slot behind (processes, network
# namespaces, links, routes, cgroups, mounts, runtime directories); `import` loads an
# archive into the node's containerd while it runs.
# One PASS/FAIL line per check; exit 1 on any failure.
#
#   lifecycle_test.sh WORKDIR
set -uo pipefail

WORK=${1:?usage: lifecycle_test.sh WORKDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLUSTER=$ROOT/scripts/kube-cluster.sh
# shellcheck source=../lib/checks.sh
source "$(dirname "$0")/../lib/checks.sh"

rm -rf "$WORK"; mkdir -p "$WORK"
DIR=$WORK/cluster
OWNER_PID=""
LEAK=/var/lib/rr-kube-cluster/lifecycle-leak-$$/mnt/log-pods  # planted below
cleanup() {
  [[ -n $OWNER_PID ]] && kill "$OWNER_PID" 2>/dev/null
  "$CLUSTER" stop "$DIR" --keep-logs >/dev/null 2>&1
  rm -rf "${LEAK%/mnt/log-pods}"
}
trap cleanup EXIT

# Everything on the host that names slot K or lies in its subnet.
slot_state() {  # slot_state K
  local k=$1 net=10.$((200 + $1))
  ip netns list 2>/dev/null | grep "^rrc$k-"
  ip -o link show | grep -o "rrc$k-[^:@ ]*"
  ip -4 route show | grep "^${net//./\\.}\\."
  ls -d /sys/fs/cgroup/*/rrc"$k"-* 2>/dev/null
  grep -h "rr-kube-cluster/c$k/\|$DIR/" /proc/self/mountinfo 2>/dev/null
  ls -d "/var/lib/rr-kube-cluster/c$k" 2>/dev/null
  pgrep -af "$DIR/" 2>/dev/null
}

# A node's /var/log/pods left bound on the host by an earlier run, its source deleted (seen in a
# CI run): every node start failed on it ("mount(2) system call failed: No such file"). A start
# takes it off the host first.
mkdir -p "$LEAK" && mount --bind "$LEAK" /var/log/pods && rm -rf "${LEAK%/mnt/log-pods}"

# The owner: a process we can kill.
sleep 3600 &
OWNER_PID=$!
if "$CLUSTER" start "$DIR" --nodes 1 --owner-pid "$OWNER_PID" >"$WORK/start.out" 2>"$WORK/start.err"; then
  pass "a one-node cluster started"
  # The mount is the host's: a cluster that starts beside this one (ctest runs them side by
  # side) may be the one that takes it off, and then this start finds nothing to do.
  if grep -q "rr-kube-cluster/lifecycle-leak" /proc/self/mountinfo; then
    fail "the leaked /var/log/pods mount is still there: $(grep " /var/log/pods " /proc/self/mountinfo)"
  elif grep -q "unmounting /var/log/pods from the host" "$WORK/start.err"; then
    pass "a node directory left mounted on the host by an earlier run was unmounted first"
  else
    pass "a node directory left mounted on the host was gone before this start (another cluster's start took it off)"
  fi
else
  fail "start failed: $(tail -n 20 "$WORK/start.err")"
  exit 1
fi
# shellcheck disable=SC1091
source "$DIR/env"
K=$RR_CLUSTER_SLOT
during=$(slot_state "$K")
if grep -q "^rrc$K-n1" <<<"$during" && grep -q "/sys/fs/cgroup/pids/rrc$K-n1" <<<"$during"; then
  pass "slot $K holds node-1's network namespace and cgroup while running"
else fail "slot $K's resources not found while running: $during"; fi

# import: a fresh tag of the pause archive appears in the node's containerd.
TAG=localhost/rr-lifecycle-import:$RANDOM
SRC=$(sed -n 's/^RR_PAUSE_TAR=//p' < <("$ROOT/scripts/kube-images.sh" base 2>/dev/null))
mkdir -p "$WORK/img" && tar -C "$WORK/img" -xf "$SRC" &&
  jq --arg n "$TAG" '.manifests |= map(.annotations["io.containerd.image.name"] = $n)' "$WORK/img/index.json" >"$WORK/index.json" &&
  mv "$WORK/index.json" "$WORK/img/index.json" && tar -C "$WORK/img" -cf "$WORK/import.tar" .
if "$CLUSTER" import "$DIR" "$WORK/import.tar" >/dev/null 2>"$WORK/import.err" &&
   images=$(ctr --address "$RR_CLUSTER_NODE_1_CONTAINERD" -n k8s.io images ls -q) &&
   grep -qx "$TAG" <<<"$images"; then
  pass "import loaded $TAG into node-1's containerd"
else fail "import of $TAG: $(cat "$WORK/import.err")"; fi

# The node started from the image seed (kube-cluster.sh): the base images are in its containerd,
# unpacked; its layers are hard links of the seed's, its databases its own copies.
SEED=$(cat "$DIR/image-seed" 2>/dev/null)
NODE_ROOT=${RR_CLUSTER_NODE_1_CONTAINERD%/containerd.sock}/containerd/root
check_out=$(ctr --address "$RR_CLUSTER_NODE_1_CONTAINERD" -n k8s.io images check 2>&1)
unpacked() { awk -v r="$1" '$1 == r && $4 == "complete" && $NF == "true"' <<<"$check_out" | grep -q .; }
if unpacked "$RR_CLUSTER_PAUSE_IMAGE" && unpacked "$RR_CLUSTER_TOOLBOX_IMAGE"; then
  pass "node-1 has the pause and toolbox images, complete and unpacked"
else fail "node-1's images: $check_out"; fi
inode() { stat -c %i "$1" 2>/dev/null; }
shared=$(find "$NODE_ROOT/io.containerd.content.v1.content/blobs" -type f -links +1 2>/dev/null | wc -l)
db=io.containerd.metadata.v1.bolt/meta.db
if [[ -n $SEED && -f $SEED/$db && -f $NODE_ROOT/$db ]] && ((shared > 0)) &&
   [[ $(inode "$SEED/$db") != "$(inode "$NODE_ROOT/$db")" ]]; then
  pass "node-1's root shares $shared blobs with the image seed $SEED, and has its own databases"
else fail "node-1's root against the seed '$SEED': $shared shared blobs, meta.db inodes $(inode "$SEED/$db") and $(inode "$NODE_ROOT/$db")"; fi

# A kubelet that dies on its own is restarted, as systemd does on a real node; one that
# kubelet-stop holds down stays down for as long as it is held.
kubelet_pid() { pgrep -f -- "--root-dir=/var/lib/rr-kube-cluster/c$K/node-1/kubelet " | while read -r p; do
  [[ $(cat "/proc/$p/comm" 2>/dev/null) == kubelet ]] && echo "$p"; done; }
rounds() { cat "$DIR/logs/watchdog.rounds" 2>/dev/null || echo 0; }
restarts() { grep -c "kubelet exited" "$DIR/nodes/node-1/logs/restarts.log" 2>/dev/null || echo 0; }
first=$(kubelet_pid)
if [[ -n $first ]] && kill -KILL "$first"; then
  n=0; until { p=$(kubelet_pid); [[ -n $p && $p != "$first" ]]; } || ((n++ > 120)); do sleep 0.5; done
  if [[ -n $p && $p != "$first" ]] && (($(restarts) == 1)); then
    pass "a killed kubelet was restarted by the watchdog (pid $first -> $p), and the restart logged"
  else fail "after kill -9 of kubelet $first: kubelet '$p', restarts logged $(restarts)"; fi
else fail "no kubelet of node-1 found to kill"; fi
if "$CLUSTER" kubelet-stop "$DIR" node-1 >/dev/null 2>"$WORK/kstop.err"; then
  r0=$(rounds); n=0
  until (($(rounds) >= r0 + 3)) || ((n++ > 120)); do sleep 0.5; done
  if (($(rounds) >= r0 + 3)) && [[ -z $(kubelet_pid) ]] && (($(restarts) == 1)); then
    pass "a kubelet held by kubelet-stop stayed down through $(($(rounds) - r0)) watchdog rounds"
  else fail "held kubelet: rounds $r0 -> $(rounds), kubelet '$(kubelet_pid)', restarts $(restarts)"; fi
  # kubelet-start returns once the kubelet is spawned; its process is named kubelet only once
  # the node's launcher has exec'ed it (seen to lag on a loaded machine): bounded wait.
  if "$CLUSTER" kubelet-start "$DIR" node-1 >/dev/null 2>"$WORK/kstart.err"; then
    deadline=$((SECONDS + 30)); until [[ -n $(kubelet_pid) ]] || ((SECONDS >= deadline)); do sleep 0.25; done
    if [[ -n $(kubelet_pid) ]]; then pass "kubelet-start brought it back"
    else fail "kubelet-start: no kubelet process 30 s after: $(cat "$WORK/kstart.err")"; fi
  else fail "kubelet-start: $(cat "$WORK/kstart.err")"; fi
else fail "kubelet-stop: $(cat "$WORK/kstop.err")"; fi

# The owner dies: the watchdog stops the cluster.
kill "$OWNER_PID"; wait "$OWNER_PID" 2>/dev/null; OWNER_PID=""
stopped() { [[ ! -e /tmp/rr-kube-cluster/instances/$K && -z $(slot_state "$K") ]]; }
n=0; until stopped || ((n++ > 240)); do sleep 0.5; done
if stopped; then pass "the watchdog stopped the cluster after its owner died"
else fail "after the owner died, slot $K still holds: $(slot_state "$K" | head -20)"; fi
if [[ -f $DIR/logs/watchdog.log ]] && grep -q "is gone: stopping" "$DIR/logs/watchdog.log"; then
  pass "the watchdog logged why it stopped the cluster"
else fail "no watchdog log line in $DIR/logs/watchdog.log"; fi
if [[ -d $DIR/nodes/node-1/logs && ! -e $DIR/kubeconfig ]]; then pass "logs kept, credentials removed"
else fail "after the stop, $DIR holds: $(ls "$DIR" 2>&1)"; fi

tally lifecycle_test.sh
