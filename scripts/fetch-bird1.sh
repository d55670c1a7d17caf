#!/usr/bin/env bash
# BIRD 1.6 (Debian's `bird`, the closest packaged relative of calico-node's
# BIRD) for the calico-node stand-in's tests. `bird` and `bird2` conflict as
# packages, so 1.6 is unpacked into a private cache instead of installed:
#   $RR_BIRD1_DIR (default /var/cache/rr-operator/bird1)/usr/sbin/{bird,birdc}
# Idempotent: a present, working copy means no network I/O. Prints the directory.
set -euo pipefail
DIR=${RR_BIRD1_DIR:-/var/cache/rr-operator/bird1}
BIRD=$DIR/usr/sbin/bird
BIRDC=$DIR/usr/sbin/birdc

works() {
  [[ -x $BIRD && -x $BIRDC ]] || return 1
  "$BIRD" --version 2>&1 | grep -q '^BIRD version 1\.6\.' || return 1
  ! ldd "$BIRD" "$BIRDC" | grep -q 'not found'
}

if ! works; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # apt-get download runs as _apt when it can; a world-writable scratch dir lets it.
  chmod 0777 "$tmp"
  if ! (cd "$tmp" && apt-get download bird >/dev/null 2>&1); then
    apt-get update -qq >/dev/null
    (cd "$tmp" && apt-get download bird >/dev/null)
  fi
  deb=$(ls "$tmp"/bird_1.6*.deb)
  mkdir -p "$(dirname "$DIR")"
  rm -rf "$DIR.new"
  dpkg-deb -x "$deb" "$DIR.new"
  rm -rf "$DIR"
  mv "$DIR.new" "$DIR"
  if ! works; then
    echo "fetch-bird1: $BIRD does not run (missing libraries?): $(ldd "$BIRD" "$BIRDC" | grep 'not found' || true)" >&2
    exit 1
  fi
fi
echo "$DIR"
