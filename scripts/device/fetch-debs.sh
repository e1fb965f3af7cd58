#!/usr/bin/env bash
# Run HERE (a Debian 12 machine with apt access), before a GPU check: downloads the header-only / static Debian
# packages the build needs into .deps/debs, which the device call carries (carry: [".deps"]). The GPU machine has
# CUDA, CMake, ninja and a pip torch, but no Debian -dev packages and no registry access. See docs/gpu.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .deps/debs
cd .deps/debs
apt-get download libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev googletest >/dev/null
ls -1 *.deb
