#!/usr/bin/env bash
# scripts/experiments/transfer.sh end to end at the tiny scale (docs/experiments.md): every case pre-trains and
# fine-tunes depth and segmentation, the summary tables list them all with one run each, the charts and the wall time
# are written, and a second invocation finds every run done and redoes none.
set -euo pipefail
repo=$1 build=$2
out=$(mktemp -d "${TMPDIR:-/tmp}/sgmim_transfer_smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT
"$repo/scripts/experiments/transfer.sh" --scale tiny --out "$out" --build "$build" > "$out/first.log" 2>&1 \
  || { cat "$out/first.log"; exit 1; }
fail() { echo "FAIL: $*"; cat "$out/first.log"; exit 1; }
for c in scratch simmim sgmim sgmim-random sgmim-lambda0; do
  grep -q "^| $c | 1 | " "$out/transfer.md" || fail "transfer.md has no row for $c"
  [[ -f $out/finetune/$c/seed0/plots/loss.png ]] || fail "no loss plot for $c"
  [[ -f $out/finetune/$c/seed0/plots/depth_predictions.png ]] || fail "no contact sheet of predictions for $c"
  grep -q "^| $c | 1 | " "$out/seg/transfer.md" || fail "seg/transfer.md has no row for $c"
done
[[ $(grep -c '^|' "$out/transfer.md") -eq 7 ]] || fail "transfer.md: expected a header, a rule and 5 rows"
[[ $(wc -l < "$out/transfer.csv") -eq 6 ]] || fail "transfer.csv: expected a header and 5 runs"
[[ -s $out/transfer.png && -s $out/transfer.json ]] || fail "no chart or JSON"
[[ $(grep -c '^|' "$out/seg/transfer.md") -eq 7 ]] || fail "seg/transfer.md: expected a header, a rule and 5 rows"
head -n 1 "$out/seg/transfer.md" | grep -q 'mIoU' || fail "seg/transfer.md has no mIoU column"
[[ -s $out/seg/transfer.png ]] || fail "no segmentation chart"
grep -q '^scale tiny, seeds 1' "$out/wall_time.txt" || fail "no wall time"
"$repo/scripts/experiments/transfer.sh" --scale tiny --out "$out" --build "$build" > "$out/second.log" 2>&1
[[ $(grep -c ': done before$' "$out/second.log") -eq 14 ]] || { cat "$out/second.log"; fail "the rerun redid work"; }
echo "transfer smoke: 5 cases pre-trained / fine-tuned for depth and segmentation, tables, charts and rerun checked"
