#!/usr/bin/env bash
# Builds the container images offline from the repository's own Dockerfiles.
#
# 1. Base images docker.io/library/debian:bookworm and :bookworm-slim, made once from the
#    Debian mirror with mmdebstrap (minbase; the slim one without docs, man pages and
#    locales), packed as OCI archives with umoci and cached under $CACHE/images-base/.
# 2. `buildah bud --layers` on operator/image/Dockerfile, reflector/image/Dockerfile and
#    the optional ones below, with the base images imported under the names their FROM
#    lines resolve to. buildah's layer cache makes a second run with unchanged sources
#    fast.
# 3. Each image is written as a docker-archive to $CACHE/images/NAME.tar (atomically; an
#    archive that already holds the same image, by ID, is left as it is),
#    which `ctr images import` names as the image's tag.
#
# Usage: scripts/build-images.sh [options] [NAME...]      (default: every image)
#   --tag NAME=REF       tag image NAME as REF instead of localhost/NAME:dev
#   --out-dir DIR        write the archives to DIR instead of $CACHE/images
#   --rebuild-base       make the base images again from the mirror
#   --no-cache           build every layer again (base images stay cached)
# Env: RR_CACHE_DIR (default /var/cache/rr-operator), RR_DEBIAN_MIRROR (default
#      http://deb.debian.org/debian).
# Prints one line per image: name, reference, unpacked size, archive size, gzip size.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${RR_CACHE_DIR:-/var/cache/rr-operator}
BASE_DIR=$CACHE_ROOT/images-base
OUT_DIR=$CACHE_ROOT/images
MIRROR=${RR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

# name|Dockerfile (relative to the repository root)|required. Every build context is the
# repository root, so .dockerignore there decides what a build sees.
IMAGES=(
  "rr-operator|operator/image/Dockerfile|required"
  "rr-agent|reflector/image/Dockerfile|required"
  "calico-node-standin|tests/calico-node/Dockerfile|optional"
)

log() { echo "build-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

declare -A TAGS=()
REBUILD_BASE=0 NO_CACHE=0
SELECTED=()
while (($#)); do
  case $1 in
    --tag) [[ ${2:-} == *=* ]] || die "--tag needs NAME=REF"; TAGS[${2%%=*}]=${2#*=}; shift 2 ;;
    --out-dir) [[ -n ${2:-} ]] || die "--out-dir needs a directory"; OUT_DIR=$2; shift 2 ;;
    --rebuild-base) REBUILD_BASE=1; shift ;;
    --no-cache) NO_CACHE=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) SELECTED+=("$1"); shift ;;
  esac
done

known_name() {
  local entry
  for entry in "${IMAGES[@]}"; do [[ ${entry%%|*} == "$1" ]] && return 0; done
  return 1
}
for name in "${SELECTED[@]}" "${!TAGS[@]}"; do
  known_name "$name" || die "unknown image '$name' (known: $(printf '%s ' "${IMAGES[@]%%|*}"))"
done

ensure_tools() {
  local missing=() p
  for p in buildah mmdebstrap umoci; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      { apt-get update -qq; apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
  fi
}

# --- base images -------------------------------------------------------------------------

# What Debian's slim images leave out; dpkg keeps honouring it for packages installed later.
SLIM_DPKG_EXCLUDES=(
  'path-exclude=/usr/share/doc/*'
  'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*'
  'path-exclude=/usr/share/groff/*'
  'path-exclude=/usr/share/info/*'
  'path-exclude=/usr/share/lintian/*'
  'path-exclude=/usr/share/linda/*'
  'path-exclude=/usr/share/locale/*'
  'path-include=/usr/share/locale/locale.alias'
)

# As in Debian's own images: apt keeps no downloaded .debs, so a RUN apt-get install leaves
# only the installed files in its layer.
APT_DOCKER_CLEAN='DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";'

# Writes the minbase root filesystem of VARIANT (bookworm or bookworm-slim) to WORK/rootfs.tar.
make_rootfs() {
  local variant=$1 work=$2 args=(--variant=minbase --format=tar --skip=output/mknod --quiet)
  # merged-/usr set up by mmdebstrap itself, as debuerreotype does for Debian's images:
  # otherwise bookworm's init-system-helpers pulls in usrmerge and with it 50 MB of perl.
  args+=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
  if [[ $variant == *-slim ]]; then
    local opt; for opt in "${SLIM_DPKG_EXCLUDES[@]}"; do args+=(--dpkgopt="$opt"); done
  fi
  printf '%s\n' "$APT_DOCKER_CLEAN" >"$work/docker-clean"
  args+=(--customize-hook="upload $work/docker-clean /etc/apt/apt.conf.d/docker-clean")
  # With Dir::Cache::pkgcache "" above, mmdebstrap's final `apt-get clean` no longer finds
  # apt's 74 MB of package caches: remove them here, with dpkg's and debconf's backups.
  # shellcheck disable=SC2016
  args+=(--customize-hook='rm -f "$1"/var/cache/apt/*.bin "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old')
  mmdebstrap "${args[@]}" "$SUITE" "$work/rootfs.tar" \
    "deb $MIRROR $SUITE main" \
    "deb $MIRROR $SUITE-updates main" \
    "deb ${MIRROR%/debian}/debian-security $SUITE-security main" >"$work/mmdebstrap.log" 2>&1 ||
    { tail -30 "$work/mmdebstrap.log" >&2; return 1; }
}

# Packs TAR as the single layer of an OCI image and writes it as an oci-archive to ARCHIVE;
# the image's config digest (its ID once imported) goes to ARCHIVE.id.
pack_oci() {
  local tar=$1 archive=$2 work=$3 variant=$4 layout=$3/oci
  umoci init --layout "$layout"
  umoci new --image "$layout:$variant"
  umoci raw add-layer --image "$layout:$variant" --history.created_by "mmdebstrap --variant=minbase $SUITE" "$tar"
  umoci config --image "$layout:$variant" --no-history \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.cmd bash
  local manifest
  manifest=$(jq -r '.manifests[0].digest' "$layout/index.json")
  jq -r '.config.digest' "$layout/blobs/${manifest/://}" | sed 's/^sha256://' >"$archive.id.tmp"
  tar -C "$layout" -cf "$archive.tmp" .
  mv "$archive.tmp" "$archive"
  mv "$archive.id.tmp" "$archive.id"
}

ensure_base_archive() {
  local variant=$1 archive=$BASE_DIR/debian-$1.oci.tar
  if ((REBUILD_BASE == 0)) && [[ -s $archive && -s $archive.id ]]; then return 0; fi
  log "making debian:$variant from $MIRROR (mmdebstrap minbase, a few minutes)"
  local work start=$SECONDS
  work=$(mktemp -d "$BASE_DIR/.work-$variant.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  make_rootfs "$variant" "$work"
  pack_oci "$work/rootfs.tar" "$archive" "$work" "$variant"
  log "debian:$variant made in $((SECONDS - start)) s ($(du -h "$archive" | cut -f1) archive)"
}

# Imports the cached archive under REF unless buildah already holds exactly that image.
import_base() {
  local variant=$1 ref=docker.io/library/debian:$1 archive=$BASE_DIR/debian-$1.oci.tar
  local want have
  want=$(cat "$archive.id")
  have=$(buildah images --no-trunc --format '{{.ID}}' "$ref" 2>/dev/null | head -1 || true)
  [[ ${have#sha256:} == "$want" ]] && return 0
  log "importing $ref"
  buildah pull --quiet "oci-archive:$archive" >/dev/null
  buildah tag "$want" "$ref"
  # The pull also named it after the archive's ref (localhost/<ref>:latest); keep only REF.
  local name
  for name in $(buildah images --format '{{.Name}}:{{.Tag}}' --filter "id=$want"); do
    [[ $name == "$ref" ]] || buildah rmi "$name" >/dev/null
  done
}

# --- application images ------------------------------------------------------------------

build_image() {
  local name=$1 dockerfile=$2 ref=$3
  local start=$SECONDS args=(--pull=never --isolation chroot --layers --force-rm -f "$ROOT/$dockerfile" -t "$ref")
  ((NO_CACHE)) && args+=(--no-cache)
  args+=("${HOST_CCACHE_ARGS[@]}")
  log "building $ref from $dockerfile"
  buildah bud "${args[@]}" "$ROOT" >"$LOG_DIR/$name.log" 2>&1 ||
    { tail -40 "$LOG_DIR/$name.log" >&2; die "buildah bud failed for $dockerfile (full log: $LOG_DIR/$name.log)"; }
  local built=$SECONDS
  local out=$OUT_DIR/$name.tar tmp id
  # An archive of this very image is left as it is: clusters key their image seed on the
  # archives' modification times (scripts/kube-cluster.sh), so an unchanged image keeps it.
  id=$(buildah images --no-trunc --format '{{.ID}}' "$ref" | head -1)
  if [[ -s $out && -n $id && $(cat "$out.id" 2>/dev/null) == "$id" ]]; then
    log "$ref built in $((built - start)) s, its archive already up to date"
    return 0
  fi
  tmp=$(mktemp "$OUT_DIR/.$name.XXXXXX.tar"); rm -f "$tmp"
  buildah push --quiet "$ref" "docker-archive:$tmp:$ref" >/dev/null
  mv "$tmp" "$out"
  echo "$id" >"$out.id"
  log "$ref built in $((built - start)) s, archived in $((SECONDS - built)) s"
}

report_image() {
  local name=$1 ref=$2 out=$OUT_DIR/$1.tar
  local unpacked archive gz
  unpacked=$(buildah images --format '{{.Size}}' "$ref" | head -1)
  archive=$(du -h --apparent-size "$out" | cut -f1)
  # gzip's figure once per archive (a few CPU-seconds each).
  [[ $out.gz-size -nt $out ]] || gzip -1 -c "$out" | wc -c | numfmt --to=iec >"$out.gz-size"
  gz=$(cat "$out.gz-size")
  printf '%-22s %-44s unpacked %-9s archive %-6s gzip %s\n' "$name" "$ref" "$unpacked" "$archive" "$gz"
}

ensure_tools
command -v jq >/dev/null || die "jq is missing (scripts/setup.sh installs it)"
mkdir -p "$BASE_DIR" "$OUT_DIR"
exec 9>"$CACHE_ROOT/.build-images.lock"
flock 9
LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/build-images.XXXXXX")

# The host's compile cache, lent to every RUN step: the build stages compile the same sources
# with the same flags in the same relative tree (build/) as the tests' build, whose objects
# are then hits (cmake/Ccache.cmake keys a clone's objects by relative paths). On a machine
# with nothing cached that was most of the images' 10 minutes, a second compile of the project.
# ccache reads its system-wide file (/etc/ccache.conf, which Debian's ccache does not ship) to
# find the cache; the Dockerfiles' own cache mount serves a build without this (docker build).
# RR_IMAGE_HOST_CCACHE=0 builds with the cache mount alone.
HOST_CCACHE_ARGS=()
if [[ ${RR_IMAGE_HOST_CCACHE:-1} != 0 ]] && command -v ccache >/dev/null; then
  host_ccache=$(ccache -k cache_dir)
  mkdir -p "$host_ccache"
  printf 'cache_dir = /var/cache/rr-host-ccache\n' >"$LOG_DIR/ccache.conf"
  HOST_CCACHE_ARGS=(-v "$host_ccache:/var/cache/rr-host-ccache" -v "$LOG_DIR/ccache.conf:/etc/ccache.conf:ro")
fi

# The two bases are made side by side: mostly downloads and dpkg, on a cold cache only.
BASE_JOBS=()
for variant in "$SUITE" "$SUITE-slim"; do
  ensure_base_archive "$variant" & BASE_JOBS+=($!)
done
for job in "${BASE_JOBS[@]}"; do wait "$job" || die "making a base image failed"; done
for variant in "$SUITE" "$SUITE-slim"; do import_base "$variant"; done

BUILT=()
for entry in "${IMAGES[@]}"; do
  IFS='|' read -r name dockerfile need <<<"$entry"
  if ((${#SELECTED[@]})) && ! printf '%s\n' "${SELECTED[@]}" | grep -qx "$name"; then continue; fi
  if [[ ! -f $ROOT/$dockerfile ]]; then
    [[ $need == required ]] && die "$dockerfile is missing"
    log "skipping $name: $dockerfile is not in this tree"
    continue
  fi
  ref=${TAGS[$name]:-localhost/$name:dev}
  build_image "$name" "$dockerfile" "$ref"
  BUILT+=("$name|$ref")
done

for b in "${BUILT[@]}"; do report_image "${b%%|*}" "${b#*|}"; done
rm -rf "$LOG_DIR"
