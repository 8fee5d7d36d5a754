# Sourced by the provisioning steps that import the busybox test images (Docker
# and Podman), so both engines run the very same files.
# busybox_rootfs TAG → prints a new directory holding the image's root tree.
busybox_rootfs() {
  local tag="$1" rootfs
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
  echo "$tag" > "$rootfs/etc/gitfleet-image"
  # What real images start with: an entrypoint script that runs its arguments.
  printf '#!/bin/sh\nexec "$@"\n' > "$rootfs/bin/entrypoint.sh"
  chmod 755 "$rootfs/bin/entrypoint.sh"
  printf '%s\n' "$rootfs"
}
