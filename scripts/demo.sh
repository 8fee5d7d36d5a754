#!/usr/bin/env bash
# The README's first command: a live gitfleet fleet on this machine (hub, Git
# server, three systemd hosts with installed agents and real containers).
# Ctrl-C cleans up. Needs root for the hosts (else: hub + one local agent).
#   bash scripts/demo.sh        (or: npm run demo)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -d "$root/node_modules/tsx" ] || { echo "demo: run \"npm ci\" in $root first" >&2; exit 2; }
[ -f "$root/dist/gitfleet.mjs" ] || node "$root/scripts/build.mjs"
if ! docker image inspect local/busybox:1 >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    # A fresh machine: install and start the real components first (Docker
    # engine, systemd-nspawn base tree…); cached, so this happens once.
    echo "demo: provisioning this machine first (Docker engine, systemd host base tree; a few minutes the first time)…"
    bash "$root/test/env/provision.sh"
  else
    echo "demo: the Docker engine or the image local/busybox:1 is missing; as root run: bash $root/test/env/provision.sh" >&2
    exit 2
  fi
fi
exec node --import "$root/node_modules/tsx/dist/esm/index.mjs" "$root/scripts/demo.mjs"
