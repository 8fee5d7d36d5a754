#!/usr/bin/env bash
# A real Docker engine without its default bridge (tests only use loopback, the
# host network or none), and a locally imported busybox image: no registry is
# reachable from here.
set -euo pipefail
sock=/var/run/docker.sock
if ! curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; then
  mkdir -p /var/log/gitfleet-test
  nohup dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/gitfleet-test/dockerd.log 2>&1 &
  for _ in $(seq 1 100); do
    curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null || { echo "dockerd did not start; see /var/log/gitfleet-test/dockerd.log" >&2; exit 1; }

# shellcheck source=../busybox-rootfs.sh
source "$(dirname "$0")/../busybox-rootfs.sh"

# local/busybox:1 and :2 — busybox as every common command; the test images for
# containers. :2 is a genuinely different image (its own id, a marker file and
# label), so tests can tell "the image changed" from "the tag was re-pointed".
build_busybox() { # tag [name] [extra docker import --change arguments…]
  local tag="$1" name="${2:-local/busybox}" rootfs
  shift $(( $# > 1 ? 2 : 1 ))
  rootfs="$(busybox_rootfs "$tag")"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' \
    -c "LABEL io.gitfleet.test-image=$tag" "$@" - "$name:$tag" >/dev/null
  rm -rf "$rootfs"
}
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
[ -n "$(image_id local/busybox:1)" ] || build_busybox 1
id2="$(image_id local/busybox:2)"
if [ -z "$id2" ] || [ "$id2" = "$(image_id local/busybox:1)" ]; then build_busybox 2; fi

# local/busybox-rich:1 — the image the ContainerDriver contract runs on: like a
# real image it brings its own labels, environment, a volume and an entrypoint,
# none of which the agent declared. Rebuilt whenever its recipe changes (the
# recipe label), so a machine provisioned earlier never tests another image.
rich_recipe=2
if [ "$(docker image inspect -f '{{index .Config.Labels "io.gitfleet.test-image-recipe"}}' local/busybox-rich:1 2>/dev/null)" != "$rich_recipe" ]; then
  build_busybox 1 local/busybox-rich \
    -c 'ENV RICH_IMAGE=yes GREETING=from-the-image' -c 'VOLUME /data' -c 'ENTRYPOINT ["/bin/entrypoint.sh"]' \
    -c 'LABEL org.opencontainers.image.title=busybox-rich maintainer=gitfleet-tests' \
    -c "LABEL io.gitfleet.test-image-recipe=$rich_recipe"
fi
