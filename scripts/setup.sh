#!/usr/bin/env bash
# Installs every Debian 12 package that sgmim's build, tests and demo need, and makes OpenBLAS the libblas.so.3 /
# liblapack.so.3 in use (Debian's libtorch-dev pulls in the reference BLAS, about 29x slower for a Swin-B step).
# Idempotent: installs only what is missing and can be re-run at any time.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libgloo-dev
  libopencv-dev libdeflate-dev libjpeg62-turbo-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
  libopenblas0-openmp
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: not root and no sudo; install these packages by hand: ${PACKAGES[*]}" >&2
    exit 1
  fi
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: this script needs a Debian-based system (dpkg/apt). See docs/gpu.md for other machines." >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "setup: all ${#PACKAGES[@]} packages present"
fi

# OpenBLAS (OpenMP flavour) as the system BLAS and LAPACK.
arch_dir="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
for lib in libblas.so.3 liblapack.so.3; do
  alt="${lib}-$(basename "$arch_dir")"
  want="$arch_dir/openblas-openmp/$lib"
  if [ -e "$want" ]; then
    current="$(update-alternatives --query "$alt" 2>/dev/null | sed -n 's/^Value: //p')"
    if [ "$current" != "$want" ]; then
      $SUDO update-alternatives --set "$alt" "$want" >/dev/null
      echo "setup: $lib -> $want"
    fi
  else
    echo "setup: warning: $want not found; $lib stays $(readlink -f "$arch_dir/$lib")" >&2
  fi
done
echo "setup: BLAS in use: $(readlink -f "$arch_dir/libblas.so.3")"

# Real-data test fixtures (Middlebury Motorcycle from python3-skimage) into .deps/test-data/. Optional on a developer's
# machine: if the download fails, the tests that need them skip with a message naming this script. Required with
# CI=true, where those tests fail instead (tests/support/fixture_required.h): stop here with the reason.
if ! "$(dirname "${BASH_SOURCE[0]}")/fetch-test-data.sh"; then
  if [[ "${CI:-}" =~ ^(true|TRUE|True|1)$ ]]; then  # as tests/support/fixture_required.h reads it
    echo "setup: error: scripts/fetch-test-data.sh failed and CI=true requires the test fixtures" >&2
    exit 1
  fi
  echo "setup: warning: scripts/fetch-test-data.sh failed; the Middlebury fixture tests will skip" >&2
fi
