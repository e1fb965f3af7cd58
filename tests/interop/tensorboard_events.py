"""TensorBoard's own reader agrees with metrics.jsonl (issue 10 §C, docs/metrics-and-logs.md).

A short pre-training run writes both; tensorboard's EventAccumulator must find exactly the scalar tags
train/<key> for the JSONL keys that docs/metrics-and-logs.md lists, at the same steps, with values equal to the
JSONL's rounded to float32 (an event stores a float).

usage: python tensorboard_events.py PRETRAIN_BIN WORK_DIR
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

KEYS = ["loss", "loss_img", "loss_sk", "lr", "grad_norm", "img_per_s"]


def main():
    pretrain, work = sys.argv[1:3]
    shutil.rmtree(work, ignore_errors=True)
    cmd = [pretrain, "--set", "data.synthetic=16", "data.batch_size=4", "train.base_batch_size=4", "train.epochs=2",
           "train.warmup_epochs=1", "runtime.threads=2", "runtime.log_every=1", "runtime.recon_every_epochs=0",
           "--output-dir", work]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout[-4000:]}")
    rows = [json.loads(line) for line in open(os.path.join(work, "metrics.jsonl"))]
    files = glob.glob(os.path.join(work, "tensorboard", "events.out.tfevents.*"))
    if len(files) != 1:
        sys.exit(f"FAIL: expected one event file, found {files}")
    acc = EventAccumulator(files[0], size_guidance={"scalars": 0})
    acc.Reload()
    failed = []
    want_tags = sorted("train/" + k for k in KEYS)
    got_tags = sorted(acc.Tags()["scalars"])
    if got_tags != want_tags:
        failed.append(f"tags {got_tags} != {want_tags}")
    steps = [r["step"] for r in rows]
    if len(steps) < 4:
        failed.append(f"only {len(steps)} JSONL rows")
    for key in KEYS:
        if "train/" + key not in got_tags:
            continue
        events = acc.Scalars("train/" + key)
        got_steps = [e.step for e in events]
        if got_steps != steps:
            failed.append(f"{key}: steps {got_steps} != {steps}")
            continue
        want = np.array([r[key] for r in rows], dtype=np.float32)
        got = np.array([e.value for e in events], dtype=np.float32)
        if not np.array_equal(got, want):
            failed.append(f"{key}: values {got.tolist()} != {want.tolist()}")
    if failed:
        sys.exit("FAIL: " + "; ".join(failed))
    print(f"tensorboard: {len(KEYS)} tags x {len(steps)} steps equal metrics.jsonl")


if __name__ == "__main__":
    main()
