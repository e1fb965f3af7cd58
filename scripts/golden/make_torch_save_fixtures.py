#!/usr/bin/env python3
"""Writes the small torch.save fixtures of tests/io/torch_pickle_test.cpp and checkpoint_keys tests into
tests/fixtures/torch_save/, plus expected.txt with the values the C++ tests compare against.

Run with Debian's torch 1.13:  /usr/bin/python3 scripts/golden/make_torch_save_fixtures.py tests/fixtures/torch_save
The checkpoints are saved the way microsoft/SimMIM utils.py save_checkpoint does ({'model', 'optimizer',
'lr_scheduler', 'max_accuracy', 'epoch', 'config'}; we add a 'scaler' dict as newer trainers do), with a stand-in for yacs' CfgNode (a dict subclass
registered as module `yacs.config`, so the pickle names the real class), an argparse Namespace and a numpy scalar.
"""
import argparse
import collections
import os
import sys
import types

import numpy as np
import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
expected = []


def note(name, value):
    expected.append(f"{name} {value!r}" if not isinstance(value, float) else f"{name} {value:.17g}")


# A stand-in for yacs.config.CfgNode: pickled as the GLOBAL 'yacs.config CfgNode' with dict items and a __dict__.
yacs = types.ModuleType("yacs")
yacs_config = types.ModuleType("yacs.config")


class CfgNode(dict):
    pass


CfgNode.__module__ = "yacs.config"
yacs_config.CfgNode = CfgNode
yacs.config = yacs_config
sys.modules["yacs"] = yacs
sys.modules["yacs.config"] = yacs_config

torch.manual_seed(0)
# 1. An official-format SimMIM checkpoint: OrderedDict weights with a DataParallel-free layout, decoder.0.*.
model = collections.OrderedDict()
model["encoder.patch_embed.proj.weight"] = torch.randn(4, 3, 2, 2)
model["encoder.patch_embed.proj.bias"] = torch.randn(4)
model["encoder.mask_token"] = torch.zeros(1, 1, 4)
model["decoder.0.weight"] = torch.randn(12, 4, 1, 1)
model["decoder.0.bias"] = torch.randn(12)
w = torch.nn.Parameter(torch.randn(3, 5))
opt = torch.optim.AdamW([w], lr=1e-3)
w.sum().backward()
opt.step()
cfg = CfgNode()
cfg["MODEL"] = CfgNode(TYPE="swin", NAME="simmim_pretrain")
cfg["TRAIN"] = CfgNode(EPOCHS=100, BASE_LR=8e-4)
cfg.__dict__["_immutable"] = True
ckpt = {"model": model, "optimizer": opt.state_dict(), "lr_scheduler": {"last_epoch": 99}, "max_accuracy": 0.0,
        "scaler": {"scale": 65536.0, "growth_factor": 2.0}, "epoch": 99, "config": cfg,
        "args": argparse.Namespace(local_rank=0, tag="run"), "np_scalar": np.float64(0.25)}
torch.save(ckpt, os.path.join(out, "official_simmim.pth"))
for k, v in model.items():
    note(f"official_simmim.sum.{k}", float(v.double().sum()))
note("official_simmim.exp_avg_sum", float(opt.state_dict()["state"][0]["exp_avg"].double().sum()))

# 2. An SG-MIM v1 file saved from DataParallel: `module.` prefix, unused encoder.depth_patch_embed.*, under
# 'state_dict'.
sd = collections.OrderedDict()
sd["module.encoder.norm.weight"] = torch.arange(4, dtype=torch.float32)
sd["module.encoder.depth_patch_embed.proj.weight"] = torch.ones(4, 1, 2, 2)
sd["module.img_decoder.0.bias"] = torch.full((12,), 0.5)
torch.save({"state_dict": sd, "epoch": 3}, os.path.join(out, "sgmim_v1_module.pth"))

# 3. Every dtype torch writes, views into one storage and two tensors sharing a storage.
dtypes = collections.OrderedDict()
base = torch.arange(-6, 6, dtype=torch.float64)
for name, dt in [("float32", torch.float32), ("float64", torch.float64), ("float16", torch.float16),
                 ("bfloat16", torch.bfloat16), ("int8", torch.int8), ("int16", torch.int16), ("int32", torch.int32),
                 ("int64", torch.int64), ("uint8", torch.uint8), ("bool", torch.bool)]:
    t = (base * 1.5 if dt.is_floating_point else (base.abs() if dt == torch.uint8 else base)).to(dt).reshape(3, 4)
    dtypes[name] = t
    note(f"dtypes.sum.{name}", float(t.double().sum()))
big = torch.arange(24, dtype=torch.float32).reshape(4, 6)
dtypes["view_transposed"] = big.t()              # stride (1, 6)
dtypes["view_offset"] = big[1:3, 2:5]              # offset 8, stride (6, 1)
dtypes["shared_a"] = big.view(24)                  # same storage as the views
dtypes["param"] = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
dtypes["scalar"] = torch.tensor(7.5)


class TaggedTensor(torch.Tensor):  # a tensor subclass: pickled through torch._tensor._rebuild_from_type_v2
    pass


dtypes["subclass"] = torch.arange(3, dtype=torch.float32).as_subclass(TaggedTensor)
dtypes["nested"] = {"list": [1, 2.5, True, None, "s", b"\x00\xff"], "tuple": (1, (2, 3))}
torch.save(dtypes, os.path.join(out, "dtypes_views.pth"))
note("dtypes.view_transposed.sum_diag", float(torch.diagonal(big.t()).sum()))

# 4. A real (test-sized) pre-trained encoder in the official format: the golden script's SwinTransformerForSimMIM
# with the swin_test configuration. To keep the file small its decoder (3072 x 32 weights) and the derived buffers
# (relative_position_index, attn_mask: rebuilt by our encoder, docs/weights.md) are left out.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden  # noqa: E402

torch.manual_seed(5)
swin = make_golden.SwinTransformerForSimMIM(**make_golden.swin_test_kwargs())
make_golden.rerandomize(swin)
weights = collections.OrderedDict(("encoder." + k, v) for k, v in swin.state_dict().items()
                                  if not k.endswith(("relative_position_index", "attn_mask")))
torch.save({"model": weights, "optimizer": {"state": {}, "param_groups": []}, "epoch": 99, "config": cfg},
           os.path.join(out, "official_simmim_swin_test.pth"))
note("official_swin.sum.patch_embed.proj.weight", float(swin.patch_embed.proj.weight.double().sum()))
note("official_swin.sum.layers.2.blocks.1.attn.qkv.weight", float(swin.layers[2].blocks[1].attn.qkv.weight.double().sum()))

# 5. The legacy (non-zip) format.
torch.save({"w": torch.ones(2)}, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)

with open(os.path.join(out, "expected.txt"), "w") as f:
    f.write("\n".join(expected) + "\n")
