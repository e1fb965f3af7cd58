#!/usr/bin/env bash
# Data loading against torchvision (docs/benchmarks.md, "Data loading against torchvision"): `sgmim-bench loader` and
# scripts/bench/loader_torchvision.py over the same fixture, side by side in one run, on one thread (workers 0) and on
# all usable CPUs (one worker each), batch 32, alternating the two pipelines REPEATS times and taking medians, then a
# table with the ratios and sgmim's per-stage breakdown.
#
# The fixture is made once, into <build-dir>/loader-fixture: 300 JPEGs of 500×375 with 16-bit PNG knowledge maps in
# the MultiMAE layout (scripts/bench/make_loader_fixture.py), cut from the real photographs that Debian's
# python3-skimage ships in skimage/data (taken from the installed package, else from `apt-get download` + `dpkg -x`,
# as scripts/fetch-test-data.sh does).
#
# Usage: scripts/bench/loader_vs_torchvision.sh [build-dir] [python]
#   build-dir: holds apps/sgmim-bench (default: build)
#   python:    has torch + torchvision (default: the 2.x lane's venv, `bash scripts/setup-torch2.sh --print-python`;
#              Debian's /usr/bin/python3 works where python3-torchvision is installed)
#   REPEATS=5 (alternations), IMAGES=0 (timed images per run; 0 = one epoch less the warm-up batch), BATCH=32,
#   BASELINE=<another sgmim-bench> (optional: a second build, e.g. of the commit before a change, alternated with the
#   two others in every repeat and shown as its own row, so that before and after come from the same machine state)
#   SHARDS=1 (optional: also the same fixture packed once by sgmim-pack into WebDataset shards with .npy maps,
#   <build-dir>/loader-fixture-shards, read by `sgmim-bench loader --shards`, alternated with the others; its ratio
#   is against torchvision on the ImageFolder tree; docs/datasets.md §12)
#   SHARDS_MAX_SIDE=N (with SHARDS=1: a second set packed with --max-side N, FFCV's pre-resized storage: other
#   samples than the tree's, so it is timed as its own row)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build}"
python="${2:-$(bash "$repo/scripts/setup-torch2.sh" --print-python 2>/dev/null || true)}"
repeats="${REPEATS:-5}"
images="${IMAGES:-0}"
batch="${BATCH:-32}"
baseline="${BASELINE:-}"
shards="${SHARDS:-0}"
max_side="${SHARDS_MAX_SIDE:-0}"
bench="$build/apps/sgmim-bench"
[ -x "$bench" ] || { echo "loader_vs_torchvision: $bench not found (ninja -C $build sgmim-bench)" >&2; exit 1; }
[ -n "$python" ] && "$python" -c 'import torchvision' 2>/dev/null ||
  { echo "loader_vs_torchvision: python '${python}' cannot import torchvision (pass one that can)" >&2; exit 1; }

# --- The fixture, once. -----------------------------------------------------------------------------------------
fixture="$build/loader-fixture"
photos=(astronaut.png chelsea.png coffee.png rocket.jpg motorcycle_left.png motorcycle_right.png
        hubble_deep_field.jpg retina.jpg ihc.png)
if [ ! -f "$fixture/.complete" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  data=/usr/lib/python3/dist-packages/skimage/data
  if [ ! -f "$data/${photos[0]}" ]; then
    (cd "$work" && apt-get download -qq python3-skimage >"$work/apt.log" 2>&1) ||
      { echo "loader_vs_torchvision: 'apt-get download python3-skimage' failed:" >&2; cat "$work/apt.log" >&2; exit 1; }
    dpkg -x "$work"/python3-skimage_*.deb "$work/root"
    data="$work/root$data"
  fi
  rm -rf "$fixture.partial"
  "$python" "$repo/scripts/bench/make_loader_fixture.py" "$fixture.partial" "${photos[@]/#/$data/}" --count 300
  touch "$fixture.partial/.complete"
  rm -rf "$fixture"
  mv "$fixture.partial" "$fixture"
fi

# --- The shards, once. ------------------------------------------------------------------------------------------
shard_set=""
if [ "$shards" = 1 ]; then
  packed="$build/loader-fixture-shards"
  if [ ! -f "$packed/train.index.json" ]; then
    rm -rf "$packed"
    "$build/apps/sgmim-pack" --images "$fixture" --out "$packed" --shard-samples 50 >/dev/null
  fi
  count="$(ls "$packed"/train-*.tar | wc -l)"
  shard_set="$packed/train-{000000..$(printf '%06d' $((count - 1)))}.tar"
  if [ "$max_side" != 0 ]; then
    resized="$build/loader-fixture-shards-$max_side"
    if [ ! -f "$resized/train.index.json" ]; then
      rm -rf "$resized"
      "$build/apps/sgmim-pack" --images "$fixture" --out "$resized" --shard-samples 50 --max-side "$max_side" >/dev/null
    fi
    resized_set="$resized/train-{000000..$(printf '%06d' $((count - 1)))}.tar"
  fi
fi

# --- Alternating runs. ------------------------------------------------------------------------------------------
cpus="$(nproc)"
out="$(mktemp -d)"
for ((r = 0; r < repeats; r++)); do
  "$bench" loader --root "$fixture" --workers "0,$cpus" --batch "$batch" --images "$images" --repeats 1 --seed "$r" \
    --json >"$out/sgmim.$r.json"
  "$python" "$repo/scripts/bench/loader_torchvision.py" --root "$fixture" --workers "0,$cpus" --batch "$batch" \
    --images "$images" --repeats 1 --seed "$r" --json >"$out/torchvision.$r.json"
  if [ -n "$shard_set" ]; then
    "$bench" loader --shards "$shard_set" --workers "0,$cpus" --batch "$batch" --images "$images" --repeats 1 \
      --seed "$r" --json >"$out/shards.$r.json"
  fi
  if [ -n "${resized_set:-}" ]; then
    "$bench" loader --shards "$resized_set" --workers "0,$cpus" --batch "$batch" --images "$images" --repeats 1 \
      --seed "$r" --json >"$out/resized.$r.json"
  fi
  if [ -n "$baseline" ]; then
    "$baseline" loader --root "$fixture" --workers "0,$cpus" --batch "$batch" --images "$images" --repeats 1 \
      --seed "$r" --json >"$out/baseline.$r.json"
  fi
done
"$bench" loader --root "$fixture" --workers 0 --batch "$batch" --repeats 1 --breakdown --json >"$out/breakdown.json"

# --- The table. -------------------------------------------------------------------------------------------------
"$python" - "$out" "$repeats" "$cpus" "$baseline" "$shard_set" "${resized_set:-}" "$max_side" <<'PY'
import json, statistics, sys
out, repeats, cpus, baseline, shard_set = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
resized_set, max_side = sys.argv[6], sys.argv[7]
pipelines = ("sgmim", "torchvision") + (("baseline",) if baseline else ()) + (("shards",) if shard_set else ()) + \
    (("resized",) if resized_set else ())
runs = {p: [json.load(open(f"{out}/{p}.{r}.json")) for r in range(repeats)] for p in pipelines}
tv = runs["torchvision"][0]
print(f"fixture {runs['sgmim'][0]['root']}: {tv['dataset_images']} images, batch {tv['batch']}, size {tv['size']}, "
      f"{tv['images']} timed images per run, {repeats} alternating runs each (median)")
print(f"torchvision {tv['torchvision']} (torch {tv['torch']}, Pillow {tv['pillow']})")
print(f"{'configuration':<28}{'sgmim img/s':>12}{'torchvision img/s':>19}{'ratio':>8}")
for c, label in ((0, "1 thread (workers 0)"), (1, f"{cpus} workers x 1 thread")):
    ours = statistics.median(r["configs"][c]["images_per_s"] for r in runs["sgmim"])
    theirs = statistics.median(r["configs"][c]["images_per_s"] for r in runs["torchvision"])
    print(f"{label:<28}{ours:>12.1f}{theirs:>19.1f}{ours / theirs:>7.2f}x")
    if baseline:
        base = statistics.median(r["configs"][c]["images_per_s"] for r in runs["baseline"])
        print(f"{'  baseline ' + label:<28}{base:>12.1f}{theirs:>19.1f}{base / theirs:>7.2f}x")
    if shard_set:
        packed = statistics.median(r["configs"][c]["images_per_s"] for r in runs["shards"])
        print(f"{'  shards ' + label:<28}{packed:>12.1f}{theirs:>19.1f}{packed / theirs:>7.2f}x")
    if resized_set:
        small = statistics.median(r["configs"][c]["images_per_s"] for r in runs["resized"])
        print(f"{'  shards max-side ' + max_side + ' ' + label:<28}{small:>12.1f}{theirs:>19.1f}{small / theirs:>7.2f}x")
if baseline:
    print(f"baseline: {baseline}")
if shard_set:
    print(f"shards: {shard_set} (sgmim-pack, .npy maps; read with the default 8 streams, shuffle buffer 128)")
b = json.load(open(f"{out}/breakdown.json"))
print("sgmim breakdown, one thread, mean per image:")
for s in b["stages"]:
    print(f"  {s['stage']:<36}{s['ms_per_image']:>8.3f} ms")
print(f"  {'sum of the stages':<36}{b['stages_total_ms']:>8.3f} ms")
print(f"samples checksum (FNV-1a of every get() output; equal across builds = bit-identical samples): "
      f"{b['samples_checksum']}")
PY
rm -rf "$out"
