#!/usr/bin/env bash
# Fetches the real-data test fixtures into .deps/test-data/ (git-ignored; never committed): the Middlebury 2014
# "Motorcycle" stereo scene that Debian's python3-skimage ships (docs/datasets.md, "Middlebury fixture";
# docs/datasets.md §11.6). Uses `apt-get download` + `dpkg -x` (nothing is installed; refreshing missing package lists
# needs root or sudo) and keeps
# only the needed files. Idempotent: prints nothing and exits 0 when the files are already there.
# Usage: scripts/fetch-test-data.sh [DEST]   (default: <repo>/.deps/test-data, or $SGMIM_TEST_DATA_DIR)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-${SGMIM_TEST_DATA_DIR:-$repo/.deps/test-data}}"
package=python3-skimage
source_dir=usr/lib/python3/dist-packages/skimage/data
files=(motorcycle_left.png motorcycle_right.png motorcycle_disp.npz)

present=1
for f in "${files[@]}"; do [ -s "$dest/$f" ] || present=0; done
[ "$present" = 1 ] && exit 0

for tool in apt-get dpkg; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch-test-data: $tool not found (a Debian-based system is needed); the Middlebury tests will skip (and fail with CI=true)" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download -qq "$package" >"$work/apt.log" 2>&1); }
# A fresh machine may have no package lists yet: refresh them once when that is possible (root or sudo).
refresh_lists() {
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq >/dev/null 2>&1
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get update -qq >/dev/null 2>&1
  else return 1; fi
}
if ! download && ! { refresh_lists && download; }; then
  echo "fetch-test-data: 'apt-get download $package' failed:" >&2
  sed 's/^/  /' "$work/apt.log" >&2
  echo "fetch-test-data: (run 'apt-get update' first if the package is unknown); the Middlebury tests will skip (and fail with CI=true)" >&2
  exit 1
fi
deb="$(ls "$work"/"$package"_*.deb)"
dpkg -x "$deb" "$work/root"

mkdir -p "$dest"
for f in "${files[@]}"; do
  if [ ! -s "$work/root/$source_dir/$f" ]; then
    echo "fetch-test-data: $f is not in $(basename "$deb"); the Middlebury tests will skip (and fail with CI=true)" >&2
    exit 1
  fi
  cp "$work/root/$source_dir/$f" "$dest/$f.partial"
  mv "$dest/$f.partial" "$dest/$f"
done
cp "$work/root/usr/share/doc/$package/copyright" "$dest/$package.copyright" 2>/dev/null || true
basename "$deb" >"$dest/SOURCE"
echo "fetch-test-data: Middlebury Motorcycle from $(basename "$deb") -> $dest"
