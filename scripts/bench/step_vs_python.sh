#!/usr/bin/env bash
# Our training step (`sgmim-bench step`) against the official Python step (scripts/bench/python_step.py) on the same
# torch, threads, batch and steps, for Swin-T, Swin-B, SG-MIM Swin-B and ViT-B. The two alternate (ours, python, ours,
# python, ...) so that a noisy machine slows both alike; each side's figure is the median of all its timed steps.
#
# Usage: scripts/bench/step_vs_python.sh [build-dir] [python]
#   build-dir  default build-torch2 (the 2.x lane); build/ is the Debian LibTorch 1.13 build
#   python     default the 2.x lane's venv (bash scripts/setup-torch2.sh --print-python); /usr/bin/python3 is 1.13
# Environment: BATCH (2), STEPS (3; Swin-T takes 2x), WARMUP (1), THREADS (all usable CPUs), ROUNDS (2),
#   MODELS (space-separated model:method list), BF16=1 (both sides under bf16 autocast: --bf16), PROFILE=1 (our --profile and python_step.py --profile, stderr),
#   RAW=file (append every JSON line there), BASELINE=path of another sgmim-bench (e.g. before a change), run in the
#   same alternation (baseline, ours, python) and shown as two more columns.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD_DIR="${1:-build-torch2}"
PY="${2:-}"
if [ -z "$PY" ]; then
  PY="$(bash "$ROOT/scripts/setup-torch2.sh" --print-python)" ||
    { echo "step_vs_python: no 2.x venv (run scripts/setup-torch2.sh, or pass a python)" >&2; exit 1; }
fi
BENCH="$BUILD_DIR/apps/sgmim-bench"
[ -x "$BENCH" ] || { echo "step_vs_python: $BENCH not built" >&2; exit 1; }
[ -x "$(command -v "$PY")" ] || { echo "step_vs_python: python '$PY' not found" >&2; exit 1; }
BATCH="${BATCH:-2}"
STEPS="${STEPS:-3}"
WARMUP="${WARMUP:-1}"
THREADS="${THREADS:-$(nproc)}"
ROUNDS="${ROUNDS:-2}"
MODELS="${MODELS:-swin_tiny:simmim swin_base:simmim swin_base:sgmim vit_base_patch16_224:simmim}"
EXTRA_FLAGS=()
[ "${PROFILE:-0}" = 1 ] && EXTRA_FLAGS=(--profile)
[ "${BF16:-0}" = 1 ] && EXTRA_FLAGS+=(--bf16)
RAW="${RAW:-}"
BASELINE="${BASELINE:-}"
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || { echo "step_vs_python: BASELINE $BASELINE not executable" >&2; exit 1; }

echo "# ours: $BENCH (Torch_DIR $(sed -n 's/^Torch_DIR:[^=]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null | head -1))" >&2
echo "# python: $PY (torch $("$PY" -c 'import torch; print(torch.__version__)'))" >&2
echo "# bf16 autocast ${BF16:-0}, batch $BATCH, steps $STEPS (swin_tiny $((2 * STEPS))), warm-up $WARMUP, threads $THREADS, rounds $ROUNDS" >&2

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for spec in $MODELS; do
  model="${spec%%:*}"; method="${spec##*:}"
  steps="$STEPS"; [ "$model" = swin_tiny ] && steps=$((2 * STEPS))
  args=(--model "$model" --method "$method" --batch "$BATCH" --steps "$steps" --warmup "$WARMUP" --threads "$THREADS"
        --json "${EXTRA_FLAGS[@]}")
  for ((r = 1; r <= ROUNDS; r++)); do
    echo "# $model $method round $r/$ROUNDS" >&2
    if [ -n "$BASELINE" ]; then
      baseline="$("$BASELINE" step "${args[@]}")"
      echo "baseline $baseline" >> "$results"
      [ -z "$RAW" ] || echo "baseline $baseline" >> "$RAW"
    fi
    ours="$("$BENCH" step "${args[@]}")"
    python="$("$PY" "$ROOT/scripts/bench/python_step.py" "${args[@]}")"
    echo "ours $ours" >> "$results"
    echo "python $python" >> "$results"
    [ -z "$RAW" ] || { echo "ours $ours"; echo "python $python"; } >> "$RAW"
  done
done

"$PY" - "$results" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, text = line.split(" ", 1)
    j = json.loads(text)
    r = rows.setdefault((j["model"], j["method"]), {"ours": [], "python": [], "baseline": [], "params": {}, "rss": {}})
    r[side] += j["step_seconds"]
    r["rss"][side] = max(r["rss"].get(side, 0), j.get("peak_memory_bytes", 0))
    r["params"][side] = j["parameters"]
with_baseline = any(r["baseline"] for r in rows.values())
extra = " baseline median s | baseline / python |" if with_baseline else ""
print("| model | method | params |%s ours median s | python median s | ours / python | ours peak RSS MiB | python peak RSS MiB |"
      % extra)
print("|---|---|---|" + ("---|---|" if with_baseline else "") + "---|---|---|---|---|")
bad = False
for (model, method), r in rows.items():
    o, p = statistics.median(r["ours"]), statistics.median(r["python"])
    params = r["params"]
    if params["ours"] != params["python"]:
        bad = True
        print("step_vs_python: %s %s: parameter counts differ: ours %d, python %d" %
              (model, method, params["ours"], params["python"]), file=sys.stderr)
    cells = ""
    if with_baseline:
        b = statistics.median(r["baseline"])
        cells = " %.3f | %.2f |" % (b, b / p)
    mib = lambda side: "%.0f" % (r["rss"].get(side, 0) / 2**20)
    print("| %s | %s | %s |%s %.3f | %.3f | %.2f | %s | %s |" % (model, method, format(params["ours"], ","), cells, o, p,
                                                           o / p, mib("ours"), mib("python")))
sys.exit(1 if bad else 0)
EOF
