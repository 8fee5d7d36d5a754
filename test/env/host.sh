#!/usr/bin/env bash
# Boot, enter and power off test systemd hosts by hand (the same harness the
# tests use: test/harness/nspawn.ts). Needs root and the cached base tree
# (bash test/env/provision.sh).
#   test/env/host.sh boot NAME          boots NAME (node + this project bound at /opt/gitfleet)
#   test/env/host.sh exec NAME CMD…     runs CMD inside NAME, e.g. exec h1 systemctl status
#   test/env/host.sh poweroff NAME      shuts NAME down and removes its overlay and cgroups
#   test/env/host.sh list               hosts with state, running or left over
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
exec node --import "$root/node_modules/tsx/dist/esm/index.mjs" "$root/test/harness/nspawn.ts" "$@"
