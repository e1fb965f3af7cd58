#!/usr/bin/env bash
# CI's dry run of the GPU check (scripts/device/gpu-check.sh --dry-run, docs/gpu.md): it must succeed on a machine
# without a GPU, announce the plan, print a header for every planned step in order with the commands that matter, and
# print the table's header exactly as docs/gpu.md documents it.
#   tests/e2e/gpu_check_dry_run_test.sh SOURCE_DIR
set -uo pipefail
SRC="${1:?usage: gpu_check_dry_run_test.sh SOURCE_DIR}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
fail() { echo "gpu_check_dry_run: $*" >&2; echo "--- output:" >&2; cat "$OUT/out.txt" >&2; exit 1; }

OUT="$OUT/logs" bash "$SRC/scripts/device/gpu-check.sh" --dry-run >"$OUT/out.txt" 2>&1 || fail "exit code $?"
EXPECTED=(environment debs configure build tests gemm step-simmim step-sgmim python-simmim python-sgmim nccl table)
grep -qx "gpu-check plan: ${EXPECTED[*]}" "$OUT/out.txt" || fail "the plan line is not: ${EXPECTED[*]}"
# The step headers, in order.
grep '^== step ' "$OUT/out.txt" > "$OUT/steps.txt"
i=0
for s in "${EXPECTED[@]}"; do
  i=$((i + 1))
  line="$(sed -n "${i}p" "$OUT/steps.txt")"
  [ "$line" = "== step $i/${#EXPECTED[@]}: $s" ] || fail "step $i: expected '== step $i/${#EXPECTED[@]}: $s', got '$line'"
done
[ "$(wc -l < "$OUT/steps.txt")" -eq "${#EXPECTED[@]}" ] || fail "more step headers than planned"
for cmd in "+ bash scripts/configure-torch2.sh build-gpu" "--target sgmim-bench models_test bench_test distributed_test" \
           "+ ctest --test-dir build-gpu" "sgmim-bench gemm --device cuda --dtype bf16 --json" \
           "sgmim-bench step --model swin_base --method simmim --batch 128" \
           "sgmim-bench step --model swin_base --method sgmim --batch 128" "--device cuda --bf16 --peak-tflops" \
           "sgmim-bench nccl --device cuda --model swin_base --json"; do
  grep -qF -- "$cmd" "$OUT/out.txt" || fail "no command containing '$cmd'"
done
# The table header, as documented (docs/gpu.md, "The table").
header="$(grep -E '^model +method +impl +batch +step_s +img/s +MFU +peak_GiB$' "$OUT/out.txt")" || fail "no table header"
DOC="$SRC/docs/gpu.md"
grep -qxF "$header" "$DOC" || fail "$DOC does not show the header '$header'"

# The table from the files a real run leaves (scripts/device/gpu_check_table.py), on made-up values: MFU =
# 6 · 11276845056 MACs · 640 img/s / 800 TFLOP/s = 5.41 %; the python rows and the sgmim row without JSON read n/a.
T="$OUT/table"
mkdir -p "$T"
echo "NVIDIA H200, 143771 MiB, 580.159.03" > "$T/card.txt"
echo '{"tflops": 800.0, "size": 8192}' > "$T/gemm.json"
echo '{"median_s": 0.2, "images_per_s": 640.0, "peak_memory_bytes": 3221225472, "encoder_macs_per_image": 11276845056}' \
  > "$T/step_simmim.json"
echo '{"ok": true, "broadcast_tensors": 400, "allreduce_parameters": 350, "allreduce_elements": 90000000, "seconds": 0.5}' \
  > "$T/nccl.json"
echo 0 > "$T/ctest.rc"
python3 "$SRC/scripts/device/gpu_check_table.py" "$T" > "$OUT/table.txt" || fail "the table script failed"
cp "$OUT/table.txt" "$OUT/out.txt"
norm() { tr -s ' ' < "$OUT/table.txt"; }
for want in "card: NVIDIA H200, 143771 MiB, 580.159.03" "bf16 GEMM peak (this run): 800.0 TFLOP/s (n=8192)" \
            "swin_base simmim sgmim 128 0.2000 640.0 5.4% 3.00" "swin_base simmim python 128 n/a n/a n/a n/a" \
            "swin_base sgmim sgmim 128 n/a n/a n/a n/a" \
            "nccl (1 rank): ok broadcast 400 tensors, bucketed all-reduce of 350 gradients (90.0 M values), 0.500 s" \
            "tests: ctest exit code 0"; do
  norm | grep -qxF "$want" || fail "the table has no line '$want'"
done
echo "gpu_check_dry_run: ok (${#EXPECTED[@]} steps, table header as documented)"
