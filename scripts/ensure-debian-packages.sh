#!/usr/bin/env bash
# Install Debian packages the tests use (docker-compose to validate the compose file,
# prometheus for the observability test, chromium for the report test) when missing and
# when we can (root + apt).
# Without root or apt it only warns: the tests that need them then say why they skip.
set -u
need=()
for pkg in "$@"; do
  case "$pkg" in
    docker-compose) command -v docker-compose >/dev/null 2>&1 || need+=("$pkg") ;;
    prometheus) command -v prometheus >/dev/null 2>&1 || need+=("$pkg") ;;
    chromium) command -v chromium >/dev/null 2>&1 || need+=("$pkg") ;;
    *) dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg") ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: missing Debian packages ${need[*]} (needs root and apt-get); related tests will skip" >&2
  exit 0
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
