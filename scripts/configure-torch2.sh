#!/usr/bin/env bash
# Configures the LibTorch 2.x lane (docs/platform.md "The LibTorch 2.x lane"): one place for its CMake arguments,
# used by `make test-torch2` and by scripts/device/gpu-check.sh, so that a GPU machine builds what CI built.
#   scripts/configure-torch2.sh BUILD_DIR PYTHON [extra cmake arguments...]
# PYTHON is a python whose torch wheel carries the LibTorch to build against (the venv of scripts/setup-torch2.sh);
# it also runs the interoperability tests (SGMIM_PYTHON). Environment: NVCC (default: the toolkit's nvcc, if any),
# TORCH_CUDA_ARCH_LIST (default 8.0;9.0, so that configuring needs no GPU), SGMIM_REQUIRE_ALL (default ON),
# SGMIM_USE_PCH and SGMIM_UNITY_BUILD (default ON, as in every build: the precompiled <torch/torch.h> and the unity
# batches, docs/benchmarks.md "Build and test time").
set -euo pipefail
BUILD_DIR="${1:?usage: configure-torch2.sh BUILD_DIR PYTHON [cmake args...]}"
PY="${2:?usage: configure-torch2.sh BUILD_DIR PYTHON [cmake args...]}"
shift 2
PREFIX="$("$PY" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')" || {
  echo "configure-torch2: $PY cannot import torch (run scripts/setup-torch2.sh)" >&2; exit 1; }
NVCC="${NVCC:-$(command -v /usr/local/cuda/bin/nvcc nvcc 2>/dev/null | head -n1 || true)}"
CUDA_ARGS=()
if [ -n "$NVCC" ]; then
  CUDA_ARGS=("-DCMAKE_CUDA_COMPILER=$NVCC" -DCAFFE2_USE_CUDNN=ON "-DTORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-8.0;9.0}")
else
  echo "configure-torch2: no nvcc found: the CUDA parts of the wheel's LibTorch cannot be configured" >&2
fi
exec cmake -S "$(dirname "$0")/.." -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  "-DSGMIM_REQUIRE_ALL=${SGMIM_REQUIRE_ALL:-ON}" "-DSGMIM_USE_PCH=${SGMIM_USE_PCH:-ON}" \
  "-DSGMIM_UNITY_BUILD=${SGMIM_UNITY_BUILD:-ON}" \
  "-DCMAKE_PREFIX_PATH=$PREFIX" "-DSGMIM_PYTHON=$PY" \
  "${CUDA_ARGS[@]}" "$@"
