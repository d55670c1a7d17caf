#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager v1.20.2 from Debian
# bookworm's `kubernetes` source package, once per machine. The binaries are cached
# outside the build tree, keyed by version; a second run only prints the cache path.
#
# Usage: scripts/build-kube.sh            # prints the bin directory on stdout
set -euo pipefail

KUBE_VERSION=v1.20.2
CACHE_ROOT=${RR_CACHE_DIR:-/var/cache/rr-operator}
BIN_DIR=$CACHE_ROOT/kube-$KUBE_VERSION/bin
BINARIES=(kube-apiserver kube-controller-manager)

have_all() {
  for b in "${BINARIES[@]}"; do [[ -x $BIN_DIR/$b ]] || return 1; done
}
if have_all; then echo "$BIN_DIR"; exit 0; fi

log() { echo "build-kube: $*" >&2; }
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build-kube.lock"
flock 9
if have_all; then echo "$BIN_DIR"; exit 0; fi

SRC_LIST=/etc/apt/sources.list.d/rr-operator-src.sources
if [[ ! -f $SRC_LIST ]]; then
  log "adding a deb-src entry for bookworm"
  cat >"$SRC_LIST" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq
fi

WORK=$CACHE_ROOT/kube-$KUBE_VERSION/work
rm -rf "$WORK"; mkdir -p "$WORK"
cd "$WORK"
log "fetching Debian's kubernetes source package"
apt-get source -qq kubernetes >/dev/null 2>&1 || { apt-get update -qq; apt-get source -qq kubernetes >/dev/null; }
TREE=$(find "$WORK" -maxdepth 1 -type d -name 'kubernetes-*' | head -1)
[[ -n $TREE ]] || { log "no kubernetes-* tree after apt-get source"; exit 1; }

export GOPATH=$WORK/gopath GO111MODULE=off GOFLAGS= CGO_ENABLED=0
export GOCACHE=$CACHE_ROOT/go-build-cache
mkdir -p "$GOPATH/src/k8s.io"
ln -sfn "$TREE" "$GOPATH/src/k8s.io/kubernetes"
cd "$GOPATH/src/k8s.io/kubernetes"

# The vendored reflect2 v1.0.1 breaks under Go >= 1.18; Debian ships 1.0.2.
rm -rf vendor/github.com/modern-go/reflect2
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2

log "generating OpenAPI definitions"
make gen_openapi >"$WORK/gen_openapi.log" 2>&1 || { tail -30 "$WORK/gen_openapi.log" >&2; exit 1; }

V=k8s.io/kubernetes/vendor/k8s.io/component-base/version
LDFLAGS="-s -w -X $V.gitVersion=$KUBE_VERSION -X $V.gitMajor=1 -X $V.gitMinor=20 \
 -X $V.gitTreeState=clean -X $V.buildDate=1970-01-01T00:00:00Z \
 -X k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
mkdir -p "$BIN_DIR.tmp"
for b in "${BINARIES[@]}"; do
  log "building $b (a cold build takes a few minutes)"
  go build -ldflags "$LDFLAGS" -o "$BIN_DIR.tmp/$b" "./cmd/$b"
done
rm -rf "$BIN_DIR"; mv "$BIN_DIR.tmp" "$BIN_DIR"
rm -rf "$WORK"
log "cached in $BIN_DIR"
echo "$BIN_DIR"
