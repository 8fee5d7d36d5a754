#!/usr/bin/env bash
# The Debian arm64 tree the arm64 test host boots from (test/harness/arm64.ts,
# test/e2e/arm64-host.test.ts): minbase + systemd + dbus + git + Debian's arm64
# Node.js, cached under /var/cache/gitfleet-test/arm64-base and rebuilt only when
# the recipe below changes (its hash is the stamp). Needs qemu-aarch64 registered
# with binfmt_misc (test/env/provision.d/25-arm64.sh does that, and runs this).
#   bash test/env/arm64-base.sh
# Debian 13 (trixie), not 12: bookworm's nodejs is 18, the agent needs >= 20.
# mmdebstrap, not debootstrap --foreign: debootstrap's second stage runs its
# package bookkeeping (perl over the whole package index) under emulation and
# took more than 12 minutes here; mmdebstrap resolves and unpacks with this
# machine's apt and runs only the maintainer scripts under qemu.
set -euo pipefail
cache="${GITFLEET_TEST_CACHE:-/var/cache/gitfleet-test}"
tree="$cache/arm64-base"
suite=trixie
include="systemd,systemd-sysv,dbus,nodejs,git,ca-certificates"
recipe="v2 $suite arm64 minbase $include no-credentials"
stamp="$(printf '%s' "$recipe" | sha256sum | cut -c1-16)"
log="$cache/arm64-base.log"
current() { [ -f "$tree/.gitfleet-base" ] && [ "$(cat "$tree/.gitfleet-base")" = "$stamp" ]; }

current && exit 0
mkdir -p "$cache"
# One build at a time: a second caller waits for the first and then finds the tree current.
exec 9>"$cache/arm64-base.lock"
flock 9
current && exit 0
echo $$ > "$cache/arm64-base.building"
started=$(date +%s)
tmp="$(mktemp -d "$cache/arm64-base.build.XXXXXX")"
trap 'rm -rf "$tmp"; rm -f "$cache/arm64-base.building"' EXIT

[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "arm64-base.sh: qemu-aarch64 is not registered with binfmt_misc (run test/env/provision.d/25-arm64.sh)" >&2; exit 1; }
# mmdebstrap keeps package scripts from starting services in the chroot (its own policy-rc.d).
mmdebstrap --mode=root --variant=minbase --arch=arm64 --include="$include" \
  "$suite" "$tmp" http://deb.debian.org/debian >"$log" 2>&1 \
  || { echo "arm64-base.sh: mmdebstrap failed; see $log" >&2; exit 1; }
[ "$(chroot "$tmp" /usr/bin/uname -m)" = aarch64 ] || { echo "arm64-base.sh: the tree does not run as aarch64" >&2; exit 1; }

# As the x86 base (provision.d/20-nspawn-base.sh): --hostname must win, every
# host makes its own machine id, multi-user, and a quick quiet boot.
rm -f "$tmp/etc/hostname"
: > "$tmp/etc/machine-id"
rm -f "$tmp/var/lib/dbus/machine-id"
ln -sf /lib/systemd/system/multi-user.target "$tmp/etc/systemd/system/default.target"
for unit in console-getty.service getty@.service serial-getty@.service getty.target \
            apt-daily.timer apt-daily-upgrade.timer man-db.timer dpkg-db-backup.timer \
            e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer; do
  ln -sf /dev/null "$tmp/etc/systemd/system/$unit"
done
# qemu-user refuses clone() with CLONE_NEWNS, which systemd uses to set up a
# service's credentials (ImportCredential=, LoadCredential=): journald, logind,
# tmpfiles and sysusers fail at step CREDENTIALS under emulation. No test unit
# and not the agent's use credentials, so they are dropped for every service
# of this emulated tree. Real arm64 hardware does not need this.
mkdir -p "$tmp/etc/systemd/system/service.d"
printf '[Service]\nImportCredential=\nLoadCredential=\n' > "$tmp/etc/systemd/system/service.d/10-qemu-user-no-credentials.conf"
mkdir -p "$tmp/opt/gitfleet"
rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* 2>/dev/null || true
echo "$stamp" > "$tmp/.gitfleet-base"

if [ -d "$tree" ]; then mv "$tree" "$tree.old.$$"; fi
mv "$tmp" "$tree"
rm -rf "$tree.old.$$"
echo "arm64-base.sh: $tree built in $(( $(date +%s) - started )) s" | tee -a "$log"
