#!/usr/bin/env bash
# arm64 test hosts under emulation: Debian's qemu-user (static) from
# bookworm-backports, registered with binfmt_misc (lost at every reboot, so
# done on every run), then the cached arm64 tree (test/env/arm64-base.sh;
# seconds when it is current).
# With GITFLEET_ARM64_IN_BACKGROUND=1 (.ci/run) a build that is needed runs
# detached while the other test layers run; test/harness/arm64.ts waits for it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${GITFLEET_TEST_CACHE:-/var/cache/gitfleet-test}"
mkdir -p "$cache"

# qemu >= 8: bookworm's 7.2 refuses clone(CLONE_PIDFD), so the arm64 systemd
# (257) cannot start a single service ("Failed to spawn executor").
qemu_major() { /usr/bin/qemu-aarch64 --version 2>/dev/null | sed -n 's/^qemu-aarch64 version \([0-9]*\).*/\1/p'; }
# qemu-user-binfmt ships the binfmt entry (/usr/lib/binfmt.d/qemu-aarch64.conf).
if [ "$(qemu_major)" = "" ] || [ "$(qemu_major)" -lt 8 ] || [ ! -f /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
  sources=/etc/apt/sources.list.d/gitfleet-test-backports.sources
  if [ ! -f "$sources" ]; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$sources"
  fi
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-user qemu-user-binfmt >/dev/null
fi
[ "$(qemu_major)" -ge 8 ] || { echo "25-arm64.sh: qemu-aarch64 >= 8 is needed, found: $(/usr/bin/qemu-aarch64 --version | head -1)" >&2; exit 1; }

mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
# Always afresh: with the F flag the kernel keeps the qemu binary it opened at
# registration, so an upgraded qemu counts only once registered again.
[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64
# The entry qemu's package ships: magic of an aarch64 ELF, flags OPF (F: usable inside nspawn roots).
grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
  || { echo "25-arm64.sh: qemu-aarch64 is registered without the F flag (see /usr/lib/binfmt.d/qemu-aarch64.conf)" >&2; exit 1; }

if [ "${GITFLEET_ARM64_IN_BACKGROUND:-0}" = 1 ]; then
  # nice: it shares the cores with the tests running meanwhile.
  setsid nice -n 10 bash "$here/arm64-base.sh" </dev/null >>"$cache/arm64-base.background.log" 2>&1 &
  echo "25-arm64.sh: building the arm64 tree in the background when needed (pid $!, log $cache/arm64-base.log)"
else
  bash "$here/arm64-base.sh"
fi
