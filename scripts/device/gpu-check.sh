#!/usr/bin/env bash
# The one-shot GPU check (docs/gpu.md): builds sgmim in the LibTorch 2.x lane exactly as CI does
# (scripts/configure-torch2.sh, against the machine's own pip torch), runs the CUDA tests, then measures and prints
# ONE short table: the card, a bf16 GEMM peak measured in this run, Swin-B SimMIM and SG-MIM steps at batch 128 in
# bf16 (ours and the official Python step: time, img/s, MFU against that peak, peak memory), and an NCCL process
# group of one rank (broadcast and the bucketed gradient all-reduce). Budget: under 8 minutes on one H200.
#   scripts/device/gpu-check.sh            the real run (needs CUDA, a python3 with torch, .deps/debs)
#   scripts/device/gpu-check.sh --dry-run  prints the plan, every step's commands and the table's header; any machine
# Environment: SGMIM_TORCH2_PYTHON (default: python3) is the python whose torch wheel is built against;
# SGMIM_GPU_BATCH (128), SGMIM_GPU_STEPS (10 timed steps), OUT (where logs and JSON go; default /tmp/sgmim-gpu-check),
# JOBS (build parallelism; default nproc), SGMIM_GPU_DEADLINE_S (540: every step's time limit is cut to what is left
# of it, so that the table is printed inside one 10-minute device call even when a step hangs).
set -uo pipefail
cd "$(dirname "$0")/../.."
DRY=0
case "${1:-}" in
  --dry-run) DRY=1 ;;
  "") ;;
  *) echo "usage: scripts/device/gpu-check.sh [--dry-run]" >&2; exit 2 ;;
esac
OUT_DIR="${OUT:-/tmp/sgmim-gpu-check}"
BUILD=build-gpu
DEB_PREFIX="$PWD/.deps/prefix"
BATCH="${SGMIM_GPU_BATCH:-128}"
STEPS="${SGMIM_GPU_STEPS:-10}"
JOBS="${JOBS:-$(nproc)}"
MODEL=swin_base
BENCH="$BUILD/apps/sgmim-bench"
STEPS_PLANNED=(environment debs configure build tests gemm step-simmim step-sgmim python-simmim python-sgmim nccl table)
DEADLINE="${SGMIM_GPU_DEADLINE_S:-540}"
mkdir -p "$OUT_DIR"
FAILED=()

echo "gpu-check plan: ${STEPS_PLANNED[*]}"
n=0
step() { n=$((n + 1)); echo "== step $n/${#STEPS_PLANNED[@]}: $1"; }
# run NAME TIMEOUT_S CMD...: prints the command; runs it (unless --dry-run) with a time limit (cut to what is left
# of the deadline) and its output in $OUT_DIR/NAME.log; a failure is recorded and the check goes on, so that one
# broken part still leaves a table.
run() {
  local name="$1" limit="$2"
  shift 2
  echo "+ $*"
  [ "$DRY" = 1 ] && return 0
  local left=$((DEADLINE - SECONDS))
  if [ "$left" -lt 10 ]; then
    FAILED+=("$name(no time left)")
    echo "gpu-check: $name skipped: the ${DEADLINE} s deadline is reached"
    return 124
  fi
  [ "$limit" -gt "$left" ] && limit="$left"
  timeout "$limit" "$@" >"$OUT_DIR/$name.log" 2>&1
  local rc=$?
  tail -n 5 "$OUT_DIR/$name.log"
  if [ "$rc" != 0 ]; then
    echo "gpu-check: $name failed with exit code $rc (log: $OUT_DIR/$name.log)"
    # SOFT=1: a comparison row (the Python step) that may fail without failing the check.
    [ "${SOFT:-0}" = 1 ] || FAILED+=("$name(rc=$rc)")
  fi
  return "$rc"
}
# The last JSON line of a log, or nothing.
json_of() { grep '^{' "$OUT_DIR/$1.log" 2>/dev/null | tail -n 1 > "$OUT_DIR/$2" || true; }

step environment
PY="${SGMIM_TORCH2_PYTHON:-$(command -v python3 || true)}"
if [ -n "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu",
            torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)'
else
  echo "no python with torch here (SGMIM_TORCH2_PYTHON / python3)"
  [ "$DRY" = 1 ] || { echo "gpu-check: a python3 with torch is required" >&2; exit 1; }
fi
CARD="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n1 || true)"
echo "${CARD:-no nvidia-smi}" | tee "$OUT_DIR/card.txt"

step debs
if ls .deps/debs/*.deb >/dev/null 2>&1; then
  for f in .deps/debs/*.deb; do
    echo "+ dpkg -x $f $DEB_PREFIX"
    [ "$DRY" = 1 ] || dpkg -x "$f" "$DEB_PREFIX"
  done
else
  echo "+ dpkg -x .deps/debs/*.deb $DEB_PREFIX   (no .deps/debs here: run scripts/device/fetch-debs.sh first)"
  [ "$DRY" = 1 ] || { echo "gpu-check: missing .deps/debs" >&2; exit 1; }
fi

step configure
# The lane's own arguments (scripts/configure-torch2.sh); the carried headers and CMake packages come through the
# environment's CMAKE_PREFIX_PATH (searched after the lane's -DCMAKE_PREFIX_PATH) and an -isystem include.
export CMAKE_PREFIX_PATH="$DEB_PREFIX/usr:$DEB_PREFIX/usr/lib/x86_64-linux-gnu/cmake:$DEB_PREFIX/usr/share/cmake"
export SGMIM_REQUIRE_ALL=OFF TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
run configure 120 bash scripts/configure-torch2.sh "$BUILD" "${PY:-python3}" \
  "-DCMAKE_CXX_FLAGS=-isystem $DEB_PREFIX/usr/include"

step build
run build 300 cmake --build "$BUILD" -j "$JOBS" --target sgmim-bench models_test bench_test distributed_test \
  distributed_worker

step tests
# The CUDA tests (models: CPU/CUDA agreement, fused vs explicit attention on the GPU, a bf16 autocast step;
# distributed: the NCCL rank; bench: the GEMM timer) and the MAC counts the MFU column rests on. CI runs the rest.
run ctest 120 ctest --test-dir "$BUILD" -j 4 --output-on-failure \
  -R 'Cuda|CollectiveCheck|SingleRankBackend|GemmBenchmark|ModelFlops|StepBenchmark|EncoderMacs|PretrainerMacs'
TEST_RC=$?
[ "$DRY" = 1 ] || echo "$TEST_RC" > "$OUT_DIR/ctest.rc"

step gemm
run gemm 60 "$BENCH" gemm --device cuda --dtype bf16 --json
[ "$DRY" = 1 ] || json_of gemm gemm.json
PEAK='$PEAK'
if [ "$DRY" = 0 ]; then
  PEAK="$("${PY:-python3}" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tflops"])' "$OUT_DIR/gemm.json" \
    2>/dev/null || echo 0)"
fi

for method in simmim sgmim; do
  step "step-$method"
  run "step_$method" 60 "$BENCH" step --model "$MODEL" --method "$method" --batch "$BATCH" --steps "$STEPS" \
    --warmup 3 --device cuda --bf16 --peak-tflops "${PEAK:-0}" --json
  [ "$DRY" = 1 ] || json_of "step_$method" "step_$method.json"
done

for method in simmim sgmim; do
  step "python-$method"
  if [ ! -f scripts/bench/python_step.py ]; then
    echo "scripts/bench/python_step.py is absent: the python rows read n/a"
  elif [ -z "$PY" ] || ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "+ python3 scripts/bench/python_step.py ... (torch does not import here: the python rows read n/a)"
  else
    SOFT=1 run "python_$method" 60 "$PY" scripts/bench/python_step.py --model "$MODEL" --method "$method" \
      --batch "$BATCH" --steps "$STEPS" --warmup 1 --device cuda --bf16 --json
    [ "$DRY" = 1 ] || json_of "python_$method" "python_$method.json"
  fi
done

step nccl
run nccl 60 "$BENCH" nccl --device cuda --model "$MODEL" --json
[ "$DRY" = 1 ] || json_of nccl nccl.json

step table
if [ "$DRY" = 1 ]; then
  echo "card: <nvidia-smi name, memory, driver>"
  echo "bf16 GEMM peak (this run): <TFLOP/s>"
  python3 scripts/device/gpu_check_table.py --header-only
  echo "nccl (1 rank): <ok | FAILED>"
  echo "tests: ctest exit code <rc>"
  exit 0
fi
"${PY:-python3}" scripts/device/gpu_check_table.py "$OUT_DIR" --batch "$BATCH" --model "$MODEL" \
  | tee "$OUT_DIR/table.txt"
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "gpu-check: failed steps: ${FAILED[*]}"
  exit 1
fi
