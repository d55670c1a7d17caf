#!/usr/bin/env bash
# kube-local.sh: a real local Kubernetes control plane (etcd + kube-apiserver
# [+ kube-controller-manager]) on 127.0.0.1, for integration tests. Several
# instances can run at once (random free loopback ports); none outlives its owner.
#
#   start DIR [--controller-manager] [--owner-pid PID] [--replace] [--timeout S]
#             [--apiserver-arg ARG]... [--node-address ADDR] [--scheduler]
#             [--kcm-controllers LIST] [--kcm-arg ARG]...
#       DIR must be empty or absent (--replace stops and wipes an old instance in DIR).
#       The owner defaults to the parent process ($PPID); a detached watchdog stops the
#       instance within ~1 s of the owner's death. Prints DIR/env on stdout.
#       --node-address ADDR: serve nodes (real kubelets) at ADDR instead of 127.0.0.1: the
#       apiserver binds and advertises ADDR (its certificate names it; the `kubernetes`
#       Service's endpoints point at ADDR:port), authorizes with Node,RBAC, admits with
#       NodeRestriction, and reaches kubelets with its own client certificate
#       (CN=kube-apiserver-kubelet-client, bound to system:kubelet-api-admin), verifying
#       their serving certificates with the CA (InternalIP first).
#       --scheduler adds kube-scheduler (its own identity, system:kube-scheduler);
#       --kcm-controllers replaces the controller-manager's --controllers list (the default
#       leaves out node lifecycle and everything cloud or volume related).
#   stop DIR [--keep-logs]      stop the instance, remove DIR (keep DIR/logs with --keep-logs)
#   stop-apiserver DIR          stop only kube-apiserver (etcd keeps the data)
#   start-apiserver DIR [--timeout S]   restart it on the same port, wait for /readyz
#                               (default: the --timeout the instance was started with)
#   cleanup-stale               stop every registered instance whose owner is dead
#   env DIR                     print DIR/env
#
# DIR layout: env, kubeconfig (admin, client cert), kubeconfig-token (admin, token),
# kubeconfig-kcm, kubeconfig-scheduler, pki/ (ca.crt/ca.key sign node credentials), tokens.csv, etcd-data/, logs/*.log, pids, owner.
# DIR/env (sourceable) exports KUBECONFIG, RR_KUBE_DIR, RR_KUBE_SERVER, RR_KUBE_CA,
# RR_KUBE_ADMIN_CERT, RR_KUBE_ADMIN_KEY, RR_KUBE_ADMIN_TOKEN (system:masters),
# RR_KUBE_USER_NAME (rr-test-user), RR_KUBE_USER_TOKEN (no RBAC bindings),
# RR_KUBE_ETCD_ENDPOINT, RR_KUBE_CONTROLLER_MANAGER (0/1), RR_KUBE_SCHEDULER (0/1),
# RR_KUBE_NODE_ADDRESS (the --node-address, or empty), RR_KUBECTL.
# Binaries: kube-apiserver, kube-controller-manager and kube-scheduler from scripts/build-kube.sh (or
# $RR_KUBE_BIN_DIR), etcd from PATH (or $RR_ETCD), kubectl from scripts/fetch-kubectl.sh.
# Registry: ${RR_KUBE_LOCAL_STATE:-/tmp/rr-kube-local}/instances/<id>/{dir,owner,pids,ports}.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPTS=$(dirname "$SELF")
STATE=${RR_KUBE_LOCAL_STATE:-/tmp/rr-kube-local}
REG=$STATE/instances
MARKER=.rr-kube-local
STOP_WAIT=10

log() { echo "kube-local: $*" >&2; }
die() { log "error: $*"; exit 1; }
now_ms() { date +%s%3N; }

abs_dir() {
  [[ -n ${1:-} ]] || die "missing DIR"
  local d; d=$(readlink -m -- "$1")
  [[ $d != / && $d =~ ^/[A-Za-z0-9._/+@=-]+$ ]] || die "unsupported DIR '$1' (use a plain absolute-able path)"
  echo "$d"
}
inst_id() { printf '%s' "$1" | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------- processes
# Start time (in clock ticks since boot) of a live pid, into REPLY: identifies a process
# beyond its pid. Fails for a missing or zombie (exited, not yet reaped) process. Builtins
# only, as everything the watchdog calls each second (a dozen control planes run at once).
read_proc_start() {
  local stat fields
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }                      # fields after "(comm) ": state ppid ...
  read -r -a fields <<<"$stat"           # field 20 of the rest = field 22 (starttime)
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
# Is PID still the process NAME of instance DIR? (guards against pid reuse)
pid_is() {
  local pid=$1 name=$2 dir=$3 args=() a
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || return 1
  ((${#args[@]})) || return 1
  if [[ $name == watchdog ]]; then
    [[ " ${args[*]} " == *" __watchdog $dir "* ]] || return 1
    return 0
  fi
  [[ $(basename -- "${args[0]}") == "$name" ]] || return 1
  for a in "${args[@]:1}"; do [[ $a == *"$dir/"* ]] && return 0; done
  return 1
}

# pids file: "NAME PID" lines. Written to the registry (authoritative) and to DIR.
pids_get() {                             # pids_get DIR NAME
  local f=$REG/$(inst_id "$1")/pids
  [[ -f $f ]] || f=$1/pids
  [[ -f $f ]] || return 0
  awk -v n="$2" '$1==n {print $2}' "$f"
}
pids_set() {                             # pids_set DIR NAME PID ("" removes)
  local dir=$1 name=$2 pid=$3 f tmp
  for f in "$REG/$(inst_id "$dir")/pids" "$dir/pids"; do
    [[ -d $(dirname "$f") ]] || continue
    tmp=$f.tmp.$$
    { [[ -f $f ]] && awk -v n="$name" '$1!=n' "$f"; [[ -n $pid ]] && echo "$name $pid"; } >"$tmp" || true
    mv -f "$tmp" "$f"
  done
}

# SIGTERM the verified processes, wait up to STOP_WAIT s, then SIGKILL.
terminate() {                            # terminate DIR NAME...
  local dir=$1; shift
  local name pid live=() deadline
  for name in "$@"; do
    for pid in $(pids_get "$dir" "$name"); do
      if pid_is "$pid" "$name" "$dir"; then
        kill -TERM "$pid" 2>/dev/null && live+=("$pid:$name")
      fi
    done
  done
  deadline=$(($(now_ms) + STOP_WAIT * 1000))
  while ((${#live[@]})); do
    local still=() e
    for e in "${live[@]}"; do pid_is "${e%%:*}" "${e#*:}" "$dir" && still+=("$e"); done
    live=("${still[@]+"${still[@]}"}")
    ((${#live[@]})) || break
    if (($(now_ms) > deadline)); then
      for e in "${live[@]}"; do
        log "${e#*:} (pid ${e%%:*}) ignored SIGTERM for ${STOP_WAIT}s; SIGKILL"
        pid_is "${e%%:*}" "${e#*:}" "$dir" && kill -KILL "${e%%:*}" 2>/dev/null || true
      done
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  for name in "$@"; do pids_set "$dir" "$name" ""; done
}

with_lock() {                            # with_lock DIR CMD...: per-instance lock
  local dir=$1; shift
  mkdir -p "$STATE/locks"
  (
    flock -w 60 8 || die "timed out waiting for the lock of $dir"
    "$@"
  ) 8>"$STATE/locks/$(inst_id "$dir").lock"
}

# ---------------------------------------------------------------- stop
do_stop() {                              # do_stop DIR KEEP_LOGS
  local dir=$1 keep=$2 id; id=$(inst_id "$dir")
  local had=0
  [[ -d $REG/$id || -f $dir/pids ]] && had=1
  # The watchdog first, so it does not race us (a watchdog that exec'd into
  # `stop` no longer matches "__watchdog" and is left alone).
  terminate "$dir" watchdog
  terminate "$dir" kube-scheduler kube-controller-manager kube-apiserver
  terminate "$dir" etcd
  if [[ -d $dir ]]; then
    if [[ -f $dir/$MARKER ]]; then
      if [[ $keep == 1 ]]; then
        find "$dir" -mindepth 1 -maxdepth 1 ! -name logs ! -name "$MARKER" -exec rm -rf {} +
      else
        rm -rf "$dir"
      fi
    elif [[ $had == 1 ]]; then
      log "$dir has no $MARKER marker; removing only the files kube-local.sh writes"
      rm -rf "$dir"/{etcd-data,pki,tokens.csv,env,kubeconfig,kubeconfig-token,kubeconfig-kcm,kubeconfig-scheduler,pids,owner,apiserver.args,kcm-certs,node-address,scheduler,kcm-controllers,kcm.args,bin-dir,kubectl-path}
    fi
  fi
  rm -rf "${REG:?}/$id"
  ((had)) && log "stopped $dir" || true
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
    if [[ -z $dir ]]; then rm -rf "$e"; continue; fi
    if ! owner_alive "$owner"; then
      log "stale instance $dir (owner ${owner%% *} is gone): stopping it"
      with_lock "$dir" do_stop "$dir" 0 || true
    fi
  done
}

# ---------------------------------------------------------------- watchdog
cmd_watchdog() {                         # __watchdog DIR (runs detached)
  local dir=$1 id owner f name pid watchdog
  id=$(inst_id "$dir")
  owner=$(cat "$REG/$id/owner" 2>/dev/null) || exit 0
  while :; do
    [[ -d $REG/$id ]] || exit 0
    # Another instance took over DIR, or we were replaced: quit quietly. (pids_get, in builtins)
    f=$REG/$id/pids; [[ -f $f ]] || f=$dir/pids
    watchdog=
    while read -r name pid; do [[ $name == watchdog ]] && watchdog=$pid; done 2>/dev/null <"$f" || true
    [[ $watchdog == "$$" || $watchdog == "" ]] || exit 0
    if ! owner_alive "$owner"; then
      echo "$(date -Is) owner ${owner%% *} is gone: stopping $dir"
      exec "$SELF" stop "$dir"
    fi
    sleep 1
  done
}

# ---------------------------------------------------------------- certificates
gen_pki() {                              # gen_pki DIR [NODE-ADDRESS]
  local p=$1/pki node_addr=${2:-}
  mkdir -p "$p"
  (
    cd "$p"
    umask 077
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 3650 -subj "/CN=rr-kube-local-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    sign() {                               # sign NAME SUBJ EXTS
      openssl req -new "${ec[@]}" -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1${node_addr:+,IP:$node_addr}"
    local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    sign admin "/O=system:masters/CN=admin" "$client"
    # kube-controller-manager runs every controller under its own identity
    # (--use-service-account-credentials=false); the bootstrap ClusterRole
    # system:kube-controller-manager alone cannot delete (GC) or create Pods
    # (ReplicaSets), so it is also a member of system:masters.
    sign kcm "/O=system:masters/CN=system:kube-controller-manager" "$client"
    # kube-scheduler's bootstrap ClusterRoles (system:kube-scheduler,
    # system:volume-scheduler) are bound to this user name.
    sign scheduler "/CN=system:kube-scheduler" "$client"
    # The apiserver's identity towards kubelets (logs, exec, port-forward).
    [[ -z $node_addr ]] || sign kubelet-client "/CN=kube-apiserver-kubelet-client" "$client"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ca.srl
    chmod 0644 ./*.crt sa.pub
  )
}

write_kubeconfig() {                     # write_kubeconfig FILE SERVER CA USER-LINES...
  local f=$1 server=$2 ca=$3; shift 3
  {
    cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kube-local
  cluster:
    server: $server
    certificate-authority: $ca
contexts:
- name: kube-local
  context:
    cluster: kube-local
    user: kube-local-user
current-context: kube-local
users:
- name: kube-local-user
  user:
EOF
    local l; for l in "$@"; do echo "    $l"; done
  } >"$f"
}

# ---------------------------------------------------------------- ports
# Random free loopback ports below the ephemeral range, avoiding ports in use
# (ss) and ports reserved by other registered instances. Caller holds the lock.
pick_ports() {                           # pick_ports N -> N ports on stdout
  local n=$1 used=" " p picked=() tries=0 low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((low > 12000)) || low=32768
  used+=$(ss -ltnH 2>/dev/null | awk '{n=split($4,a,":"); printf "%s ", a[n]}')
  used+=" $(cat "$REG"/*/ports 2>/dev/null | tr '\n' ' ') "
  while ((${#picked[@]} < n)); do
    ((++tries < 10000)) || die "no free loopback ports"
    p=$((11000 + (RANDOM * 32768 + RANDOM) % (low - 11000)))
    [[ $used == *" $p "* ]] && continue
    used+="$p "
    picked+=("$p")
  done
  echo "${picked[*]}"
}

# ---------------------------------------------------------------- launching
# Detached daemons get their own session and no inherited descriptor but stdio: an
# inherited pipe (ctest's output pipe) or lock file would be held open for their lifetime.
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
spawn() {                                # spawn DIR NAME BINARY ARGS... ; echoes pid
  local dir=$1 name=$2; shift 2
  detach "$dir/logs/$name.log" "$@"
  local pid=$!
  pids_set "$dir" "$name" "$pid"
  echo "$pid"
}

# wait_for URL PID NAME DEADLINE_MS CURL_ARGS... -> 0 ok, 1 process died, 2 timeout
wait_for() {
  local url=$1 pid=$2 name=$3 deadline=$4; shift 4
  while :; do
    if curl -sf --max-time 2 "$@" "$url" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { log "$name exited during start"; return 1; }
    (($(now_ms) < deadline)) || { log "$name not ready at $url before the deadline"; return 2; }
    sleep 0.1
  done
}

start_apiserver_proc() {                 # start_apiserver_proc DIR
  local dir=$1 args=()
  mapfile -t args <"$dir/apiserver.args"
  spawn "$dir" kube-apiserver "$(cat "$dir/bin-dir")/kube-apiserver" "${args[@]}"
}
wait_apiserver() {                       # wait_apiserver DIR PID DEADLINE_MS
  local dir=$1
  # shellcheck disable=SC1091
  (source "$dir/env" && wait_for "$RR_KUBE_SERVER/readyz" "$2" kube-apiserver "$3" \
      --cacert "$RR_KUBE_CA" -H "Authorization: Bearer $RR_KUBE_ADMIN_TOKEN")
}
show_log() { log "last 30 lines of $1:"; tail -n 30 "$1" >&2 2>/dev/null || true; }

# One start attempt with fresh ports. Returns 0, 1 (failure), or 3 (port taken: retry).
start_attempt() {
  local dir=$1 id=$2 kcm=$3 timeout=$4 t0=$5
  local ports ep pp ap kp sp bin node_addr sched
  bin=$(cat "$dir/bin-dir")
  node_addr=$(cat "$dir/node-address")
  sched=$(cat "$dir/scheduler")
  ports=$(
    exec 7>"$STATE/ports.lock"; flock 7
    ports=$(pick_ports 5)
    tr ' ' '\n' <<<"$ports" >"$REG/$id/ports"
    echo "$ports"
  )
  read -r ep pp ap kp sp <<<"$ports"
  [[ -n ${sp:-} ]] || { log "could not pick ports"; return 1; }
  local serve_addr=${node_addr:-127.0.0.1}
  local server=https://$serve_addr:$ap pki=$dir/pki
  local admin_token user_token
  admin_token=$(awk -F, '$2=="admin"{print $1}' "$dir/tokens.csv")
  user_token=$(awk -F, '$2=="rr-test-user"{print $1}' "$dir/tokens.csv")

  write_kubeconfig "$dir/kubeconfig" "$server" "$pki/ca.crt" \
    "client-certificate: $pki/admin.crt" "client-key: $pki/admin.key"
  write_kubeconfig "$dir/kubeconfig-token" "$server" "$pki/ca.crt" "token: $admin_token"
  write_kubeconfig "$dir/kubeconfig-kcm" "$server" "$pki/ca.crt" \
    "client-certificate: $pki/kcm.crt" "client-key: $pki/kcm.key"
  write_kubeconfig "$dir/kubeconfig-scheduler" "$server" "$pki/ca.crt" \
    "client-certificate: $pki/scheduler.crt" "client-key: $pki/scheduler.key"
  {
    printf 'export %s=%q\n' \
      KUBECONFIG "$dir/kubeconfig" \
      RR_KUBE_DIR "$dir" \
      RR_KUBE_SERVER "$server" \
      RR_KUBE_CA "$pki/ca.crt" \
      RR_KUBE_ADMIN_CERT "$pki/admin.crt" \
      RR_KUBE_ADMIN_KEY "$pki/admin.key" \
      RR_KUBE_ADMIN_TOKEN "$admin_token" \
      RR_KUBE_USER_NAME rr-test-user \
      RR_KUBE_USER_TOKEN "$user_token" \
      RR_KUBE_ETCD_ENDPOINT "http://127.0.0.1:$ep" \
      RR_KUBE_CONTROLLER_MANAGER "$kcm" \
      RR_KUBE_SCHEDULER "$sched" \
      RR_KUBE_NODE_ADDRESS "$node_addr" \
      RR_KUBECTL "$(cat "$dir/kubectl-path")"
  } >"$dir/env"

  # etcd
  rm -rf "$dir/etcd-data"
  local etcd_pid
  etcd_pid=$(spawn "$dir" etcd "${RR_ETCD:-etcd}" --name=kube-local --data-dir="$dir/etcd-data" \
    --listen-client-urls="http://127.0.0.1:$ep" --advertise-client-urls="http://127.0.0.1:$ep" \
    --listen-peer-urls="http://127.0.0.1:$pp" --initial-advertise-peer-urls="http://127.0.0.1:$pp" \
    --initial-cluster="kube-local=http://127.0.0.1:$pp" --initial-cluster-state=new \
    --initial-cluster-token="kube-local-$id" --logger=zap --log-outputs=stderr)
  local deadline=$((t0 + timeout * 1000)) rc=0
  wait_for "http://127.0.0.1:$ep/health" "$etcd_pid" etcd "$deadline" || rc=$?
  if ((rc)); then
    grep -q 'address already in use' "$dir/logs/etcd.log" && return 3
    show_log "$dir/logs/etcd.log"; return 1
  fi

  # kube-apiserver
  local ap_args=(
    --advertise-address="$serve_addr" --bind-address="$serve_addr" --secure-port="$ap" --insecure-port=0
    --cert-dir="$dir/pki/apiserver-generated"
    --etcd-servers="http://127.0.0.1:$ep"
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key"
    --client-ca-file="$pki/ca.crt" --token-auth-file="$dir/tokens.csv"
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key"
    --service-account-issuer=https://kubernetes.default.svc --api-audiences=https://kubernetes.default.svc
    --service-cluster-ip-range=10.96.0.0/16 --allow-privileged=true
    --enable-priority-and-fairness=false
    --profiling=false
  )
  if [[ -n $node_addr ]]; then
    # The lease endpoint reconciler points the `kubernetes` Service at ADDR:port.
    ap_args+=(
      --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction
      --kubelet-client-certificate="$pki/kubelet-client.crt" --kubelet-client-key="$pki/kubelet-client.key"
      --kubelet-certificate-authority="$pki/ca.crt"
      --kubelet-preferred-address-types=InternalIP,Hostname
    )
  else
    ap_args+=(--authorization-mode=RBAC --endpoint-reconciler-type=none)
  fi
  # Without kube-controller-manager nothing creates ServiceAccounts nor their token
  # Secrets, so the ServiceAccount admission plugin would refuse every Pod
  # ("serviceaccount default not found" / "no API token found").
  [[ $kcm == 1 ]] || ap_args+=(--disable-admission-plugins=ServiceAccount)
  ap_args+=("${EXTRA_APISERVER_ARGS[@]+"${EXTRA_APISERVER_ARGS[@]}"}")
  printf '%s\n' "${ap_args[@]}" >"$dir/apiserver.args"
  local ap_pid
  ap_pid=$(start_apiserver_proc "$dir")
  rc=0; wait_apiserver "$dir" "$ap_pid" "$deadline" || rc=$?
  if ((rc)); then
    grep -q 'address already in use' "$dir/logs/kube-apiserver.log" && return 3
    show_log "$dir/logs/kube-apiserver.log"; return 1
  fi

  if [[ -n $node_addr ]]; then
    "$(cat "$dir/kubectl-path")" --kubeconfig="$dir/kubeconfig" --request-timeout=20s \
      create clusterrolebinding kube-apiserver-kubelet-client \
      --clusterrole=system:kubelet-api-admin --user=kube-apiserver-kubelet-client >/dev/null ||
      { log "could not bind the apiserver's kubelet client to system:kubelet-api-admin"; return 1; }
  fi

  if [[ $kcm == 1 ]]; then
    local kcm_pid kcm_extra=()
    mapfile -t kcm_extra <"$dir/kcm.args"
    kcm_pid=$(spawn "$dir" kube-controller-manager "$bin/kube-controller-manager" \
      --kubeconfig="$dir/kubeconfig-kcm" \
      --bind-address=127.0.0.1 --secure-port="$kp" --port=0 --cert-dir="$dir/pki/kcm-generated" \
      --leader-elect=false --use-service-account-credentials=false \
      --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
      --controllers="$(cat "$dir/kcm-controllers")" \
      --profiling=false "${kcm_extra[@]+"${kcm_extra[@]}"}")
    rc=0; wait_for "https://127.0.0.1:$kp/healthz" "$kcm_pid" kube-controller-manager "$deadline" -k || rc=$?
    if ((rc)); then
      grep -q 'address already in use' "$dir/logs/kube-controller-manager.log" && return 3
      show_log "$dir/logs/kube-controller-manager.log"; return 1
    fi
  fi

  if [[ $sched == 1 ]]; then
    local sched_pid
    sched_pid=$(spawn "$dir" kube-scheduler "$bin/kube-scheduler" \
      --kubeconfig="$dir/kubeconfig-scheduler" \
      --authentication-kubeconfig="$dir/kubeconfig-scheduler" \
      --authorization-kubeconfig="$dir/kubeconfig-scheduler" \
      --bind-address=127.0.0.1 --secure-port="$sp" --port=0 --cert-dir="$dir/pki/scheduler-generated" \
      --leader-elect=false --profiling=false)
    rc=0; wait_for "https://127.0.0.1:$sp/healthz" "$sched_pid" kube-scheduler "$deadline" -k || rc=$?
    if ((rc)); then
      grep -q 'address already in use' "$dir/logs/kube-scheduler.log" && return 3
      show_log "$dir/logs/kube-scheduler.log"; return 1
    fi
  fi
  return 0
}

cmd_start() {
  local dir kcm=0 owner_pid=$PPID replace=0 timeout=${RR_KUBE_START_TIMEOUT:-60}
  local node_addr="" sched=0 kcm_args=()
  local kcm_controllers='*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-route,-service,-ttl,-attachdetach,-persistentvolume-binder,-persistentvolume-expander,-pv-protection,-pvc-protection,-ephemeral-volume,-horizontalpodautoscaling,-csrsigning,-csrapproving'
  EXTRA_APISERVER_ARGS=()
  dir=$(abs_dir "${1:-}"); shift
  while (($#)); do
    case $1 in
      --controller-manager) kcm=1 ;;
      --owner-pid) owner_pid=${2:?--owner-pid needs a PID}; shift ;;
      --replace) replace=1 ;;
      --timeout) timeout=${2:?--timeout needs seconds}; shift ;;
      --apiserver-arg) EXTRA_APISERVER_ARGS+=("${2:?--apiserver-arg needs a value}"); shift ;;
      --node-address) node_addr=${2:?--node-address needs an IPv4 address}; shift
        [[ $node_addr =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "--node-address: '$node_addr' is not an IPv4 address" ;;
      --scheduler) sched=1 ;;
      --kcm-controllers) kcm_controllers=${2:?--kcm-controllers needs a list}; shift ;;
      --kcm-arg) kcm_args+=("${2:?--kcm-arg needs a value}"); shift ;;
      *) die "start: unknown option $1" ;;
    esac
    shift
  done
  mkdir -p "$REG"
  cleanup_stale
  local id; id=$(inst_id "$dir")
  if ((replace)); then
    with_lock "$dir" do_stop "$dir" 0
  elif [[ -d $REG/$id ]]; then
    die "an instance is registered for $dir; stop it first (or use --replace)"
  fi
  if [[ -e $dir ]] && [[ -n $(ls -A "$dir" 2>/dev/null) || ! -d $dir ]]; then
    die "$dir exists and is not an empty directory (use --replace)"
  fi
  local ostart; ostart=$(proc_start "$owner_pid") || die "owner pid $owner_pid is not running"

  local bin kubectl
  local wanted=(kube-apiserver kube-controller-manager)
  [[ $sched == 0 ]] || wanted+=(kube-scheduler)
  if [[ -n ${RR_KUBE_BIN_DIR:-} ]]; then bin=$RR_KUBE_BIN_DIR; else bin=$("$SCRIPTS/build-kube.sh" "${wanted[@]}"); fi
  [[ -x $bin/kube-apiserver ]] || die "no kube-apiserver in $bin"
  [[ $kcm == 0 || -x $bin/kube-controller-manager ]] || die "no kube-controller-manager in $bin"
  [[ $sched == 0 || -x $bin/kube-scheduler ]] || die "no kube-scheduler in $bin"
  command -v "${RR_ETCD:-etcd}" >/dev/null || die "etcd not found (apt-get install etcd-server)"
  kubectl=${RR_KUBECTL:-$("$SCRIPTS/fetch-kubectl.sh")}

  local t0; t0=$(now_ms)
  mkdir -p "$dir/logs"
  touch "$dir/$MARKER"
  echo "$bin" >"$dir/bin-dir"
  echo "$kubectl" >"$dir/kubectl-path"
  echo "$node_addr" >"$dir/node-address"
  echo "$sched" >"$dir/scheduler"
  echo "$timeout" >"$dir/start-timeout"
  echo "$kcm_controllers" >"$dir/kcm-controllers"
  printf '%s\n' "${kcm_args[@]+"${kcm_args[@]}"}" | sed '/^$/d' >"$dir/kcm.args"
  mkdir -p "$REG/$id"
  echo "$dir" >"$REG/$id/dir"
  echo "$owner_pid $ostart" | tee "$REG/$id/owner" >"$dir/owner"
  : >"$REG/$id/pids"; : >"$dir/pids"

  # The watchdog: detached (own session), no inherited stdio (never holds a ctest
  # pipe open); stops the instance when the owner dies, even during this start.
  detach "$dir/logs/watchdog.log" nohup bash "$SELF" __watchdog "$dir"
  pids_set "$dir" watchdog "$!"

  local fail=1
  trap 'if ((fail)); then log "start failed; stopping what was started"; do_stop "$dir" 1 || true; fi' EXIT
  gen_pki "$dir" "$node_addr"
  umask 077
  {
    echo "$(openssl rand -hex 24),admin,admin,\"system:masters\""
    echo "$(openssl rand -hex 24),rr-test-user,rr-test-user"
  } >"$dir/tokens.csv"
  umask 022

  local attempt rc
  for attempt in 1 2 3; do
    rc=0
    start_attempt "$dir" "$id" "$kcm" "$timeout" "$t0" || rc=$?
    ((rc == 3)) || break
    log "a port was taken (attempt $attempt); retrying with new ports"
    terminate "$dir" kube-scheduler kube-controller-manager kube-apiserver etcd
    local f; for f in "$dir"/logs/{etcd,kube-apiserver,kube-controller-manager,kube-scheduler}.log; do
      [[ -f $f ]] && mv -f "$f" "$f.attempt$attempt"
    done
  done
  ((rc == 0)) || exit 1
  fail=0
  trap - EXIT
  local what=etcd+kube-apiserver; [[ $kcm == 0 ]] || what+=+kube-controller-manager
  [[ $sched == 0 ]] || what+=+kube-scheduler
  log "$what ready in $(( $(now_ms) - t0 )) ms at $(source "$dir/env" && echo "$RR_KUBE_SERVER") (owner pid $owner_pid)"
  echo "$dir/env"
}

cmd_stop_apiserver() {
  local dir; dir=$(abs_dir "${1:-}")
  [[ -f $dir/apiserver.args ]] || die "no instance in $dir"
  with_lock "$dir" terminate "$dir" kube-apiserver
  log "kube-apiserver of $dir stopped"
}
do_start_apiserver() {
  local dir=$1 timeout=$2 t0 pid
  t0=$(now_ms)
  for pid in $(pids_get "$dir" kube-apiserver); do
    pid_is "$pid" kube-apiserver "$dir" && die "kube-apiserver of $dir is already running (pid $pid)"
  done
  [[ -f $dir/logs/kube-apiserver.log ]] && echo "---- kube-local: restart $(date -Is) ----" >>"$dir/logs/kube-apiserver.log"
  pid=$(start_apiserver_proc "$dir")
  if ! wait_apiserver "$dir" "$pid" $((t0 + timeout * 1000)); then
    show_log "$dir/logs/kube-apiserver.log"
    terminate "$dir" kube-apiserver
    exit 1
  fi
  log "kube-apiserver of $dir ready again in $(( $(now_ms) - t0 )) ms"
}
cmd_start_apiserver() {
  local dir timeout
  dir=$(abs_dir "${1:-}"); shift
  # A restart may take as long as the instance's first start was allowed to.
  timeout=$(cat "$dir/start-timeout" 2>/dev/null || echo "${RR_KUBE_START_TIMEOUT:-60}")
  while (($#)); do
    case $1 in --timeout) timeout=${2:?}; shift ;; *) die "start-apiserver: unknown option $1" ;; esac; shift
  done
  [[ -f $dir/apiserver.args && -d $REG/$(inst_id "$dir") ]] || die "no instance in $dir"
  with_lock "$dir" do_start_apiserver "$dir" "$timeout"
}

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}; shift || true
case $cmd in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  stop-apiserver) cmd_stop_apiserver "$@" ;;
  start-apiserver) cmd_start_apiserver "$@" ;;
  cleanup-stale) mkdir -p "$REG"; cleanup_stale ;;
  env) d=$(abs_dir "${1:-}"); [[ -f $d/env ]] || die "no env in $d"; cat "$d/env" ;;
  __watchdog) cmd_watchdog "$(abs_dir "${1:-}")" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
