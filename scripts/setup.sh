#!/usr/bin/env bash
# Idempotent setup: Debian packages, npm ci, native addons, TypeScript. Fast (<5 s) when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(nftables libnftables-dev iproute2 busybox-static runc podman containerd iperf3 etcd-server etcd-client
  containernetworking-plugins iputils-ping netcat-openbsd tcpdump build-essential python3 pkg-config chromium
  fonts-dejavu-core)  # chromium: the console's browser tests; fonts-dejavu-core: the text of the benchmark charts (resvg)
missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm ci when the lockfile changed since the last install (npm writes node_modules/.package-lock.json).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch node_modules/.package-lock.json
fi

bash scripts/build.sh

# Berth's OCI hooks for podman and CRI-O, with this checkout's absolute berth-hook path:
# `podman --hooks-dir runtime-hooks/hooks.d …`, or `berth hooks install` for /etc/containers/oci/hooks.d.
node runtime-hooks/bin/berth.js hooks install --dir runtime-hooks/hooks.d >/dev/null
