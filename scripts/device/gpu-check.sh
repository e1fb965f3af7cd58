#!/usr/bin/env bash
# One-shot GPU check (docs/gpu.md): builds sgmim against the LibTorch 2.x inside the machine's pip torch, runs the
# whole test suite (CUDA tests included: CPU/CUDA agreement, fused vs explicit attention, a bf16 autocast step), then
# `sgmim-bench step` for Swin-B SimMIM and SG-MIM at batch 128 in bf16, and prints a short table last.
# Budget: under 8 minutes on one H100/H200.
#   scripts/device/gpu-check.sh            the real run (needs CUDA, the pip torch, and .deps/debs from fetch-debs.sh)
#   scripts/device/gpu-check.sh --dry-run  prints the plan and checks what it can; runs on any machine
set -euo pipefail
cd "$(dirname "$0")/../.."
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
OUT_DIR="${OUT:-/tmp/sgmim-gpu-check}"
BUILD=build-gpu
PREFIX="$PWD/.deps/prefix"
BATCH="${SGMIM_GPU_BATCH:-128}"
mkdir -p "$OUT_DIR"

step() { echo "== $*"; }
run() {
  echo "+ $*"
  if [ "$DRY" = 0 ]; then "$@"; fi
}

step "environment"
PY="$(command -v python3 || true)"
TORCH_PREFIX=""
if [ -n "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
  TORCH_PREFIX="$("$PY" -c 'import torch;print(torch.utils.cmake_prefix_path)')"
  "$PY" -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, "abi", torch._C._GLIBCXX_USE_CXX11_ABI, "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)'
else
  echo "no python torch here"
  [ "$DRY" = 1 ] || { echo "gpu-check: a pip torch is required" >&2; exit 1; }
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

step "unpack carried Debian packages into $PREFIX"
if ls .deps/debs/*.deb >/dev/null 2>&1; then
  for f in .deps/debs/*.deb; do run dpkg -x "$f" "$PREFIX"; done
else
  echo "no .deps/debs (run scripts/device/fetch-debs.sh here first)"
  [ "$DRY" = 1 ] || { echo "gpu-check: missing .deps/debs" >&2; exit 1; }
fi

step "configure + build ($BUILD)"
CUDA_ARGS=()
[ -x /usr/local/cuda/bin/nvcc ] && CUDA_ARGS=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc -DCUDAToolkit_ROOT=/usr/local/cuda)
run cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_PREFIX_PATH=${TORCH_PREFIX};${PREFIX}/usr;${PREFIX}/usr/lib/x86_64-linux-gnu/cmake;${PREFIX}/usr/share/cmake" \
  "-DCMAKE_CXX_FLAGS=-isystem ${PREFIX}/usr/include" "${CUDA_ARGS[@]}"
run cmake --build "$BUILD" -j "$(nproc)" --target sgmim-bench models_test masking_test io_test

step "tests"
if [ "$DRY" = 0 ]; then
  set +e
  (cd "$BUILD" && ctest -j 4 --output-on-failure -R 'Cuda|Golden|Attention|Pretrainer|Swin|ViT|Mask|StateDict|Gradcheck|Losses|Config' 2>&1) | tee "$OUT_DIR/ctest.log" | tail -25
  TEST_RC=${PIPESTATUS[0]}
  set -e
else
  echo "+ ctest (models_test, masking_test, io_test; CUDA tests run when a GPU is visible)"
  TEST_RC=0
fi

step "benchmarks (Swin-B, batch $BATCH, bf16)"
for method in simmim sgmim; do
  run "$BUILD/apps/sgmim-bench" step --model swin_base --method "$method" --batch "$BATCH" --steps 10 --warmup 3 \
    --device cuda --bf16 --json | tee -a "$OUT_DIR/bench.jsonl" || true
done

step "summary"
if [ "$DRY" = 0 ] && [ -s "$OUT_DIR/bench.jsonl" ]; then
  printf '%-8s %-6s %10s %10s %12s\n' method batch "median_s" "img/s" "peak_GiB"
  while read -r line; do
    m="$(echo "$line" | sed -n 's/.*"method":"\([a-z]*\)".*/\1/p')"
    med="$(echo "$line" | sed -n 's/.*"median_s":\([0-9.e+-]*\).*/\1/p')"
    ips="$(echo "$line" | sed -n 's/.*"images_per_s":\([0-9.e+-]*\).*/\1/p')"
    mem="$(echo "$line" | sed -n 's/.*"peak_memory_bytes":\([0-9]*\).*/\1/p')"
    awk -v m="$m" -v b="$BATCH" -v med="$med" -v ips="$ips" -v mem="$mem" \
      'BEGIN { printf "%-8s %-6s %10.4f %10.1f %12.2f\n", m, b, med, ips, mem / 1073741824 }'
  done < "$OUT_DIR/bench.jsonl"
fi
echo "tests exit code: ${TEST_RC}"
exit "$TEST_RC"
