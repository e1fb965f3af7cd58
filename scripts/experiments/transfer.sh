#!/usr/bin/env bash
# The transfer experiment (docs/experiments.md): does pre-training with sgmim give a better encoder?
#   1. generate the data: unlabelled scenes with DPT-like knowledge maps, a small labelled KITTI-format set and a small
#      ADE20K-format set;
#   2. pre-train every case (SimMIM, SG-MIM and the Table 6 ablations) at equal steps, for several seeds;
#   3. fine-tune depth and segmentation from each pre-trained encoder and from scratch on the labelled sets;
#   4. summarise: mean ± std over seeds of RMSE, abs_rel and d1, and of mIoU, aAcc and mAcc, as CSV / JSON / Markdown
#      and bar charts.
# Every step skips work already done (a finished run has its model.pth), so a stopped experiment resumes.
set -euo pipefail

usage() {
  cat <<'TEXT'
usage: scripts/experiments/transfer.sh [--scale cpu|gpu|tiny] [--seeds N] [--cases LIST] [--out DIR] [--build DIR]

  --scale cpu    (default) swin_mini at 64 px: 2,000 unlabelled scenes; 64 labelled depth frames and 64 labelled
                 segmentation images (64 of each for validation); about 70 minutes on 2 cores (docs/experiments.md)
  --scale gpu    the same at GPU scale: swin_tiny at 192 px, 50,000 scenes, 512 labelled frames, runtime.device cuda
  --scale tiny   a smoke run of a few steps with the tiny test encoder (the ctest experiment_transfer_smoke)
  --seeds N      seeds per case (default 3; tiny: 1)
  --cases LIST   pre-training cases, comma-separated: simmim, sgmim, the Table 6 ablations sgmim-random and
                 sgmim-lambda0, and sgmim-transformer, sgmim-siamese. `scratch` is always fine-tuned.
                 Default: simmim,sgmim at the cpu scale (the ablations add about 50 minutes: name them),
                 all four at the gpu and tiny scales.
  --out DIR      where data, runs and the summary go (default experiments/transfer)
  --build DIR    the build folder holding apps/ (default build)

Writes DIR/transfer.{md,csv,json,png} (depth), DIR/seg/transfer.{md,csv,json,png} (segmentation), DIR/wall_time.txt,
DIR/pretrain/<case>/seed<k>/, DIR/finetune/<case>/seed<k>/ (depth) and DIR/finetune-seg/<case>/seed<k>/ (each a normal
run directory: config.yaml, metrics.jsonl, plots/loss.png, model.pth).
TEXT
}

scale=cpu seeds="" cases="" out=experiments/transfer build=build
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "transfer.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pre_config=$repo/configs/experiments/transfer_pretrain_swin-mini_img64.yaml
ft_config=$repo/configs/depth/experiments/transfer_glp_swin-mini_kitti-synthetic.yaml
seg_config=$repo/configs/seg/experiments/transfer_upernet_swin-mini_ade20k-synthetic.yaml
case "$scale" in
  cpu)  scenes=2000 scene_size=96x72 labelled=64 val=64 frame_size=212x64 pre_epochs=12 ft_epochs=60
        seg_labelled=64 seg_val=64 seg_size=128x96 seg_iters=480
        pre_sets="" ft_sets="" seg_sets="" seeds=${seeds:-3} default_cases="simmim,sgmim" ;;
  gpu)  scenes=50000 scene_size=256x192 labelled=512 val=256 frame_size=636x192 pre_epochs=40 ft_epochs=30
        seg_labelled=512 seg_val=256 seg_size=512x384 seg_iters=4000
        pre_sets="model.encoder.name=swin_tiny data.img_size=192 model.mask_patch_size=32 data.batch_size=128
                  train.base_batch_size=128 data.num_workers=8 runtime.threads=0 runtime.device=cuda train.precision=bf16"
        ft_sets="model.encoder.name=swin_tiny model.encoder.img_size=192 data.crop=[192,192]
                 model.encoder.window_sizes=[6,6,6,6] data.batch_size=16 data.num_workers=8 runtime.threads=0
                 runtime.device=cuda eval.shift_size=48"
        seg_sets="model.encoder.name=swin_tiny model.encoder.img_size=192 model.encoder.window_sizes=[6,6,6,6]
                  model.channels=256 model.aux_channels=128 data.crop=[192,192] data.scale=[512,384]
                  eval.scale=[512,384] eval.stride=[128,128] data.batch_size=16 data.num_workers=8 runtime.threads=0
                  runtime.device=cuda"
        seeds=${seeds:-3} default_cases="simmim,sgmim,sgmim-random,sgmim-lambda0" ;;
  tiny) scenes=16 scene_size=96x72 labelled=8 val=4 frame_size=212x64 pre_epochs=1 ft_epochs=1
        seg_labelled=8 seg_val=4 seg_size=128x96 seg_iters=2
        pre_sets="model.encoder.name=swin_test data.batch_size=8 train.base_batch_size=8 train.warmup_epochs=0
                  data.num_workers=1 runtime.log_every=1"
        ft_sets="model.encoder.name=swin_test model.encoder.window_sizes=[8,8,8,4]
                 model.encoder.use_shift=[true,true,false,false] data.batch_size=4 data.num_workers=1
                 runtime.log_every=1"
        seg_sets="model.encoder.name=swin_test data.batch_size=4 data.num_workers=1 train.warmup_iters=1
                  runtime.log_every=1"
        seeds=${seeds:-1} default_cases="simmim,sgmim,sgmim-random,sgmim-lambda0" ;;
  *) echo "transfer.sh: --scale must be cpu, gpu or tiny, not '$scale'" >&2; exit 2 ;;
esac
cases=${cases:-$default_cases}
for app in sgmim-synth sgmim-pretrain sgmim-finetune-depth sgmim-finetune-seg sgmim-analyze; do
  [[ -x $build/apps/$app ]] || { echo "transfer.sh: $build/apps/$app is missing; build first (make build)" >&2; exit 2; }
done
synth=$build/apps/sgmim-synth pretrain=$build/apps/sgmim-pretrain
finetune=$build/apps/sgmim-finetune-depth finetune_seg=$build/apps/sgmim-finetune-seg analyze=$build/apps/sgmim-analyze

# Per case: the keys a pre-training run of that case sets (paper Tables 5 and 6).
case_sets() {
  case "$1" in
    simmim) echo "model.method=simmim" ;;
    sgmim) echo "model.method=sgmim model.knowledge_masking=selective model.lambda_sk=1.0" ;;
    sgmim-random) echo "model.method=sgmim model.knowledge_masking=random" ;;
    sgmim-lambda0) echo "model.method=sgmim model.lambda_sk=0.0" ;;
    sgmim-transformer) echo "model.method=sgmim model.guidance.kind=transformer" ;;
    sgmim-siamese) echo "model.method=sgmim model.guidance.kind=siamese" ;;
    *) echo "transfer.sh: unknown case '$1' (simmim, sgmim, sgmim-random, sgmim-lambda0, sgmim-transformer, sgmim-siamese)" >&2
       exit 2 ;;
  esac
}
IFS=',' read -r -a case_list <<< "$cases"
for c in "${case_list[@]}"; do case_sets "$c" > /dev/null; done

start=$(date +%s)
mkdir -p "$out"
log() { echo "[transfer $(date +%H:%M:%S)] $*"; }

# 1. Data (seed 1000 for the unlabelled scenes, 2000 for the labelled frames: disjoint scenes).
if [[ ! -f $out/data/pretrain/rgb/.complete ]]; then
  log "generating $scenes unlabelled scenes ($scene_size) with DPT-like knowledge maps"
  "$synth" --out "$out/data/pretrain" --format imagefolder-knowledge --count "$scenes" --size "$scene_size" \
    --seed 1000 --realistic-knowledge 2>&1 | tail -n 1
  touch "$out/data/pretrain/rgb/.complete"
fi
if [[ ! -f $out/data/labelled/.complete ]]; then
  log "generating $labelled labelled frames + $val for validation ($frame_size, KITTI format)"
  "$synth" --out "$out/data/labelled" --format kitti --count "$labelled" --val-count "$val" --size "$frame_size" \
    --seed 2000 2>&1 | tail -n 1
  touch "$out/data/labelled/.complete"
fi
if [[ ! -f $out/data/seg/.complete ]]; then
  log "generating $seg_labelled segmentation images + $seg_val for validation ($seg_size, ADE20K format)"
  "$synth" --out "$out/data/seg" --format ade20k --count "$seg_labelled" --val-count "$seg_val" --size "$seg_size" \
    --seed 3000 2>&1 | tail -n 1
  touch "$out/data/seg/.complete"
fi
lab=$out/data/labelled
data_sets="data.data_path=$lab/raw_data data.gt_path=$lab/data_depth_annotated
           data.train_list=$lab/filenames/eigen_benchmark/train_list.txt
           data.test_list=$lab/filenames/eigen_benchmark/test_list.txt"

# 2. Pre-training.
for seed in $(seq 0 $((seeds - 1))); do
  for c in "${case_list[@]}"; do
    run=$out/pretrain/$c/seed$seed
    if [[ -f $run/model.pth ]]; then log "pre-training $c seed $seed: done before"; continue; fi
    log "pre-training $c seed $seed -> $run"
    mkdir -p "$(dirname "$run")"
    # shellcheck disable=SC2046  # word splitting of the --set lists is intended
    "$pretrain" --config "$pre_config" --output-dir "$run" \
      --set data.root="$out/data/pretrain" train.epochs="$pre_epochs" runtime.seed="$seed" \
            $(case_sets "$c") $pre_sets > "$run.log" 2>&1 \
      || { echo "transfer.sh: pre-training $c seed $seed failed; see $run.log" >&2; tail -n 20 "$run.log" >&2; exit 1; }
    tail -n 6 "$run.log" | head -n 1
  done
done

# 3. Fine-tuning: scratch and every pre-trained encoder, the same labelled data and schedule per task.
# finetune_all LABEL APP CONFIG RUNS [--set KEY=VALUE ...]: every seed and case; skips finished runs; prints each run's
# last validation (the metrics table's header and values for depth, one line for segmentation).
finetune_all() {
  local label=$1 app=$2 config=$3 runs=$4 seed c run pretrained
  shift 4
  for seed in $(seq 0 $((seeds - 1))); do
    for c in scratch "${case_list[@]}"; do
      run=$runs/$c/seed$seed
      if [[ -f $run/model.pth ]]; then log "$label $c seed $seed: done before"; continue; fi
      pretrained=""
      [[ $c == scratch ]] || pretrained=$out/pretrain/$c/seed$seed/model.pth
      log "$label $c seed $seed -> $run"
      mkdir -p "$(dirname "$run")"
      "$app" --config "$config" --output-dir "$run" --set model.pretrained="$pretrained" runtime.seed="$seed" "$@" \
        > "$run.log" 2>&1 \
        || { echo "transfer.sh: $label $c seed $seed failed; see $run.log" >&2; tail -n 20 "$run.log" >&2; exit 1; }
      grep -A 2 '^validation after' "$run.log" | tail -n 2 || true
      grep '^validation mIoU' "$run.log" | tail -n 1 || true
    done
  done
}
# shellcheck disable=SC2086  # word splitting of the --set lists is intended
finetune_all fine-tuning "$finetune" "$ft_config" "$out/finetune" train.epochs="$ft_epochs" $data_sets $ft_sets
# shellcheck disable=SC2086
finetune_all "segmentation fine-tuning" "$finetune_seg" "$seg_config" "$out/finetune-seg" \
  train.iterations="$seg_iters" data.root="$out/data/seg/ADEChallengeData2016" $seg_sets

# 4. Summary.
"$analyze" transfer --runs "$out/finetune" --out "$out" --title "transfer ($scale, $seeds seeds): depth" \
  --cases "scratch,$cases"
"$analyze" transfer --runs "$out/finetune-seg" --out "$out/seg" --metrics mIoU aAcc mAcc \
  --title "transfer ($scale, $seeds seeds): segmentation" --cases "scratch,$cases"
seconds=$(( $(date +%s) - start ))
printf 'scale %s, seeds %s, cases scratch,%s: %d min %02d s (this invocation; steps done before are not counted)\n' \
  "$scale" "$seeds" "$cases" $((seconds / 60)) $((seconds % 60)) | tee "$out/wall_time.txt"
