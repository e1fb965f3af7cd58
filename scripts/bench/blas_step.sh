#!/usr/bin/env bash
# Swin-B SG-MIM training step with OpenBLAS (the libblas.so.3 alternative set by scripts/setup.sh) versus Debian's
# reference BLAS, side by side in one run. Usage: scripts/bench/blas_step.sh [build-dir] [batch] [steps]
set -euo pipefail
BUILD_DIR="${1:-build}"
BATCH="${2:-2}"
STEPS="${3:-2}"
BENCH="$BUILD_DIR/apps/sgmim-bench"
MULTIARCH="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
[ -x "$BENCH" ] || { echo "blas_step: $BENCH not built (run make build)" >&2; exit 1; }
[ -e "$MULTIARCH/blas/libblas.so.3" ] || { echo "blas_step: reference BLAS not installed" >&2; exit 1; }

run() {  # $1 = label, rest = env
  local label="$1"; shift
  env "$@" "$BENCH" step --model swin_base --method sgmim --batch "$BATCH" --steps "$STEPS" --warmup 1 --json |
    sed "s/^{/{\"blas\":\"$label\",/"
}
echo "# libblas.so.3 in use: $(readlink -f "$MULTIARCH/libblas.so.3")" >&2
open_json="$(run openblas)"
ref_json="$(run reference LD_LIBRARY_PATH="$MULTIARCH/blas:$MULTIARCH/lapack")"
echo "$open_json"
echo "$ref_json"
median() { sed -n 's/.*"median_s":\([0-9.e+-]*\).*/\1/p'; }
o="$(echo "$open_json" | median)"; r="$(echo "$ref_json" | median)"
awk -v o="$o" -v r="$r" 'BEGIN { printf "openblas %.3f s/step, reference %.3f s/step, reference/openblas = %.1fx\n", o, r, r / o }'
