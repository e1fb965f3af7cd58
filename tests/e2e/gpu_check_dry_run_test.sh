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
echo "gpu_check_dry_run: ok (${#EXPECTED[@]} steps, table header as documented)"
