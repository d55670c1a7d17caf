#!/bin/bash
# Runs a command inside the filesystem a kubelet would give one container, as
# tests/integration/support/pod_sandbox.cpp derives it from a rendered Pod:
#
#   unshare --mount --propagation private -- pod-sandbox.sh WORK_DIR \
#       --uid UID --gid GID [--read-only-root] [--bounding-set -all,+cap...] \
#       [--empty-dir PATH]... [--ro-bind SOURCE PATH]... -- COMMAND [ARG]...
#
# The container's root is the host's root filesystem seen through an overlay
# (so that mount points can be created without touching the host), made
# read-only with --read-only-root. Every --empty-dir PATH gets a fresh tmpfs of
# mode 0777 (as kubelet creates emptyDir volumes), every --ro-bind a read-only
# bind mount (projected and secret volumes). /dev, /proc and /sys are the
# host's. Paths resolve inside the container's root (/var/run -> /run).
# COMMAND runs chrooted there as UID:GID with no supplementary groups, no
# capabilities beyond --bounding-set and no_new_privs. Must run in a private
# mount namespace of its own (the unshare above): every mount here vanishes
# with the last process in it. WORK_DIR must exist; it gets a tmpfs too.
set -euo pipefail

die() { echo "pod-sandbox: $*" >&2; exit 125; }

[[ $# -ge 1 ]] || die "usage: pod-sandbox.sh WORK_DIR OPTIONS -- COMMAND..."
work=$1
shift
uid= gid= read_only_root= bounding=-all
empty_dirs=() bind_sources=() bind_targets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --uid) uid=$2; shift 2 ;;
    --gid) gid=$2; shift 2 ;;
    --read-only-root) read_only_root=1; shift ;;
    --bounding-set) bounding=$2; shift 2 ;;
    --empty-dir) empty_dirs+=("$2"); shift 2 ;;
    --ro-bind) bind_sources+=("$2"); bind_targets+=("$3"); shift 3 ;;
    --) shift; break ;;
    *) die "unknown option $1" ;;
  esac
done
[[ -n $uid && -n $gid ]] || die "--uid and --gid are required"
[[ $# -gt 0 ]] || die "no command"
[[ -d $work ]] || die "$work is not a directory"
# Refuse to mount anything unless this is a mount namespace of our own.
[[ $(readlink /proc/self/ns/mnt) != $(readlink /proc/1/ns/mnt) ]] || die "not in a private mount namespace"

mount -t tmpfs -o mode=0700 rr-pod-work "$work"
mkdir "$work/upper" "$work/overlay-work" "$work/root"
root=$work/root
mount -t overlay rr-pod-root -o "lowerdir=/,upperdir=$work/upper,workdir=$work/overlay-work" "$root"

# PATH as the container sees it, symlinks resolved inside its root.
inside() { chroot "$root" realpath -m -- "$1"; }

for path in "${empty_dirs[@]}"; do
  target=$root$(inside "$path")
  mkdir -p "$target"
  mount -t tmpfs -o mode=0777 emptydir "$target"
done
for i in "${!bind_sources[@]}"; do
  source=${bind_sources[$i]}
  target=$root$(inside "${bind_targets[$i]}")
  if [[ -d $source ]]; then
    mkdir -p "$target"
  else
    mkdir -p "$(dirname "$target")"
    [[ -e $target ]] || touch "$target"
  fi
  mount --bind "$source" "$target"
  mount -o remount,bind,ro "$target"
done
for fs in dev proc sys; do mount --rbind "/$fs" "$root/$fs"; done
mount -o remount,bind,ro "$root/sys"
if [[ -n $read_only_root ]]; then mount -o remount,bind,ro "$root"; fi

exec chroot "$root" setpriv --reuid "$uid" --regid "$gid" --clear-groups --no-new-privs \
  --inh-caps -all --bounding-set "$bounding" --pdeathsig TERM -- "$@"
