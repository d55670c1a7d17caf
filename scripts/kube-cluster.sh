#!/usr/bin/env bash
# kube-cluster.sh: a real multi-node Kubernetes v1.20.2 cluster on this machine, for
# end-to-end tests. The control plane is scripts/kube-local.sh's (etcd, kube-apiserver,
# kube-controller-manager with node lifecycle, kube-scheduler), served on a host bridge
# address; each node is a network namespace on that bridge with its own mount namespace,
# cgroup root, containerd (runc, overlayfs, cgroupfs), CNI bridge, kubelet (its own
# credentials: CN=system:node:<name>, O=system:nodes) and kube-proxy (iptables).
# Several clusters run at once (each takes a free slot K: bridge rrcK-br, subnet
# 10.(200+K).0.0/16, network namespaces rrcK-nI); none outlives its owner.
#
#   start DIR [--nodes N] [--racks R] [--reflectors-per-rack M] [--owner-pid PID]
#             [--replace] [--timeout S] [--kcm-arg ARG]... [--apiserver-arg ARG]...
#       N nodes (default 4) node-1..node-N; node I is in rack ((I-1) mod R)+1 (label
#       topology.kubernetes.io/rack=rack-<r>; R defaults to 3, or N when N < 3), and the
#       first M nodes of each rack (default 1) are labelled rr.bgp.dev/reflector=true.
#       So 4 nodes: rack-1 = node-1 (reflector host) + node-4, rack-2 = node-2 (reflector
#       host), rack-3 = node-3 (reflector host). Every node starts with the base images
#       (scripts/kube-images.sh) and every ${RR_CACHE_DIR:-/var/cache/rr-operator}/images/*.tar
#       (imported once into an image seed, hard-linked into each node), waits until every Node is Ready and untainted and the default
#       ServiceAccount exists, and prints DIR/env. The owner defaults to the parent
#       process; a watchdog stops the cluster within ~1 s of the owner's death, and
#       restarts a node's kubelet or kube-proxy that exits on its own (as systemd would).
#   stop DIR [--keep-logs]   stop everything start made (processes, mounts, network
#                            namespaces, cgroups, bridge, routes), remove DIR
#   import DIR TAR...        import image archives (docker-archive or OCI) into every node
#   kubelet-stop DIR NODE    stop NODE's kubelet only (held down until kubelet-start): its
#                            containers keep running and the Node goes NotReady after the
#                            node monitor's grace period
#   kubelet-start DIR NODE   start it again with the same configuration
#   env DIR                  print DIR/env
#   cleanup-stale            stop every registered cluster whose owner is dead
#
# Addresses (slot K, NET=10.(200+K)): host bridge NET.0.1/24 (the apiserver listens
# there), node I eth0 NET.0.(10+I), node I's pods NET.I.0/24 (CNI bridge cni0 inside the
# node, host-local IPAM). Nodes route each other's pod ranges directly (no overlay) and
# have no default route (offline: look-ups fail at once instead of timing out); the host
# routes each pod range to its node so the apiserver answers pods. Services: 10.96.0.0/16.
# DIR layout: env, kubeconfig (admin), kube-proxy.kubeconfig, cp/ (the kube-local.sh
# instance), nodes/<node>/{kubeconfig (the node's own credentials), pki/, logs/, *.yaml,
# *.toml}, logs/. Runtime state (containerd roots, kubelet root, sockets) lives under
# /var/lib/rr-kube-cluster/cK/<node> (short paths for Unix sockets).
# DIR/env (sourceable) exports what cp/env does (RR_KUBE_*), with KUBECONFIG=DIR/kubeconfig, and
# RR_CLUSTER_DIR, RR_CLUSTER_APISERVER (node-facing URL), RR_CLUSTER_SLOT, RR_CLUSTER_BRIDGE,
# RR_CLUSTER_SUBNET, RR_CLUSTER_NODES (names), RR_CLUSTER_NODE_IPS (same order),
# RR_CLUSTER_PAUSE_IMAGE, RR_CLUSTER_TOOLBOX_IMAGE, and per node I (1..N):
# RR_CLUSTER_NODE_<I>_{NAME,IP,RACK,REFLECTOR,POD_CIDR,NETNS,KUBECONFIG,CONTAINERD}.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPTS=$(dirname "$SELF")
STATE=${RR_KUBE_CLUSTER_STATE:-/tmp/rr-kube-cluster}
REG=$STATE/instances
RUNTIME_ROOT=/var/lib/rr-kube-cluster
MARKER=.rr-kube-cluster
MAX_SLOTS=50
CACHE_ROOT=${RR_CACHE_DIR:-/var/cache/rr-operator}
KCM_CONTROLLERS='*,-nodeipam,-cloud-node-lifecycle,-route,-service,-ttl,-attachdetach,-persistentvolume-binder,-persistentvolume-expander,-pv-protection,-pvc-protection,-ephemeral-volume,-horizontalpodautoscaling,-csrsigning,-csrapproving'

log() { echo "kube-cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }
now_ms() { date +%s%3N; }

abs_dir() {
  [[ -n ${1:-} ]] || die "missing DIR"
  local d; d=$(readlink -m -- "$1")
  [[ $d != / && $d =~ ^/[A-Za-z0-9._/+@=-]+$ ]] || die "unsupported DIR '$1' (use a plain path)"
  echo "$d"
}

# ---------------------------------------------------------------- names of slot K
net_of() { echo "10.$((200 + $1))"; }
bridge_of() { echo "rrc$1-br"; }
netns_of() { echo "rrc$1-n$2"; }              # netns_of K I
veth_of() { echo "rrc$1-v$2"; }
cgroup_of() { echo "rrc$1-n$2"; }
runtime_of() { echo "$RUNTIME_ROOT/c$1/node-$2"; }

# ---------------------------------------------------------------- processes
# The watchdog checks every node's daemons every second, so what it calls uses shell builtins
# only: a process per check, over the 30 nodes of a CI run's clusters, was hundreds of forks a
# second (process accounting: 214,000 processes in 7.6 minutes of the real-cluster tests).
# read_proc_start PID: PID's start time (field 22 of /proc/PID/stat) into REPLY; fails if
# PID is gone or a zombie.
read_proc_start() {
  local stat fields
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  read -r -a fields <<<"$stat"
  [[ ${fields[0]} != [ZX] ]] || return 1
  REPLY=${fields[19]}
}
proc_start() { read_proc_start "$1" && echo "$REPLY"; }
owner_alive() {                          # owner_alive "PID STARTTIME"
  local pid start
  read -r pid start <<<"$1"
  [[ -n ${pid:-} ]] || return 1
  read_proc_start "$pid" || return 1
  [[ -z ${start:-} || $REPLY == "$start" ]]
}
# in_node_cgroup PID CGROUP: PID lives, in the node's pids cgroup or below it.
in_node_cgroup() {
  local line
  read_proc_start "$1" || return 1
  while IFS= read -r line; do
    [[ $line == *":pids:/$2" || $line == *":pids:/$2/"* ]] && return 0
  done 2>/dev/null <"/proc/$1/cgroup"
  return 1
}
close_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null || true
  done
}
detach() {                               # detach LOG CMD... ; $! is the daemon's pid
  local logf=$1; shift
  ( close_fds; exec setsid "$@" ) </dev/null >>"$logf" 2>&1 &
}

# ---------------------------------------------------------------- cgroups
# Every v1 hierarchy (and the v2 "unified" one of the hybrid layout): kubelet wants its
# --cgroup-root in each, and runc creates its directories in each.
hierarchies() {
  local h
  for h in /sys/fs/cgroup/*/; do [[ -f ${h}cgroup.procs ]] && echo "${h%/}"; done
}
cg_create() {                            # cg_create NAME
  local h
  for h in $(hierarchies); do
    mkdir -p "$h/$1"
    if [[ -f $h/cpuset.cpus ]]; then
      cat "$h/cpuset.cpus" >"$h/$1/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h/$1/cpuset.mems"
    fi
  done
}
# Every process of a node: its daemons are placed in the node's pids cgroup at start,
# and everything they start (shims, runc, containers) stays below it.
cg_pids() {                              # cg_pids NAME
  local d=/sys/fs/cgroup/pids/$1
  [[ -d $d ]] || return 0
  # Directories vanish while we walk (runc and kubelet remove theirs): never fail.
  { find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true; } | sort -u
}
cg_remove() {                            # cg_remove NAME
  local h
  for h in $(hierarchies); do
    [[ -d $h/$1 ]] && find "$h/$1" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [[ ! -d $h/$1 ]] || log "could not remove cgroup $h/$1"
  done
}
cg_kill_all() {                          # cg_kill_all NAME: SIGKILL until empty
  local i pids
  for i in $(seq 100); do
    pids=$(cg_pids "$1")
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  log "processes left in cgroup $1: $(cg_pids "$1" | tr '\n' ' ')"
}

# ---------------------------------------------------------------- registry and slots
# $REG/<K>/{dir,owner}: one entry per running cluster; K is also its network slot.
slot_free() {                            # slot_free K: no cluster, bridge or route uses it
  local k=$1 net; net=$(net_of "$k")
  [[ ! -e $REG/$k ]] || return 1
  ip link show "$(bridge_of "$k")" >/dev/null 2>&1 && return 1
  # Here-strings, not pipes: grep -q may close a pipe early and pipefail would hide the match.
  grep -q "^${net//./\\.}\\." <<<"$(ip -4 route show)" && return 1
  grep -q "inet ${net//./\\.}\\." <<<"$(ip -4 addr show)" && return 1
  grep -q "^rrc$k-" <<<"$(ip netns list 2>/dev/null)" && return 1
  return 0
}
alloc_slot() {                           # alloc_slot DIR OWNER -> K
  local dir=$1 owner=$2 k
  mkdir -p "$REG"
  exec 7>"$STATE/slots.lock"; flock -w 60 7 || die "timed out waiting for $STATE/slots.lock"
  for ((k = 0; k < MAX_SLOTS; k++)); do
    if slot_free "$k"; then
      mkdir -p "$REG/$k"
      echo "$dir" >"$REG/$k/dir"
      echo "$owner" >"$REG/$k/owner"
      exec 7>&-
      echo "$k"; return 0
    fi
  done
  exec 7>&-
  die "no free cluster slot (all $MAX_SLOTS in use)"
}
slot_of_dir() {                          # slot_of_dir DIR -> K (or nothing)
  local dir=$1 e
  if [[ -f $dir/slot ]]; then cat "$dir/slot"; return 0; fi
  for e in "$REG"/*/; do
    [[ -f $e/dir && $(cat "$e/dir") == "$dir" ]] && { basename "$e"; return 0; }
  done
  return 0
}
with_lock() {                            # with_lock DIR CMD...
  local dir=$1; shift
  mkdir -p "$STATE/locks"
  (
    flock -w 300 8 || die "timed out waiting for the lock of $dir"
    "$@"
  ) 8>"$STATE/locks/$(printf '%s' "$dir" | sha256sum | cut -c1-16).lock"
}

# ---------------------------------------------------------------- stop
stop_node() {                            # stop_node K I
  local k=$1 i=$2 cg ns rt pid p
  cg=$(cgroup_of "$k" "$i"); ns=$(netns_of "$k" "$i"); rt=$(runtime_of "$k" "$i")
  # kubelet and kube-proxy first, politely; then everything left in the node's cgroup
  # (containerd, shims, containers, the mount namespace's holder).
  for p in kubelet kube-proxy; do
    for pid in $(cat "$rt/pids" 2>/dev/null | awk -v n="$p" '$1==n {print $2}'); do
      grep -qx "$pid" <<<"$(cg_pids "$cg")" && kill -TERM "$pid" 2>/dev/null || true
    done
  done
  for _ in $(seq 30); do
    local alive=0
    for pid in $(awk '$1=="kubelet"||$1=="kube-proxy" {print $2}' "$rt/pids" 2>/dev/null); do
      grep -qx "$pid" <<<"$(cg_pids "$cg")" && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  cg_kill_all "$cg"
  cg_remove "$cg"
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$(veth_of "$k" "$i")" 2>/dev/null || true
  ip route del "$(net_of "$k").$i.0/24" 2>/dev/null || true
}

do_stop() {                              # do_stop DIR KEEP_LOGS
  local dir=$1 keep=$2 k
  k=$(slot_of_dir "$dir")
  if [[ -z $k ]]; then
    [[ -f $dir/$MARKER ]] && rm -rf "$dir"
    return 0
  fi
  local wd; wd=$(cat "$REG/$k/watchdog" 2>/dev/null || true)
  if [[ -n $wd ]] && [[ $(tr '\0' ' ' <"/proc/$wd/cmdline" 2>/dev/null) == *"__watchdog $dir "* ]]; then
    kill -TERM "$wd" 2>/dev/null || true
  fi
  # Every node of the slot, whether or not DIR still lists it.
  local node_ids=() i ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^rrc$k-n[0-9]*$" || true); do
    node_ids+=("${ns#rrc"$k"-n}")
  done
  for i in $(ls -d "$RUNTIME_ROOT/c$k"/node-* 2>/dev/null | sed 's/.*node-//'); do
    [[ " ${node_ids[*]-} " == *" $i "* ]] || node_ids+=("$i")
  done
  for i in $(ls -d /sys/fs/cgroup/pids/rrc"$k"-n* 2>/dev/null | sed 's/.*-n//'); do
    [[ " ${node_ids[*]-} " == *" $i "* ]] || node_ids+=("$i")
  done
  local pids=()
  for i in "${node_ids[@]+"${node_ids[@]}"}"; do stop_node "$k" "$i" & pids+=($!); done
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" || log "stopping a node of slot $k failed"; done
  if [[ -d $dir/cp ]]; then
    local keep_flag=(); [[ $keep == 1 ]] && keep_flag=(--keep-logs)
    "$SCRIPTS/kube-local.sh" stop "$dir/cp" "${keep_flag[@]+"${keep_flag[@]}"}" || true
  fi
  ip link del "$(bridge_of "$k")" 2>/dev/null || true
  rm -rf "${RUNTIME_ROOT:?}/c$k"
  rmdir "$RUNTIME_ROOT" 2>/dev/null || true
  if [[ -f $dir/$MARKER ]]; then
    if [[ $keep == 1 ]]; then
      find "$dir" -mindepth 1 -maxdepth 1 ! -name logs ! -name nodes ! -name cp ! -name "$MARKER" -exec rm -rf {} +
      find "$dir/nodes" -mindepth 2 -maxdepth 2 ! -name logs -exec rm -rf {} + 2>/dev/null || true
    else
      rm -rf "$dir"
    fi
  fi
  rm -rf "${REG:?}/$k"
  log "stopped $dir (slot $k)"
}
cmd_stop() {
  local dir keep=0
  dir=$(abs_dir "${1:-}"); shift
  while (($#)); do
    case $1 in --keep-logs) keep=1 ;; *) die "stop: unknown option $1" ;; esac; shift
  done
  with_lock "$dir" do_stop "$dir" "$keep"
}

cleanup_stale() {
  local e dir owner
  [[ -d $REG ]] || return 0
  for e in "$REG"/*/; do
    [[ -d $e ]] || continue
    dir=$(cat "$e/dir" 2>/dev/null || true)
    owner=$(cat "$e/owner" 2>/dev/null || true)
    [[ -n $dir ]] || { rm -rf "$e"; continue; }
    if ! owner_alive "$owner"; then
      log "stale cluster $dir (owner ${owner%% *} is gone): stopping it"
      with_lock "$dir" do_stop "$dir" 1 || true
    fi
  done
}

# The watchdog stops the cluster once its owner is gone, and restarts a node's kubelet or
# kube-proxy that exits on its own, as systemd's Restart=always does on a real node (a
# kubelet that crashes is restarted there; a test that wants a dead kubelet says so with
# kubelet-stop, which holds it down). Each restart is logged with the daemon's last fatal
# line, in logs/watchdog.log and in the node's logs/restarts.log.
cmd_watchdog() {                         # __watchdog DIR K (runs detached)
  local dir=$1 k=$2 owner round=0
  owner=$(cat "$REG/$k/owner" 2>/dev/null) || exit 0
  local registered
  while :; do
    registered=
    { read -r registered <"$REG/$k/dir"; } 2>/dev/null || true
    [[ $registered == "$dir" ]] || exit 0
    if ! owner_alive "$owner"; then
      echo "$(date -Is) owner ${owner%% *} is gone: stopping $dir"
      exec "$SELF" stop "$dir" --keep-logs
    fi
    supervise_nodes "$dir" "$k" || echo "$(date -Is) supervising the nodes failed; trying again"
    # Rounds done, for whoever must know that a round has passed since some event.
    echo $((++round)) >"$dir/logs/watchdog.rounds"
    sleep 1
  done
}
# fatal_lines LOG: the lines a Go daemon prints when it dies (panic, runtime throw, klog fatal).
fatal_lines() {
  grep -E '^(panic: |fatal error: |F[0-9]{4} )' "$1" 2>/dev/null | tail -n 3 || true
}
# supervise_nodes DIR K: restart every node daemon that was started, is not held, and is gone.
supervise_nodes() {
  local dir=$1 k=$2 nd i rt daemon
  [[ -f $dir/bin-dir && -f $dir/pause-image ]] || return 0
  local spawned name pid
  for nd in "$dir"/nodes/node-*; do
    [[ -d $nd ]] || continue
    i=${nd##*/node-}; rt=$RUNTIME_ROOT/c$k/node-$i
    spawned=" "
    while read -r name pid; do spawned+="$name "; done 2>/dev/null <"$rt/pids" || true
    for daemon in kubelet kube-proxy; do
      # Only what start_node already spawned, and never a kubelet that kubelet-stop holds.
      [[ $spawned == *" $daemon "* ]] || continue
      [[ $daemon == kubelet && -e $nd/kubelet.held ]] && continue
      daemon_gone "$k" "$i" "$daemon" || continue
      # Registry or owner gone meanwhile: a stop is under way; start nothing.
      [[ -d $REG/$k ]] || return 0
      local why; why=$(fatal_lines "$nd/logs/$daemon.log")
      echo "$(date -Is) node-$i: $daemon exited (${why:-no fatal line in its log}); restarting it" |
        tee -a "$nd/logs/restarts.log"
      NODE_DIR=$nd BIN_DIR=$(cat "$dir/bin-dir") PAUSE_IMAGE=$(cat "$dir/pause-image")
      echo "==== $(date -Is) restarted by the watchdog" >>"$nd/logs/$daemon.log"
      if [[ $daemon == kubelet ]]; then spawn_kubelet "$k" "$i"; else spawn_kube_proxy "$k" "$i"; fi
    done
  done
}

# ---------------------------------------------------------------- credentials
# sign_cert PKI-DIR NAME SUBJECT EXTENSIONS: an EC key and a certificate from the cluster CA.
sign_cert() {
  local ca=$1 out=$2 name=$3 subj=$4 ext=$5
  (
    umask 077
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$out/$name.key" -out "$out/$name.csr" -subj "$subj" 2>/dev/null
    printf '%s\n' "$ext" >"$out/$name.ext"
    openssl x509 -req -in "$out/$name.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial \
      -CAserial "$out/$name.srl" -days 3650 -extfile "$out/$name.ext" -out "$out/$name.crt" 2>/dev/null
    rm -f "$out/$name.csr" "$out/$name.ext" "$out/$name.srl"
    chmod 0644 "$out/$name.crt"
  )
}
CLIENT_EXT="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

write_kubeconfig() {                     # write_kubeconfig FILE SERVER CA CERT KEY
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kube-cluster
  cluster:
    server: $2
    certificate-authority: $3
contexts:
- name: kube-cluster
  context:
    cluster: kube-cluster
    user: kube-cluster-user
current-context: kube-cluster
users:
- name: kube-cluster-user
  user:
    client-certificate: $4
    client-key: $5
EOF
}

# ---------------------------------------------------------------- one node
# holder_of K I: the pid of node I's holder (the process whose mount namespace is the node's).
holder_of() { awk '$1=="holder" {pid = $2} END {print pid}' "$(runtime_of "$1" "$2")/pids"; }
# in_node K I CMD...: run CMD in node I's network and mount namespaces.
in_node() {
  local k=$1 i=$2; shift 2
  local holder; holder=$(holder_of "$k" "$i")
  nsenter --mount="/proc/$holder/ns/mnt" --net="/var/run/netns/$(netns_of "$k" "$i")" -- "$@"
}
# spawn_node K I NAME CMD...: a daemon of node I, in its cgroup and namespaces.
spawn_node() {
  local k=$1 i=$2 name=$3; shift 3
  local rt cg; rt=$(runtime_of "$k" "$i"); cg=$(cgroup_of "$k" "$i")
  local logf=$NODE_DIR/logs/$name.log
  if [[ $name == holder ]]; then
    detach "$logf" bash -c 'echo $$ >"$1" && shift && exec "$@"' _ "/sys/fs/cgroup/pids/$cg/cgroup.procs" "$@"
  else
    local holder; holder=$(holder_of "$k" "$i")
    detach "$logf" bash -c 'echo $$ >"$1" && shift && exec "$@"' _ "/sys/fs/cgroup/pids/$cg/cgroup.procs" \
      nsenter --mount="/proc/$holder/ns/mnt" --net="/var/run/netns/$(netns_of "$k" "$i")" -- "$@"
  fi
  echo "$name $!" >>"$rt/pids"
}
wait_until() {                           # wait_until SECONDS WHAT CMD...
  local secs=$1 what=$2; shift 2
  local deadline=$(($(now_ms) + secs * 1000))
  until "$@" >/dev/null 2>&1; do
    (($(now_ms) < deadline)) || { log "$what: not ready after ${secs}s"; return 1; }
    sleep 0.2
  done
}

write_node_configs() {                   # write_node_configs K I N
  local k=$1 i=$2 n=$3
  local net ip rt cg name=node-$i
  net=$(net_of "$k"); ip=$net.0.$((10 + i)); rt=$(runtime_of "$k" "$i"); cg=$(cgroup_of "$k" "$i")
  cat >"$NODE_DIR/containerd.toml" <<EOF
version = 2
root = "$rt/containerd/root"
state = "$rt/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$rt/containerd.sock"
[ttrpc]
  address = "$rt/containerd.sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$rt/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$rt/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni"
EOF
  mkdir -p "$NODE_DIR/cni"
  cat >"$NODE_DIR/cni/10-pods.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "rrc$k-$name",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$net.$i.0/24", "gateway": "$net.$i.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$rt/cni-ipam"
      }
    }
  ]
}
EOF
  cat >"$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $NODE_DIR/pki/kubelet-serving.crt
tlsPrivateKeyFile: $NODE_DIR/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CA_DIR/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: /$cg
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failSwapOn: false
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 60
podPidsLimit: -1
rotateCertificates: false
serverTLSBootstrap: false
volumeStatsAggPeriod: 0s
# The node's heartbeat: its Lease renewed every 3 s (a quarter of the duration) instead of
# 10 s, so a test may shorten the controller manager's --node-monitor-grace-period (40 s)
# and still leave a loaded node several renewals of slack.
nodeLeaseDurationSeconds: 12
# A deleted Pod's object goes once kubelet v1.20 syncs the Pod again after its containers
# exited, at the latest a syncFrequency later (1 m by default): every fabric deletion, rollout
# step and uninstall waited up to a minute on it (31-81 s for a fabric's six reflectors, their
# containers gone at 18 s). 10 s brings it to 22-40 s; 4 s gains nothing more.
syncFrequency: 10s
EOF
  cat >"$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $CLUSTER_DIR/kube-proxy.kubeconfig
mode: iptables
bindAddress: $ip
healthzBindAddress: $ip:10256
metricsBindAddress: 127.0.0.1:10249
hostnameOverride: $name
clusterCIDR: $net.0.0/16
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  syncPeriod: 30s
  minSyncPeriod: 1s
EOF
}

# spawn_kubelet K I: node I's kubelet (NODE_DIR, BIN_DIR and PAUSE_IMAGE set).
spawn_kubelet() {
  local k=$1 i=$2 rt; rt=$(runtime_of "$k" "$i")
  spawn_node "$k" "$i" kubelet "$BIN_DIR/kubelet" --config="$NODE_DIR/kubelet.yaml" \
    --kubeconfig="$NODE_DIR/kubeconfig" --container-runtime=remote \
    --container-runtime-endpoint="unix://$rt/containerd.sock" --runtime-request-timeout=5m \
    --root-dir="$rt/kubelet" --cert-dir="$rt/kubelet/pki" --volume-plugin-dir="$rt/kubelet/volume-plugins" \
    --hostname-override="node-$i" --node-ip="$(net_of "$k").0.$((10 + i))" --pod-infra-container-image="$PAUSE_IMAGE" --v=1
}
spawn_kube_proxy() {                     # spawn_kube_proxy K I (NODE_DIR, BIN_DIR set)
  spawn_node "$1" "$2" kube-proxy "$BIN_DIR/kube-proxy" --config="$NODE_DIR/kube-proxy.yaml" --v=1
}
# daemon_pids K I NAME: the live processes spawn_node started as NAME on node I.
daemon_pids() {
  local k=$1 i=$2 name=$3 pid cg live; cg=$(cgroup_of "$k" "$i")
  live=$(cg_pids "$cg")
  for pid in $(awk -v n="$name" '$1==n {print $2}' "$(runtime_of "$k" "$i")/pids" 2>/dev/null); do
    grep -qx "$pid" <<<"$live" && echo "$pid"
  done
  return 0
}
kubelet_pids() { daemon_pids "$1" "$2" kubelet; }
# daemon_gone K I NAME: no process spawn_node started as NAME lives (a spawn that has not yet
# moved itself into the node's cgroup counts as alive). Builtins only: the watchdog's check.
daemon_gone() {
  local name pid args
  while read -r name pid; do
    [[ $name == "$3" ]] || continue
    in_node_cgroup "$pid" "rrc$1-n$2" && return 1
    read_proc_start "$pid" || continue
    { mapfile -d '' args <"/proc/$pid/cmdline"; } 2>/dev/null || continue
    [[ " ${args[*]} " == *"cgroup.procs"* ]] && return 1
  done 2>/dev/null <"$RUNTIME_ROOT/c$1/node-$2/pids"
  return 0
}
kubelet_gone() { [[ -z $(kubelet_pids "$1" "$2") ]]; }
# kubelet-stop DIR NODE / kubelet-start DIR NODE: what a node whose kubelet dies looks like
# (its containers keep running; the Node goes NotReady), and its recovery.
cmd_kubelet() {
  local action=$1 dir node k i pid
  dir=$(abs_dir "${2:-}"); node=${3:?kubelet-$action DIR NODE}
  k=$(slot_of_dir "$dir"); [[ -n $k && -f $dir/env ]] || die "no running cluster in $dir"
  [[ $node =~ ^node-([0-9]+)$ && -d $dir/nodes/$node ]] || die "no node $node in $dir"
  i=${BASH_REMATCH[1]}
  if [[ $action == stop ]]; then
    touch "$dir/nodes/$node/kubelet.held"    # the watchdog restarts no held kubelet
    for pid in $(kubelet_pids "$k" "$i"); do kill -TERM "$pid" 2>/dev/null || true; done
    wait_until 30 "the kubelet of $node to exit" kubelet_gone "$k" "$i" ||
      die "the kubelet of $node did not exit"
    log "$node: kubelet stopped (its containers keep running)"
  else
    [[ -z $(kubelet_pids "$k" "$i") ]] || die "the kubelet of $node is running"
    NODE_DIR=$dir/nodes/$node
    BIN_DIR=$(cat "$dir/bin-dir"); PAUSE_IMAGE=$(cat "$dir/pause-image")
    spawn_kubelet "$k" "$i"
    rm -f "$dir/nodes/$node/kubelet.held"
    log "$node: kubelet started"
  fi
}

start_node() {                           # start_node K I N (runs in a subshell)
  local k=$1 i=$2 n=$3
  local net ip ns veth rt cg name=node-$i j
  net=$(net_of "$k"); ip=$net.0.$((10 + i)); ns=$(netns_of "$k" "$i"); veth=$(veth_of "$k" "$i")
  rt=$(runtime_of "$k" "$i"); cg=$(cgroup_of "$k" "$i")
  NODE_DIR=$CLUSTER_DIR/nodes/$name
  local t0; t0=$(now_ms)
  mkdir -p "$NODE_DIR/logs" "$rt"/{containerd/root,containerd/state,containerd/opt,runc,cni-ipam,kubelet} \
    "$rt"/mnt/{log-pods,log-containers,var-lib-cni,run-netns,run-containerd}
  : >"$rt/pids"

  # Network: eth0 on the bridge, direct routes to the other nodes' pods, and the
  # service range via the host (kube-proxy rewrites it before it leaves).
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  local nsx=(nsenter --net="/var/run/netns/$ns" --)
  "${nsx[@]}" ip link set lo up
  "${nsx[@]}" ip addr add "$ip/24" dev eth0
  "${nsx[@]}" ip link set eth0 up
  "${nsx[@]}" sysctl -qw net.ipv4.ip_forward=1
  for ((j = 1; j <= n; j++)); do
    ((j == i)) || "${nsx[@]}" ip route add "$net.$j.0/24" via "$net.0.$((10 + j))"
  done
  "${nsx[@]}" ip route add 10.96.0.0/16 via "$net.0.1"
  ip route add "$net.$i.0/24" via "$ip"

  # cgroup root and a private mount namespace for the node's daemons: kubelet hard-codes
  # /var/log/pods and /var/log/containers; containerd and CNI use /var/lib/cni,
  # /run/netns and /run/containerd; each node gets its own. The holder makes the bind mounts
  # itself, after unshare and before it sleeps, so they can only ever be in its namespace (made
  # from outside with nsenter, one once landed on the host: /var/log/pods bound to a stopped
  # node's directory broke every later cluster).
  cg_create "$cg"
  local m src dst binds=""
  for m in "${NODE_MOUNTS[@]}"; do
    src=$rt/mnt/${m%%:*}; dst=${m#*:}
    mkdir -p "$dst"
    binds+="mount --bind $src $dst && "
  done
  spawn_node "$k" "$i" holder unshare --mount --propagation slave -- sh -c "${binds}exec sleep infinity"
  local holder; holder=$(holder_of "$k" "$i")
  # Ready once the holder's own mount table shows its last bind mount.
  wait_until 10 "mount namespace of $name" \
    awk '$5 == "/run/containerd" && $4 ~ /\/mnt\/run-containerd$/ {found = 1} END {exit !found}' \
      "/proc/$holder/mountinfo" ||
    die "$name: the holder (pid $holder) did not set up its mounts; see $NODE_DIR/logs/holder.log"
  for m in "${NODE_MOUNTS[@]}"; do
    dst=${m#*:}
    if host_node_mount "$dst" "/c$k/node-$i/mnt/"; then
      umount -l "$dst" 2>/dev/null || true
      die "$name: its directory is bound at $dst in the host's mount namespace; undone"
    fi
    # Another node's (a run that crashed meanwhile, or a test planting one while this cluster
    # started beside it): not this start's doing, and in the way of the next one.
    unmount_leaked_node_mount "$dst"
  done

  write_node_configs "$k" "$i" "$n"
  seed_copy "$rt/containerd/root"
  spawn_node "$k" "$i" containerd containerd --config "$NODE_DIR/containerd.toml"
  wait_until 60 "containerd of $name" ctr --address "$rt/containerd.sock" version
  spawn_kubelet "$k" "$i"
  spawn_kube_proxy "$k" "$i"
  log "$name: containerd, kubelet and kube-proxy started in $(( $(now_ms) - t0 )) ms"
}

# ---------------------------------------------------------------- the image seed
# scripts/lib/image-seed.sh: the images imported once, hard-linked into each node's root.
SEEDS=$CACHE_ROOT/containerd-seeds
# shellcheck source=scripts/lib/image-seed.sh
source "$SCRIPTS/lib/image-seed.sh"

# ---------------------------------------------------------------- start
# The directories each node gets its own copy of (a bind mount in its mount namespace).
NODE_MOUNTS=(log-pods:/var/log/pods log-containers:/var/log/containers var-lib-cni:/var/lib/cni
             run-netns:/run/netns run-containerd:/run/containerd)
# host_node_mount DIR [PART]: DIR is, in this (the host's) mount namespace, a bind mount of some
# node's directory under /var/lib/rr-kube-cluster (one whose path holds PART, if given).
host_node_mount() {
  awk -v dst="$1" -v part="${2:-/rr-kube-cluster/}" '$5 == dst && index($4, part) {found = 1} END {exit !found}' \
    /proc/self/mountinfo
}
# Takes off the host any node directory mounted at DIR (a crashed or interrupted start can leave
# one, its source deleted): every node start would fail on it ("mount(2) ... No such file").
unmount_leaked_node_mount() {
  while host_node_mount "$1"; do
    log "unmounting $1 from the host: a node's directory left mounted there by an earlier run"
    umount -l "$1" || break
  done
}
unmount_leaked_node_mounts() {
  local m
  for m in "${NODE_MOUNTS[@]}"; do unmount_leaked_node_mount "${m#*:}"; done
}

cmd_start() {
  local dir nodes=4 racks="" per_rack=1 owner_pid=$PPID replace=0 timeout=${RR_KUBE_CLUSTER_TIMEOUT:-600}
  local cp_args=()  # passed on to kube-local.sh start
  dir=$(abs_dir "${1:-}"); shift
  while (($#)); do
    case $1 in
      --nodes) nodes=${2:?--nodes needs a number}; shift ;;
      --racks) racks=${2:?--racks needs a number}; shift ;;
      --reflectors-per-rack) per_rack=${2:?--reflectors-per-rack needs a number}; shift ;;
      --owner-pid) owner_pid=${2:?--owner-pid needs a PID}; shift ;;
      --replace) replace=1 ;;
      --timeout) timeout=${2:?--timeout needs seconds}; shift ;;
      --kcm-arg) cp_args+=(--kcm-arg "${2:?--kcm-arg needs a value}"); shift ;;
      --apiserver-arg) cp_args+=(--apiserver-arg "${2:?--apiserver-arg needs a value}"); shift ;;
      *) die "start: unknown option $1" ;;
    esac
    shift
  done
  [[ $nodes =~ ^[0-9]+$ ]] && ((nodes >= 1 && nodes <= 200)) || die "--nodes: '$nodes' is not a number from 1 to 200"
  [[ -n $racks ]] || racks=$((nodes < 3 ? nodes : 3))
  [[ $racks =~ ^[0-9]+$ ]] && ((racks >= 1 && racks <= nodes)) || die "--racks: '$racks' is not a number from 1 to --nodes"
  [[ $per_rack =~ ^[0-9]+$ ]] || die "--reflectors-per-rack: '$per_rack' is not a number"
  [[ $timeout =~ ^[0-9]+$ ]] || die "--timeout: '$timeout' is not a number of seconds"
  [[ $(id -u) == 0 ]] || die "must run as root (network namespaces, cgroups, mounts)"
  unmount_leaked_node_mounts
  local tool
  for tool in containerd ctr runc nsenter unshare iptables conntrack ip openssl jq; do
    command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] ||
    die "CNI plugins missing in /usr/lib/cni (containernetworking-plugins)"

  mkdir -p "$REG"
  cleanup_stale
  if ((replace)); then
    with_lock "$dir" do_stop "$dir" 0
  elif [[ -n $(slot_of_dir "$dir") ]]; then
    die "a cluster is registered for $dir; stop it first (or use --replace)"
  fi
  if [[ -e $dir ]] && [[ -n $(ls -A "$dir" 2>/dev/null) || ! -d $dir ]]; then
    die "$dir exists and is not an empty directory (use --replace)"
  fi
  local ostart; ostart=$(proc_start "$owner_pid") || die "owner pid $owner_pid is not running"

  BIN_DIR=$("$SCRIPTS/build-kube.sh")
  local images kubectl
  images=$("$SCRIPTS/kube-images.sh" base)
  PAUSE_IMAGE=$(sed -n 's/^RR_PAUSE_IMAGE=//p' <<<"$images")
  local toolbox_image; toolbox_image=$(sed -n 's/^RR_TOOLBOX_IMAGE=//p' <<<"$images")
  IMAGE_TARS=("$(sed -n 's/^RR_PAUSE_TAR=//p' <<<"$images")" "$(sed -n 's/^RR_TOOLBOX_TAR=//p' <<<"$images")")
  local tar
  for tar in "$CACHE_ROOT"/images/*.tar; do [[ -f $tar ]] && IMAGE_TARS+=("$tar"); done
  kubectl=${RR_KUBECTL:-$("$SCRIPTS/fetch-kubectl.sh")}
  seed_acquire "${IMAGE_TARS[@]}"          # held until every node has copied it

  local t0; t0=$(now_ms)
  mkdir -p "$dir/logs" "$dir/nodes"
  touch "$dir/$MARKER"
  CLUSTER_DIR=$dir
  echo "$BIN_DIR" >"$dir/bin-dir"
  echo "$PAUSE_IMAGE" >"$dir/pause-image"
  echo "$SEED" >"$dir/image-seed"
  local k; k=$(alloc_slot "$dir" "$owner_pid $ostart")
  echo "$k" >"$dir/slot"
  cp "$REG/$k/owner" "$dir/owner"
  detach "$dir/logs/watchdog.log" nohup bash "$SELF" __watchdog "$dir" "$k"
  echo "$!" >"$REG/$k/watchdog"

  local fail=1
  trap 'if ((fail)); then log "start failed; stopping what was started (logs kept in '"$dir"')"; do_stop "$dir" 1 || true; fi' EXIT

  local net; net=$(net_of "$k")
  BRIDGE=$(bridge_of "$k")
  ip link add "$BRIDGE" type bridge
  ip addr add "$net.0.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up

  # The control plane, served on the bridge address.
  local cp_env
  cp_env=$("$SCRIPTS/kube-local.sh" start "$dir/cp" --owner-pid "$owner_pid" --controller-manager --scheduler \
    --node-address "$net.0.1" --kcm-controllers "$KCM_CONTROLLERS" --timeout 300 \
    "${cp_args[@]+"${cp_args[@]}"}") || die "the control plane did not start"
  # shellcheck disable=SC1090
  local server; server=$(source "$cp_env" && echo "$RR_KUBE_SERVER")
  CA_DIR=$dir/cp/pki
  cp "$dir/cp/kubeconfig" "$dir/kubeconfig"
  mkdir -p "$dir/pki"
  sign_cert "$CA_DIR" "$dir/pki" kube-proxy "/CN=system:kube-proxy" "$CLIENT_EXT"
  write_kubeconfig "$dir/kube-proxy.kubeconfig" "$server" "$CA_DIR/ca.crt" "$dir/pki/kube-proxy.crt" "$dir/pki/kube-proxy.key"

  local i nd
  for ((i = 1; i <= nodes; i++)); do
    nd=$dir/nodes/node-$i
    mkdir -p "$nd/pki" "$nd/logs"
    sign_cert "$CA_DIR" "$nd/pki" node "/O=system:nodes/CN=system:node:node-$i" "$CLIENT_EXT"
    sign_cert "$CA_DIR" "$nd/pki" kubelet-serving "/CN=system:node:node-$i" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$net.0.$((10 + i)),DNS:node-$i"
    write_kubeconfig "$nd/kubeconfig" "$server" "$CA_DIR/ca.crt" "$nd/pki/node.crt" "$nd/pki/node.key"
  done

  local pids=() rc=0
  for ((i = 1; i <= nodes; i++)); do
    ( start_node "$k" "$i" "$nodes" ) >>"$dir/nodes/node-$i/logs/start.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 1; i <= nodes; i++)); do
    if ! wait "${pids[i - 1]}"; then
      rc=1; log "node-$i failed to start:"; tail -n 20 "$dir/nodes/node-$i/logs/start.log" >&2
    fi
  done
  ((rc == 0)) || exit 1
  seed_release

  # Every Node Ready, labelled, and free of the not-ready taint; the default
  # ServiceAccount there (Pods need it).
  local k8s=("$kubectl" --kubeconfig="$dir/kubeconfig" --request-timeout=20s)
  local deadline=$((t0 + timeout * 1000)) ready
  while :; do
    ready=$("${k8s[@]}" get nodes -o json 2>/dev/null | jq '[.items[] | select(
        any(.status.conditions[]?; .type == "Ready" and .status == "True")
        and ((.spec.taints // []) | length == 0))] | length' 2>/dev/null || echo 0)
    ((ready == nodes)) && break
    if (($(now_ms) > deadline)); then
      "${k8s[@]}" get nodes -o wide >&2 || true
      for ((i = 1; i <= nodes; i++)); do
        log "node-$i kubelet log tail:"; tail -n 15 "$dir/nodes/node-$i/logs/kubelet.log" >&2 || true
        log "node-$i kubelet fatal lines: $(fatal_lines "$dir/nodes/node-$i/logs/kubelet.log")"
        cat "$dir/nodes/node-$i/logs/restarts.log" >&2 2>/dev/null || true
      done
      die "only $ready of $nodes nodes became Ready within ${timeout}s"
    fi
    sleep 0.5
  done
  local rack pos reflector
  for ((i = 1; i <= nodes; i++)); do
    rack=$(((i - 1) % racks + 1)); pos=$(((i - 1) / racks))
    reflector=false; ((pos < per_rack)) && reflector=true
    local labels=("topology.kubernetes.io/rack=rack-$rack")
    [[ $reflector == true ]] && labels+=("rr.bgp.dev/reflector=true")
    "${k8s[@]}" label node "node-$i" --overwrite "${labels[@]}" >/dev/null
    # spec.podCIDR as the node IPAM controller sets it (the CNI's host-local range): what
    # Calico's BIRD (and tests/calico-node) announces for the node. Immutable once set.
    if [[ -z $("${k8s[@]}" get node "node-$i" -o jsonpath='{.spec.podCIDR}') ]]; then
      "${k8s[@]}" patch node "node-$i" --type=merge \
        -p "{\"spec\":{\"podCIDR\":\"$net.$i.0/24\",\"podCIDRs\":[\"$net.$i.0/24\"]}}" >/dev/null
    fi
    printf '%s %s %s\n' "$i" "rack-$rack" "$reflector" >>"$dir/racks"
  done
  wait_until 60 "the default ServiceAccount's token" bash -c \
    '[[ -n $("$@" get serviceaccount default -o jsonpath="{.secrets[0].name}") ]]' _ "${k8s[@]}" ||
    die "no token for the default ServiceAccount"

  {
    grep -v '^export KUBECONFIG=' "$cp_env"
    printf 'export %s=%q\n' \
      KUBECONFIG "$dir/kubeconfig" \
      RR_CLUSTER_DIR "$dir" \
      RR_CLUSTER_APISERVER "$server" \
      RR_CLUSTER_SLOT "$k" \
      RR_CLUSTER_BRIDGE "$BRIDGE" \
      RR_CLUSTER_SUBNET "$net.0.0/16" \
      RR_CLUSTER_PAUSE_IMAGE "$PAUSE_IMAGE" \
      RR_CLUSTER_TOOLBOX_IMAGE "$toolbox_image"
    local names=() ips=()
    for ((i = 1; i <= nodes; i++)); do names+=("node-$i"); ips+=("$net.0.$((10 + i))"); done
    printf 'export %s=%q\n' RR_CLUSTER_NODES "${names[*]}" RR_CLUSTER_NODE_IPS "${ips[*]}"
    while read -r i rack reflector; do
      printf 'export %s=%q\n' \
        "RR_CLUSTER_NODE_${i}_NAME" "node-$i" \
        "RR_CLUSTER_NODE_${i}_IP" "$net.0.$((10 + i))" \
        "RR_CLUSTER_NODE_${i}_RACK" "$rack" \
        "RR_CLUSTER_NODE_${i}_REFLECTOR" "$reflector" \
        "RR_CLUSTER_NODE_${i}_POD_CIDR" "$net.$i.0/24" \
        "RR_CLUSTER_NODE_${i}_NETNS" "$(netns_of "$k" "$i")" \
        "RR_CLUSTER_NODE_${i}_KUBECONFIG" "$dir/nodes/node-$i/kubeconfig" \
        "RR_CLUSTER_NODE_${i}_CONTAINERD" "$(runtime_of "$k" "$i")/containerd.sock"
    done <"$dir/racks"
  } >"$dir/env"
  fail=0
  trap - EXIT
  log "$nodes nodes Ready in $(( $(now_ms) - t0 )) ms (slot $k, $net.0.0/16, apiserver $server, owner pid $owner_pid)"
  echo "$dir/env"
}

# ---------------------------------------------------------------- import
cmd_import() {
  local dir k tar i sock pids=() rc=0
  dir=$(abs_dir "${1:-}"); shift
  (($#)) || die "import: no archive given"
  for tar in "$@"; do [[ -f $tar ]] || die "import: no such file $tar"; done
  k=$(slot_of_dir "$dir"); [[ -n $k && -f $dir/env ]] || die "no running cluster in $dir"
  for sock in "$RUNTIME_ROOT/c$k"/node-*/containerd.sock; do
    (
      for tar in "$@"; do
        ctr --address "$sock" -n k8s.io images import "$tar" >/dev/null || die "import of $tar into ${sock%/*} failed"
      done
    ) & pids+=($!)
  done
  for i in "${pids[@]+"${pids[@]}"}"; do wait "$i" || rc=1; done
  ((rc == 0)) || exit 1
  log "imported $# archive(s) into ${#pids[@]} node(s)"
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}; shift || true
case $cmd in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  import) cmd_import "$@" ;;
  env) d=$(abs_dir "${1:-}"); [[ -f $d/env ]] || die "no env in $d"; cat "$d/env" ;;
  cleanup-stale) mkdir -p "$REG"; cleanup_stale ;;
  kubelet-stop) cmd_kubelet stop "$@" ;;
  kubelet-start) cmd_kubelet start "$@" ;;
  __watchdog) cmd_watchdog "$(abs_dir "${1:-}")" "${2:?}" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
