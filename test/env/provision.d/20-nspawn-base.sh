#!/usr/bin/env bash
# The root tree every test systemd host boots from (test/harness/nspawn.ts,
# test/env/host.sh): one debootstrap, cached, then copy-on-write overlays per host.
# The tree is rebuilt only when the recipe below changes (its hash is the stamp).
set -euo pipefail
cache="${GITFLEET_TEST_CACHE:-/var/cache/gitfleet-test}"
base="$cache/nspawn-base"
include="systemd,systemd-sysv,dbus,git,openssh-client,ca-certificates,iproute2"
# ansible-core: the side-by-side peer in bench/units-files.ts (its systemd module
# needs systemd as PID 1, which only a booted host has). Installed with apt in a
# second step: debootstrap's own dependency handling fails on python3-cryptography.
extra="ansible-core"
recipe="v1 bookworm minbase $include + $extra"
stamp="$(printf '%s' "$recipe" | sha256sum | cut -c1-16)"

if [ -f "$base/.gitfleet-base" ] && [ "$(cat "$base/.gitfleet-base")" = "$stamp" ]; then
  exit 0
fi

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/nspawn-base.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
debootstrap --variant=minbase --include="$include" bookworm "$tmp" http://deb.debian.org/debian >"$cache/nspawn-base.log" 2>&1 \
  || { cp "$tmp/debootstrap/debootstrap.log" "$cache/nspawn-base.debootstrap.log" 2>/dev/null || true
       echo "debootstrap failed; see $cache/nspawn-base.log" >&2; exit 1; }
# Package scripts must not try to start services in the chroot.
printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"; chmod 755 "$tmp/usr/sbin/policy-rc.d"
chroot "$tmp" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends "$@"' apt $extra >>"$cache/nspawn-base.log" 2>&1 \
  || { echo "apt-get install $extra in the base failed; see $cache/nspawn-base.log" >&2; exit 1; }
rm -f "$tmp/usr/sbin/policy-rc.d"

# --hostname must win, and every host needs its own machine id (systemd makes
# one at boot when the file is empty).
rm -f "$tmp/etc/hostname"
: > "$tmp/etc/machine-id"
rm -f "$tmp/var/lib/dbus/machine-id"
ln -sf /lib/systemd/system/multi-user.target "$tmp/etc/systemd/system/default.target"
# A quick, quiet boot: no consoles to serve, no timers waking up apt or man-db.
for unit in console-getty.service getty@.service serial-getty@.service getty.target \
            apt-daily.timer apt-daily-upgrade.timer man-db.timer dpkg-db-backup.timer \
            e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer; do
  ln -sf /dev/null "$tmp/etc/systemd/system/$unit"
done
mkdir -p "$tmp/opt/gitfleet"
apt_clean() { rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* 2>/dev/null || true; }
apt_clean
echo "$stamp" > "$tmp/.gitfleet-base"

# Swap in atomically-enough: hosts booted from the old tree keep their mounts.
if [ -d "$base" ]; then mv "$base" "$base.old.$$"; fi
mv "$tmp" "$base"
trap - EXIT
rm -rf "$base.old.$$"
