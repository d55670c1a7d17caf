#!/usr/bin/env bash
# Builds the Kubernetes v1.20.2 binaries from Debian bookworm's `kubernetes` source
# package, once per machine: kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy (all Go, CGO_ENABLED=0) and `pause` (the sandbox process, the
# tree's build/pause/linux/pause.c linked statically with gcc). The binaries are cached
# outside the build tree, keyed by version; a run builds only the ones missing from the
# cache (a machine with kube-apiserver cached builds only the others), and a run with
# all of them present only prints the cache path.
#
# Usage: scripts/build-kube.sh [BINARY...]   # default: all; prints the bin directory
set -euo pipefail

KUBE_VERSION=v1.20.2
PAUSE_VERSION=3.4
CACHE_ROOT=${RR_CACHE_DIR:-/var/cache/rr-operator}
BIN_DIR=$CACHE_ROOT/kube-$KUBE_VERSION/bin
ALL=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy pause)

log() { echo "build-kube: $*" >&2; }
WANTED=("$@")
((${#WANTED[@]})) || WANTED=("${ALL[@]}")
for b in "${WANTED[@]}"; do
  [[ " ${ALL[*]} " == *" $b "* ]] || { log "unknown binary '$b' (known: ${ALL[*]})"; exit 2; }
done

missing() {
  local b
  for b in "${WANTED[@]}"; do [[ -x $BIN_DIR/$b ]] || echo "$b"; done
}
[[ -z $(missing) ]] && { echo "$BIN_DIR"; exit 0; }

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build-kube.lock"
flock 9
mapfile -t MISSING < <(missing)
((${#MISSING[@]})) || { echo "$BIN_DIR"; exit 0; }
log "building ${MISSING[*]}"

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

# The tree always sits at the same path: Go's build cache keys a package by its
# directory (no -trimpath), so a later build of other binaries reuses the first one's work.
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

# Only kube-apiserver imports the generated OpenAPI definitions.
if [[ " ${MISSING[*]} " == *" kube-apiserver "* ]]; then
  log "generating OpenAPI definitions"
  make gen_openapi >"$WORK/gen_openapi.log" 2>&1 || { tail -30 "$WORK/gen_openapi.log" >&2; exit 1; }
fi

V=k8s.io/kubernetes/vendor/k8s.io/component-base/version
LDFLAGS="-s -w -X $V.gitVersion=$KUBE_VERSION -X $V.gitMajor=1 -X $V.gitMinor=20 \
 -X $V.gitTreeState=clean -X $V.buildDate=1970-01-01T00:00:00Z \
 -X k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
TMP_BIN=$BIN_DIR.tmp
rm -rf "$TMP_BIN"; mkdir -p "$TMP_BIN" "$BIN_DIR"
for b in "${MISSING[@]}"; do
  if [[ $b == pause ]]; then
    log "building pause $PAUSE_VERSION (gcc -static)"
    gcc -Os -static -DVERSION="$PAUSE_VERSION" -o "$TMP_BIN/pause" build/pause/linux/pause.c
    strip "$TMP_BIN/pause"
  else
    log "building $b (a cold build takes a few minutes)"
    go build -ldflags "$LDFLAGS" -o "$TMP_BIN/$b" "./cmd/$b"
  fi
  mv -f "$TMP_BIN/$b" "$BIN_DIR/$b"      # each one lands as soon as it is built
done
rm -rf "$TMP_BIN" "$WORK"
log "cached in $BIN_DIR"
echo "$BIN_DIR"
