"""The checkpoint a user of the official code holds fine-tunes and evaluates (issue 10 §C, docs/weights.md).

A pre-training run of ours gives weights; Python then writes them the way microsoft/SimMIM main_simmim.py
(utils.py save_checkpoint) does: {'model': OrderedDict of the model's state dict with the SimMIM decoder as
`decoder.0.*`, 'optimizer': a real torch.optim.AdamW state dict, 'lr_scheduler': {...}, 'max_accuracy': 0.0,
'epoch': 99, 'config': a yacs CfgNode, 'amp': None}, saved by this python's torch.save. The CfgNode class is
defined here under the module name yacs.config, so the pickle names the class users' files name, and our reader
must load it as an opaque placeholder without running it. sgmim-finetune-depth --pretrained on that file must run,
report the key mapping and the placeholder, and sgmim-eval must evaluate the result.

usage: python official_checkpoint.py PRETRAIN_BIN FINETUNE_BIN EVAL_BIN WORK_DIR
"""
import collections
import os
import re
import shutil
import subprocess
import sys
import types

import torch


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(p.stdout[-4000:])
    if p.returncode != 0:
        sys.exit(f"FAIL: exit code {p.returncode}")
    return p.stdout


def official_config_class():
    """A stand-in for yacs.config.CfgNode (a dict subclass), registered under that module name."""
    yacs = types.ModuleType("yacs")
    config = types.ModuleType("yacs.config")

    class CfgNode(dict):
        pass

    CfgNode.__module__ = "yacs.config"
    CfgNode.__qualname__ = "CfgNode"
    config.CfgNode = CfgNode
    yacs.config = config
    sys.modules["yacs"] = yacs
    sys.modules["yacs.config"] = config
    return CfgNode


def main():
    pretrain, finetune, evaluate, work = sys.argv[1:5]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run([pretrain, "--set", "data.synthetic=16", "data.batch_size=8", "train.base_batch_size=8", "train.epochs=1",
         "train.warmup_epochs=0", "runtime.threads=2", "runtime.log_every=2", "runtime.recon_every_epochs=0",
         "runtime.tensorboard=false", "--output-dir", os.path.join(work, "pre")])
    ours = torch.load(os.path.join(work, "pre", "model.pth"))
    official = collections.OrderedDict()
    for k, v in ours.items():
        official[k.replace("img_decoder.0.", "decoder.0.", 1) if k.startswith("img_decoder.0.") else k] = v
    assert any(k.startswith("decoder.0.") for k in official), "the pre-training model has no img_decoder.0"

    params = [torch.nn.Parameter(v.clone().float()) for v in official.values() if v.is_floating_point()]
    opt = torch.optim.AdamW(params, lr=1e-4)
    sum(p.sum() for p in params).backward()
    opt.step()
    CfgNode = official_config_class()
    cfg = CfgNode(MODEL=CfgNode(TYPE="swin", NAME="simmim_pretrain"), TRAIN=CfgNode(EPOCHS=100))
    ckpt = {"model": official, "optimizer": opt.state_dict(), "lr_scheduler": {"last_epoch": 99},
            "max_accuracy": 0.0, "epoch": 99, "config": cfg, "amp": None}
    path = os.path.join(work, "ckpt_epoch_99.pth")
    torch.save(ckpt, path)
    print(f"torch {torch.__version__} wrote {path} ({os.path.getsize(path)} bytes)")

    out = run([finetune, "--pretrained", path, "--set", "data.synthetic=16", "train.epochs=1",
               "eval.every_epochs=1", "runtime.threads=2", "runtime.log_every=2", "--output-dir",
               os.path.join(work, "ft")])
    checks = {
        "the encoder was transferred": r"encoder from .*ckpt_epoch_99\.pth",
        "the SimMIM decoder key mapping is reported": r"decoder\.0\.weight -> img_decoder\.0\.weight",
        "the config is reported as an opaque yacs.config.CfgNode": r"yacs\.config\.CfgNode",
    }
    failed = [what for what, pattern in checks.items() if not re.search(pattern, out)]
    with open(os.path.join(work, "ft", "metrics.jsonl")) as f:
        if not any('"split":"val"' in line.replace(" ", "") for line in f):
            failed.append("a validation ran (a split=val row in metrics.jsonl)")
    ev = run([evaluate, "--task", "depth", "--config", os.path.join(work, "ft", "config.yaml"), "--checkpoint",
              os.path.join(work, "ft", "model.pth"), "--output-dir", os.path.join(work, "ft", "eval")])
    if not os.path.isfile(os.path.join(work, "ft", "eval", "metrics.json")):
        failed.append("sgmim-eval wrote metrics.json")
    if not re.search(r"rmse", ev):
        failed.append("sgmim-eval printed the metrics")
    if failed:
        sys.exit("FAIL: " + "; ".join(failed))
    print("official checkpoint: fine-tuned and evaluated")


if __name__ == "__main__":
    main()
