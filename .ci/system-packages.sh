#!/usr/bin/env bash
# Debian packages the test suite uses (Swift for S3, a container registry and
# skopeo, squashfs-tools, Chromium, the PostgreSQL and Redis clients, iproute2 for the
# network namespace of trail/tests/e2e/test_lan.py, nginx in front of the deployed layout
# and the cluster), installed
# only when missing. `make test` and `make check-reliability` run this first:
# silent when everything is there; installs what is missing when it can (root,
# or sudo without a password, and apt-get); otherwise stops at once naming
# exactly what to install. .ci/run uses the same script.
set -euo pipefail
PACKAGES=(make postgresql-client redis-tools squashfs-tools docker-registry skopeo openssl swift swift-proxy swift-object swift-container swift-account memcached curl chromium iproute2 nginx redis-server)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these Debian packages, and this machine has no apt-get:" >&2
  echo "  ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "The tests need these Debian packages; install them, then run make test again:" >&2
  echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing the Debian packages the tests need: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
