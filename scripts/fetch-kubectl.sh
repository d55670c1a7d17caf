#!/usr/bin/env bash
# Obtains kubectl 1.20 (Debian's kubernetes-client package) into a private cache
# directory, without installing the package: a preinstalled `kubectl` package owns
# /usr/bin/kubectl, so `apt-get install kubernetes-client` would collide.
#
# Usage: scripts/fetch-kubectl.sh        # prints the kubectl path on stdout
# Cache: ${RR_CACHE_DIR:-/var/cache/rr-operator}/kubectl-1.20/kubectl
set -euo pipefail

CACHE_ROOT=${RR_CACHE_DIR:-/var/cache/rr-operator}
DEST_DIR=$CACHE_ROOT/kubectl-1.20
DEST=$DEST_DIR/kubectl

if [[ -x $DEST ]]; then echo "$DEST"; exit 0; fi

log() { echo "fetch-kubectl: $*" >&2; }
mkdir -p "$DEST_DIR"
exec 9>"$DEST_DIR/.lock"
flock 9
if [[ -x $DEST ]]; then echo "$DEST"; exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# apt-get download runs as the _apt user when possible; let it write here.
chmod 0777 "$tmp"
log "downloading Debian's kubernetes-client package"
if ! apt-get download -qq kubernetes-client >&2; then
  log "apt-get download failed; refreshing the package lists once"
  apt-get update -qq >&2
  apt-get download -qq kubernetes-client >&2
fi
deb=$(ls "$tmp"/kubernetes-client_*.deb 2>/dev/null | head -1)
[[ -n $deb ]] || { log "no kubernetes-client .deb was downloaded"; exit 1; }
dpkg -x "$deb" "$tmp/root"
[[ -x $tmp/root/usr/bin/kubectl ]] || { log "the package holds no usr/bin/kubectl"; exit 1; }
cp "$tmp/root/usr/bin/kubectl" "$DEST.tmp"
chmod 0755 "$DEST.tmp"
"$DEST.tmp" version --client --short >&2 || { log "the extracted kubectl does not run"; rm -f "$DEST.tmp"; exit 1; }
mv "$DEST.tmp" "$DEST"
log "cached in $DEST"
echo "$DEST"
