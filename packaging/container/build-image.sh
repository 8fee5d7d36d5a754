#!/usr/bin/env bash
# Builds the hub image offline (npm run package:image):
#   bash packaging/container/build-image.sh [--tag NAME:TAG] [--base IMAGE]
# Makes the base image first when it is missing (make-base.sh). The build runs
# with --network none: everything it needs is in the staged context.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="$(node -p "require('$root/package.json').version")"
tag="gitfleet-hub:$version" base="local/gitfleet-base:bookworm"
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --base) base="$2"; shift 2 ;;
    *) echo "build-image.sh: unknown argument $1 (--tag NAME:TAG, --base IMAGE)" >&2; exit 2 ;;
  esac
done
docker image inspect "$base" >/dev/null 2>&1 || bash "$here/make-base.sh" "$base"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$(command -v node)" "$ctx/node"
node "$root/packaging/bundle-files.mjs" "$root" --copy "$ctx/gitfleet"
rm -f "$ctx/gitfleet/gitfleet.mjs.map" # 8 MB of source map: not needed to run
printf '#!/bin/sh\nexec node /usr/lib/gitfleet/gitfleet.mjs "$@"\n' > "$ctx/gitfleet/gitfleet"
chmod -R u=rwX,go=rX "$ctx"; chmod 755 "$ctx/node" "$ctx/gitfleet/gitfleet"
cp "$here/Dockerfile" "$ctx/Dockerfile"
docker build --quiet --network none --build-arg "BASE=$base" --label "org.opencontainers.image.version=$version" -t "$tag" "$ctx" >/dev/null
echo "$tag"
