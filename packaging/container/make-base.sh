#!/usr/bin/env bash
# The hub image's base, made offline-capable: a debootstrap'ed minimal Debian
# 12 (with git for reading the fleet repo) imported into the local Docker
# engine, so the Dockerfile's FROM never needs a registry. Needs the Debian apt
# mirror once; the tree is cached and the import skipped when the image exists.
#   bash packaging/container/make-base.sh [IMAGE]   (default local/gitfleet-base:bookworm)
set -euo pipefail
image="${1:-local/gitfleet-base:bookworm}"
include="git,ca-certificates"
recipe="v1 bookworm minbase $include"
stamp="$(printf '%s' "$recipe" | sha256sum | cut -c1-16)"
cache="${GITFLEET_TEST_CACHE:-/var/cache/gitfleet-test}/hub-image-base"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "$(docker image inspect -f '{{ index .Config.Labels "io.gitfleet.base-recipe" }}' "$image" 2>/dev/null || true)" = "$stamp" ]; then
  exit 0
fi
command -v debootstrap >/dev/null || { echo "make-base.sh: debootstrap is missing (apt-get install debootstrap)" >&2; exit 2; }
if [ ! -f "$cache/.stamp" ] || [ "$(cat "$cache/.stamp")" != "$stamp" ]; then
  mkdir -p "$(dirname "$cache")"
  tmp="$(mktemp -d "$cache.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  debootstrap --variant=minbase --include="$include" bookworm "$tmp" "$mirror" >"$tmp.log" 2>&1 \
    || { echo "make-base.sh: debootstrap failed; see $tmp.log" >&2; exit 1; }
  rm -f "$tmp.log"
  rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* "$tmp/debootstrap"
  echo "$stamp" > "$tmp/.stamp"
  rm -rf "$cache"; mv "$tmp" "$cache"
  trap - EXIT
fi
tar --exclude=./.stamp -C "$cache" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  -c "LABEL io.gitfleet.base-recipe=$stamp" -c 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "imported $image"
