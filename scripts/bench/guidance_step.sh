#!/usr/bin/env bash
# Step time of the guidance branches side by side (paper Table 5 compares branch costs): SimMIM, SG-MIM with the MLP
# branch, SG-MIM with the official HEAD sparse ResNet-18 branch, alternated for ROUNDS rounds in one run so that load
# on the machine hits all three alike. Figures: docs/benchmarks.md.
# Usage: [ROUNDS=2] [STEPS=2] scripts/bench/guidance_step.sh [build-dir] [model] [batch] [threads]
set -euo pipefail
BUILD_DIR="${1:-build}"
MODEL="${2:-swin_tiny}"
BATCH="${3:-2}"
THREADS="${4:-2}"
ROUNDS="${ROUNDS:-2}"
STEPS="${STEPS:-2}"
BENCH="$BUILD_DIR/apps/sgmim-bench"
[ -x "$BENCH" ] || { echo "guidance_step: $BENCH not built (ninja -C $BUILD_DIR sgmim-bench)" >&2; exit 1; }

sides=("simmim mlp" "sgmim mlp" "sgmim sparse_resnet18")
declare -A times
for round in $(seq "$ROUNDS"); do
  for side in "${sides[@]}"; do
    read -r method guidance <<<"$side"
    json="$("$BENCH" step --model "$MODEL" --method "$method" --guidance "$guidance" --batch "$BATCH" \
             --steps "$STEPS" --warmup 1 --threads "$THREADS" --json)"
    echo "$json"
    steps="$(echo "$json" | sed -n 's/.*"step_seconds":\[\([^]]*\)\].*/\1/p' | tr ',' ' ')"
    times["$side"]="${times["$side"]:-} $steps"
  done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base="$(echo "${times["simmim mlp"]}" | median)"
for side in "${sides[@]}"; do
  m="$(echo "${times["$side"]}" | median)"
  awk -v s="$side" -v m="$m" -v b="$base" 'BEGIN { printf "%-24s median %.3f s/step  (%.2fx SimMIM)\n", s, m, m / b }'
done
