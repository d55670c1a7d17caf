# shellcheck shell=bash
# The image seed of scripts/kube-cluster.sh. Every node starts with the same images; they are
# imported once, into a seed: a containerd root of its own under $SEEDS, made by a containerd
# started for the purpose and stopped. Each node's root is then a hard-linked copy of the seed
# (its two bolt databases, which containerd writes, copied), made before the node's containerd
# starts: committed layers and blobs are never written in place, so the nodes can share them.
# Importing the archives into each node instead cost about 5 CPU-seconds and 5 s per node.
#
# A seed is named by its archives (paths, sizes, modification times) and containerd's version.
# Several clusters start at once, and the archives can change between two starts (an image
# rebuilt), so seeds are made and removed under $SEEDS/.lock, and a start holds its seed (a
# shared lock on the seed's use.lock) from seed_acquire to seed_release: making a seed removes
# only the seeds no start holds.
#
# Sourced; the caller sets SEEDS and defines log and die.
#   seed_acquire TAR...   SEED is the complete seed of TARs (made now if missing), held
#   seed_copy ROOT        ROOT becomes a copy of SEED, hard-linked where it can be
#   seed_release          SEED is no longer held (also when the process ends)

seed_key() {                              # seed_key TAR...
  { containerd --version; stat -c '%n %s %Y' "$@"; } | sha256sum | cut -c1-16
}

seed_acquire() {
  local key
  mkdir -p "$SEEDS"
  key=$(seed_key "$@")
  SEED=$SEEDS/$key/root
  exec {SEEDS_LOCK_FD}>"$SEEDS/.lock"
  flock -w 300 "$SEEDS_LOCK_FD" || die "timed out waiting for $SEEDS/.lock"
  if [[ ! -f $SEEDS/$key/complete ]]; then
    seed_prune "$key"
    (seed_make "$key" "$@") || die "could not make the image seed $key"
  fi
  # Taken while $SEEDS/.lock is held, so no start's prune can come between.
  exec {SEED_FD}>>"$SEEDS/$key/use.lock"
  flock -s "$SEED_FD"
  exec {SEEDS_LOCK_FD}>&-
}

seed_release() {
  [[ -n ${SEED_FD:-} ]] && exec {SEED_FD}>&-
  SEED_FD=
}

seed_copy() {
  local root=$1 db
  [[ -n ${SEED_FD:-} && -f ${SEED%/root}/complete ]] || die "the image seed $SEED is not held"
  rm -rf "$root"
  cp -al "$SEED" "$root" 2>/dev/null || { rm -rf "$root"; cp -a "$SEED" "$root"; }
  for db in io.containerd.metadata.v1.bolt/meta.db io.containerd.snapshotter.v1.overlayfs/metadata.db; do
    rm -f "$root/$db"; cp "$SEED/$db" "$root/$db"
  done
}

# seed_prune KEY: every other seed that no start holds is removed ($SEEDS/.lock held).
seed_prune() {
  local d fd
  for d in "$SEEDS"/*/; do
    [[ -d $d && $(basename "$d") != "$1" ]] || continue
    exec {fd}>>"$d/use.lock"
    if flock -n -x "$fd"; then rm -rf "$d"
    else log "image seed $(basename "$d") is in use by a start: kept"; fi
    exec {fd}>&-
  done
}

# seed_make KEY TAR... (in a subshell, $SEEDS/.lock held): the seed, made from scratch. Its
# variables are the subshell's own globals: the EXIT trap runs after the function returned.
seed_make() {
  key=$1 pid='' t0=$(date +%s%3N); shift
  rm -rf "${SEEDS:?}/$key"
  mkdir -p "$SEED"
  tmp=$(mktemp -d /tmp/rr-seed.XXXXXX)   # a short path for the socket
  trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
  seed_containerd_config "$tmp" >"$tmp/config.toml"
  containerd --config "$tmp/config.toml" </dev/null >"$tmp/containerd.log" 2>&1 {SEEDS_LOCK_FD}>&- &
  pid=$!
  n=0
  until ctr --address "$tmp/c.sock" version >/dev/null 2>&1; do
    ((n++ < 300)) || die "the seed's containerd did not start: $(tail -n 5 "$tmp/containerd.log")"
    sleep 0.2
  done
  for tar in "$@"; do
    ctr --address "$tmp/c.sock" -n k8s.io images import "$tar" >/dev/null || die "could not import $tar into the seed"
  done
  kill -TERM "$pid"; wait "$pid" || true
  pid=
  touch "$SEEDS/$key/complete"
  log "image seed $key: $# archive(s) imported in $(( $(date +%s%3N) - t0 )) ms"
}

seed_containerd_config() {               # seed_containerd_config TMP
  cat <<EOT
version = 2
root = "$SEED"
state = "$1/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$1/c.sock"
[ttrpc]
  address = "$1/c.sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$1/opt"
EOT
}
