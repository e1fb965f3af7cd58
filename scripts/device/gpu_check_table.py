#!/usr/bin/env python3
"""The GPU check's one table (scripts/device/gpu-check.sh; its shape is documented in docs/gpu.md, "The table").

Reads what the check's steps wrote into one directory and prints the table; --header-only prints its header alone
(the dry run). Standard library only, so that it runs with any python3.
    gpu_check_table.py DIR [--batch 128]
    gpu_check_table.py --header-only
Files read (missing or unreadable ones give "n/a"): card.txt (one line), gemm.json (sgmim-bench gemm --json),
step_<method>.json (sgmim-bench step --json), python_<method>.json (scripts/bench/python_step.py --json),
nccl.json (sgmim-bench nccl --json), ctest.rc (ctest's exit code).
"""

import argparse
import json
import os

METHODS = ("simmim", "sgmim")
COLUMNS = ("model", "method", "impl", "batch", "step_s", "img/s", "MFU", "peak_GiB")
ROW = "%-10s %-7s %-7s %6s %9s %9s %7s %9s"


def header():
    return ROW % COLUMNS


def read_json(path):
    try:
        with open(path) as f:
            lines = [line for line in f if line.strip().startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip() or "n/a"
    except OSError:
        return "n/a"


def row(model, method, impl, batch, result, encoder_macs, peak_tflops):
    if not result:
        return ROW % (model, method, impl, batch, "n/a", "n/a", "n/a", "n/a")
    median, ips = result.get("median_s"), result.get("images_per_s")
    mem = result.get("peak_memory_bytes")
    mfu = "n/a"
    if encoder_macs and peak_tflops and ips:
        # FLOPs of a training step: 3 x (2 x encoder MACs) per image (docs/gpu.md, "MFU").
        mfu = "%.1f%%" % (100.0 * 6.0 * encoder_macs * ips / (peak_tflops * 1e12))
    return ROW % (model, method, impl, batch, "%.4f" % median if median else "n/a",
                  "%.1f" % ips if ips else "n/a", mfu, "%.2f" % (mem / 2**30) if mem else "n/a")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--model", default="swin_base")
    ap.add_argument("--header-only", action="store_true")
    args = ap.parse_args()
    if args.header_only or not args.dir:
        print(header())
        return
    d = args.dir
    gemm = read_json(os.path.join(d, "gemm.json"))
    peak = gemm.get("tflops") if gemm else None
    print("card: %s" % read_text(os.path.join(d, "card.txt")))
    print("bf16 GEMM peak (this run): %s" % ("%.1f TFLOP/s (n=%d)" % (peak, gemm["size"]) if peak else "n/a"))
    print(header())
    for method in METHODS:
        ours = read_json(os.path.join(d, "step_%s.json" % method))
        macs = ours.get("encoder_macs_per_image") if ours else None
        print(row(args.model, method, "sgmim", args.batch, ours, macs, peak))
        print(row(args.model, method, "python", args.batch, read_json(os.path.join(d, "python_%s.json" % method)),
                  macs, peak))
    nccl = read_json(os.path.join(d, "nccl.json"))
    if nccl and nccl.get("ok"):
        print("nccl (1 rank): ok  broadcast %d tensors, bucketed all-reduce of %d gradients (%.1f M values), %.3f s" %
              (nccl["broadcast_tensors"], nccl["allreduce_parameters"], nccl["allreduce_elements"] / 1e6,
               nccl["seconds"]))
    else:
        print("nccl (1 rank): FAILED or not run (see nccl.log)")
    print("tests: ctest exit code %s" % read_text(os.path.join(d, "ctest.rc")))


if __name__ == "__main__":
    main()
