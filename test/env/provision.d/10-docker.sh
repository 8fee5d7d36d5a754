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

# local/busybox:1 — busybox as every common command; the test image for containers.
if ! docker image inspect local/busybox:1 >/dev/null 2>&1; then
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/www"
  cp /bin/busybox "$rootfs/bin/busybox"
  for cmd in sh sleep httpd echo cat ls true false wget nc env ps kill mkdir rm touch date id hostname grep; do
    ln -s busybox "$rootfs/bin/$cmd"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >> "$rootfs/etc/passwd"
  echo 'root:x:0:' > "$rootfs/etc/group"
  echo 'gitfleet busybox' > "$rootfs/www/index.html"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - local/busybox:1 >/dev/null
  docker tag local/busybox:1 local/busybox:2
  rm -rf "$rootfs"
fi
