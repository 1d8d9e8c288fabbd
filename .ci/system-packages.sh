#!/usr/bin/env bash
# Debian packages the test suite uses, installed only when missing.
set -euo pipefail
PACKAGES=(make postgresql-client redis-tools squashfs-tools docker-registry skopeo openssl swift swift-proxy swift-object swift-container swift-account memcached curl chromium)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "all present: ${PACKAGES[*]}"
fi
