#!/usr/bin/env bash
# Knowledge-map encodings of sgmim-pack's shards, decode time and size (docs/datasets.md §12.2): builds
# scripts/bench/knowledge_encoding.cpp against OpenCV and runs it on the loader fixture's maps and images
# (<build-dir>/loader-fixture, made by scripts/bench/loader_vs_torchvision.sh). Prints a Markdown table.
# Usage: scripts/bench/knowledge_encoding.sh [build-dir]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
fixture="$build/loader-fixture"
[ -f "$fixture/.complete" ] ||
  { echo "knowledge_encoding: no fixture at $fixture (scripts/bench/loader_vs_torchvision.sh makes it)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2046
g++ -O2 -std=c++17 "$repo/scripts/bench/knowledge_encoding.cpp" -o "$work/knowledge_encoding" \
  $(pkg-config --cflags --libs opencv4)
"$work/knowledge_encoding" "$fixture/depth" "$fixture/rgb"
