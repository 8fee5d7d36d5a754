#!/usr/bin/env bash
# Builds the gitfleet .deb with dpkg-deb from the built bundle (npm run build):
#   bash packaging/deb/build-deb.sh [--out DIR] [--version V]   (npm run package:deb)
# The package installs /usr/lib/gitfleet (bundle + native modules), /usr/bin/gitfleet,
# both systemd units and /etc/gitfleet/{agent,hub,policy}.yaml as conffiles (kept on
# upgrade). It enables nothing: edit a config, then `systemctl enable --now`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/dist" version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    *) echo "build-deb.sh: unknown argument $1 (--out DIR, --version V)" >&2; exit 2 ;;
  esac
done
version="${version:-$(node -p "require('$root/package.json').version")}"
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || { echo "build-deb.sh: \"$version\" is not a Debian version" >&2; exit 2; }
arch="$(dpkg --print-architecture)" # better-sqlite3 is a native module
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 2; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/gitfleet"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/gitfleet" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/gitfleet" "$pkg/usr/share/doc/gitfleet"
node "$root/packaging/bundle-files.mjs" "$root" --copy "$pkg/usr/lib/gitfleet"
printf '#!/bin/sh\nexec node /usr/lib/gitfleet/gitfleet.mjs "$@"\n' > "$pkg/usr/lib/gitfleet/gitfleet"
ln -s ../lib/gitfleet/gitfleet "$pkg/usr/bin/gitfleet"
cp "$root/packaging/systemd/gitfleet-agent.service" "$root/packaging/systemd/gitfleet-hub.service" "$pkg/lib/systemd/system/"
cp "$here/debian/agent.yaml" "$here/debian/hub.yaml" "$pkg/etc/gitfleet/"
cp "$root/packaging/policy.yaml" "$pkg/etc/gitfleet/policy.yaml" # the host policy baseline (docs/policy.md)
cp "$root/docs/install.md" "$pkg/usr/share/doc/gitfleet/" 2>/dev/null || true
printf 'gitfleet\nLicense: Apache-2.0\n' > "$pkg/usr/share/doc/gitfleet/copyright"
for script in postinst prerm postrm; do cp "$here/debian/$script" "$pkg/DEBIAN/$script"; done
printf '/etc/gitfleet/agent.yaml\n/etc/gitfleet/hub.yaml\n/etc/gitfleet/policy.yaml\n' > "$pkg/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$here/debian/control" > "$pkg/DEBIAN/control"

chmod -R u=rwX,go=rX "$pkg"
chmod 755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm" "$pkg/usr/lib/gitfleet/gitfleet"
chmod 600 "$pkg/etc/gitfleet/agent.yaml" "$pkg/etc/gitfleet/hub.yaml" # tokens go in here
mkdir -p "$out"
deb="$out/gitfleet_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$pkg" "$deb" >/dev/null
echo "$deb"
