#!/usr/bin/env bash
# Installs and starts every real component the test suite needs, idempotently:
# CI runs it on a fresh machine, developers run it once by hand.
#   bash test/env/provision.sh
# Heavy artifacts (the debootstrap tree, imported images) are cached under
# /var/cache/gitfleet-test so later runs on the same machine take seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export GITFLEET_TEST_CACHE="${GITFLEET_TEST_CACHE:-/var/cache/gitfleet-test}"
mkdir -p "$GITFLEET_TEST_CACHE"

log() { printf '[provision %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

packages=(curl ca-certificates git docker.io busybox-static systemd-container debootstrap openssh-server chromium
          docker-compose iproute2 gnupg postgresql ansible python3-requests docker-registry faketime age haproxy prometheus
          mmdebstrap arch-test)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

for step in "$here"/provision.d/*.sh; do
  [ -e "$step" ] || continue
  log "$(basename "$step")"
  bash "$step"
done
log "ready"
