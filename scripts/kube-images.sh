#!/usr/bin/env bash
# kube-images.sh: the small base images a local cluster (scripts/kube-cluster.sh) needs
# offline, made from what is on this machine and packed as OCI archives with umoci:
#   pause    localhost/rr-pause:3.4       the sandbox image: the kubernetes tree's pause.c,
#                                         linked statically (scripts/build-kube.sh pause)
#   toolbox  localhost/rr-toolbox:<hash>  Debian's busybox-static plus curl and the
#                                         libraries it links, for tests (TLS-verifying clients)
# Archives are cached under ${RR_CACHE_DIR:-/var/cache/rr-operator}/images-base and rebuilt
# only when their inputs change (the tag carries a hash of the inputs). Each archive's
# index.json names its image in the io.containerd.image.name annotation, which is what
# `ctr images import` reads.
#
#   kube-images.sh base      build what is missing; print sourceable lines:
#                            RR_PAUSE_IMAGE, RR_PAUSE_TAR, RR_TOOLBOX_IMAGE, RR_TOOLBOX_TAR
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPTS=$(dirname "$SELF")
CACHE_ROOT=${RR_CACHE_DIR:-/var/cache/rr-operator}
OUT=$CACHE_ROOT/images-base
RECIPE=1                                  # bump when a recipe below changes

log() { echo "kube-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

# pack_image ROOTFS NAME:TAG OUT.tar ENTRYPOINT...: one layer holding ROOTFS.
pack_image() {
  local rootfs=$1 ref=$2 out=$3; shift 3
  local work; work=$(mktemp -d "$OUT/.pack.XXXXXX")
  local entry=() a
  for a in "$@"; do entry+=(--config.entrypoint "$a"); done
  umoci init --layout "$work/layout"
  umoci new --image "$work/layout:img"
  umoci insert --image "$work/layout:img" "$rootfs" /
  umoci config --image "$work/layout:img" "${entry[@]}" --config.workingdir / \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  umoci gc --layout "$work/layout"
  jq --arg n "$ref" '.manifests |= map(.annotations = {"io.containerd.image.name": $n,
      "org.opencontainers.image.ref.name": ($n | sub("^.*:"; ""))})' \
    "$work/layout/index.json" >"$work/index.json"
  mv -f "$work/index.json" "$work/layout/index.json"
  tar -C "$work/layout" -cf "$out.tmp" .
  mv -f "$out.tmp" "$out"
  rm -rf "$work"
}

build_pause() {                          # prints the image reference
  local bin ref=localhost/rr-pause:3.4 key
  bin=$("$SCRIPTS/build-kube.sh" pause)/pause
  key="$RECIPE $(sha256sum <"$bin")"
  if [[ ! -f $OUT/pause.tar || $(cat "$OUT/pause.key" 2>/dev/null) != "$key" ]]; then
    log "packing $ref"
    local root; root=$(mktemp -d "$OUT/.root.XXXXXX")
    install -m 0755 "$bin" "$root/pause"
    pack_image "$root" "$ref" "$OUT/pause.tar" /pause
    rm -rf "$root"
    echo "$key" >"$OUT/pause.key"
  fi
  echo "$ref"
}

# Copies a dynamically linked binary and every library it loads into ROOT.
copy_with_libs() {                       # copy_with_libs ROOT BINARY
  local root=$1 bin=$2 lib
  install -D -m 0755 "$bin" "$root$bin"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    [[ -e $root$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

build_toolbox() {                        # prints the image reference
  local key hash ref
  command -v busybox >/dev/null && [[ -x /bin/busybox ]] || die "busybox-static is not installed"
  file_is_static /bin/busybox || die "/bin/busybox is not static (install busybox-static)"
  command -v curl >/dev/null || die "curl is not installed"
  key="$RECIPE $(dpkg-query -W -f='${Package}=${Version} ' busybox-static curl libcurl4 2>/dev/null) $(sha256sum </bin/busybox) $(sha256sum </usr/bin/curl)"
  hash=$(sha256sum <<<"$key" | cut -c1-12)
  ref=localhost/rr-toolbox:$hash
  if [[ ! -f $OUT/toolbox.tar || $(cat "$OUT/toolbox.key" 2>/dev/null) != "$key" ]]; then
    log "packing $ref"
    local root applet; root=$(mktemp -d "$OUT/.root.XXXXXX")
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,www,root}
    chmod 1777 "$root/tmp"
    install -m 0755 /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list-full); do
      [[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
    done
    copy_with_libs "$root" /usr/bin/curl
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    echo "rr-toolbox" >"$root/www/index.html"
    pack_image "$root" "$ref" "$OUT/toolbox.tar" /bin/sh
    rm -rf "$root"
    echo "$key" >"$OUT/toolbox.key"
  fi
  echo "$ref"
}
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }

cmd_base() {
  command -v umoci >/dev/null || die "umoci is not installed (scripts/setup.sh)"
  mkdir -p "$OUT"
  exec 9>"$OUT/.lock"
  flock -w 600 9 || die "timed out waiting for $OUT/.lock"
  local pause toolbox
  pause=$(build_pause)
  toolbox=$(build_toolbox)
  printf 'RR_PAUSE_IMAGE=%s\nRR_PAUSE_TAR=%s\nRR_TOOLBOX_IMAGE=%s\nRR_TOOLBOX_TAR=%s\n' \
    "$pause" "$OUT/pause.tar" "$toolbox" "$OUT/toolbox.tar"
}

case ${1:-} in
  base) cmd_base ;;
  *) sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
