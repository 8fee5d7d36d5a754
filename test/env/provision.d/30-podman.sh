#!/usr/bin/env bash
# Podman (Debian's 4.3) for the tests that run the agent's container driver on
# Podman's Docker-compatible API, and the same busybox test images as the Docker
# engine has (10-docker.sh), imported into Podman's own (rootful) storage.
# The API service itself is started by test/harness/podman.ts with the test
# containers.conf (test/env/podman/containers.conf).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# catatonit: the init that `init: true` needs (a Recommends of podman).
# The CNI dnsname plugin: name resolution (aliases) on Podman's bridge networks,
# which a Debian user installs for it (it only Enhances podman); iptables: the
# CNI bridge and portmap plugins' NAT for published ports (only Suggested).
missing=()
for p in podman catatonit golang-github-containernetworking-plugin-dnsname iptables; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
export CONTAINERS_CONF="$here/../podman/containers.conf"
# shellcheck source=../busybox-rootfs.sh
source "$here/../busybox-rootfs.sh"

import_busybox() { # tag [name] [extra podman import --change arguments…]
  local tag="$1" name="${2:-local/busybox}" rootfs
  shift $(( $# > 1 ? 2 : 1 ))
  rootfs="$(busybox_rootfs "$tag")"
  tar -C "$rootfs" -c . | podman import -q -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' \
    -c "LABEL io.gitfleet.test-image=$tag" "$@" - "$name:$tag" >/dev/null
  rm -rf "$rootfs"
}
label_of() { podman image inspect --format "{{index .Labels \"$2\"}}" "$1" 2>/dev/null || true; }
image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

[ -n "$(image_id local/busybox:1)" ] || import_busybox 1
id2="$(image_id local/busybox:2)"
if [ -z "$id2" ] || [ "$id2" = "$(image_id local/busybox:1)" ]; then import_busybox 2; fi

# The contract's image (see 10-docker.sh): same recipe, same recipe label.
# podman import takes one key=value per ENV or LABEL change (docker takes several).
rich_recipe=2
if [ "$(label_of local/busybox-rich:1 io.gitfleet.test-image-recipe)" != "$rich_recipe" ]; then
  import_busybox 1 local/busybox-rich \
    -c 'ENV RICH_IMAGE=yes' -c 'ENV GREETING=from-the-image' -c 'VOLUME /data' -c 'ENTRYPOINT ["/bin/entrypoint.sh"]' \
    -c 'LABEL org.opencontainers.image.title=busybox-rich' -c 'LABEL maintainer=gitfleet-tests' \
    -c "LABEL io.gitfleet.test-image-recipe=$rich_recipe"
fi
