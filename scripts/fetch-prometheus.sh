#!/usr/bin/env bash
# Prometheus with Kubernetes service discovery, for the tests that scrape a real cluster.
# Bookworm's `prometheus` package (2.42) is built without kubernetes_sd_configs; Debian's
# next release (trixie) builds it in. This unpacks trixie's `prometheus` and `promtool`
# packages from the Debian mirror into a private cache (the installed bookworm package
# stays as it is):
#   $RR_PROMETHEUS_DIR (default /var/cache/rr-operator/prometheus)/usr/bin/{prometheus,promtool}
# Every download is verified: InRelease against Debian's archive keyring (gpgv), the
# Packages index against InRelease's SHA256, each .deb against the index's SHA256.
# Idempotent: a present copy that loads kubernetes_sd_configs means no network I/O.
# Prints the directory.
set -euo pipefail
DIR=${RR_PROMETHEUS_DIR:-/var/cache/rr-operator/prometheus}
MIRROR=${RR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

works() {  # both binaries run, and promtool accepts a Kubernetes discovery configuration
  local d=$1 cfg
  [[ -x $d/usr/bin/prometheus && -x $d/usr/bin/promtool ]] || return 1
  "$d/usr/bin/prometheus" --version >/dev/null 2>&1 || return 1
  cfg=$(mktemp)
  printf 'scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs:\n      - role: pod\n' >"$cfg"
  "$d/usr/bin/promtool" check config "$cfg" >/dev/null 2>&1
  local rc=$?
  rm -f "$cfg"
  return $rc
}

die() { echo "fetch-prometheus: $*" >&2; exit 1; }

if ! works "$DIR"; then
  command -v gpgv >/dev/null && [[ -r $KEYRING ]] || die "gpgv and $KEYRING are needed (scripts/setup.sh installs them)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -fsS --retry 3 -o "$tmp/InRelease" "$MIRROR/dists/$SUITE/InRelease" || die "cannot download $SUITE's InRelease"
  gpgv --keyring "$KEYRING" --output "$tmp/Release" "$tmp/InRelease" 2>"$tmp/gpgv.log" ||
    die "$SUITE's InRelease is not signed by Debian's archive keys: $(cat "$tmp/gpgv.log")"
  want=$(awk '/^SHA256:/ {on = 1; next} /^[^ ]/ {on = 0} on && $3 == "main/binary-amd64/Packages.xz" {print $1}' "$tmp/Release")
  [[ -n $want ]] || die "no SHA256 for main/binary-amd64/Packages.xz in $SUITE's Release"
  curl -fsS --retry 3 -o "$tmp/Packages.xz" "$MIRROR/dists/$SUITE/main/binary-amd64/Packages.xz" ||
    die "cannot download $SUITE's Packages index"
  [[ $(sha256sum "$tmp/Packages.xz" | awk '{print $1}') == "$want" ]] || die "$SUITE's Packages.xz does not match its Release"
  xz -dc "$tmp/Packages.xz" >"$tmp/Packages"
  rm -rf "$DIR.new"
  mkdir -p "$DIR.new"
  for pkg in prometheus promtool; do
    read -r file sum < <(awk -v p="$pkg" '
      /^Package: / {name = $2} /^Filename: / {file = $2} /^SHA256: / {sum = $2}
      /^$/ {if (name == p) {print file, sum; exit} name = file = sum = ""}' "$tmp/Packages")
    [[ -n ${file:-} && -n ${sum:-} ]] || die "$pkg is not in $SUITE's Packages index"
    curl -fsS --retry 3 -o "$tmp/$pkg.deb" "$MIRROR/$file" || die "cannot download $MIRROR/$file"
    [[ $(sha256sum "$tmp/$pkg.deb" | awk '{print $1}') == "$sum" ]] || die "$file does not match its SHA256"
    dpkg-deb -x "$tmp/$pkg.deb" "$DIR.new"
  done
  works "$DIR.new" || die "the unpacked Prometheus does not run or has no Kubernetes discovery"
  rm -rf "$DIR"
  mv "$DIR.new" "$DIR"
fi
echo "$DIR"
