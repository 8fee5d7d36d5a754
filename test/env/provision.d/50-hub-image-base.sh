#!/usr/bin/env bash
# The locally imported Debian base the hub container image builds FROM
# (packaging/container/make-base.sh: debootstrap once, cached; import skipped
# when the image already exists). Needs dockerd (10-docker.sh) running.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
bash "$root/packaging/container/make-base.sh"
