#!/usr/bin/env python3
"""Loads a Swin encoder exported by `sgmim-convert export-encoder IN OUT --layout timm` into timm's SwinTransformer
through timm's own checkpoint_filter_fn (huggingface/pytorch-image-models timm/models/swin_transformer.py), strictly,
and writes the stage features of one input so that a test can compare them with our encoder's (docs/weights.md
"sgmim-convert: inspect, convert, export an encoder").

Needs torch, timm and safetensors (the 2.x lane's venv, scripts/setup-torch2.sh); not used by the 1.13 tests.

  python check_timm_swin.py ENCODER.safetensors --embed-dim 4 --depths 2 2 2 2 --heads 1 1 2 4 --window 4 \
      --img-size 64 [--input INPUT.safetensors] [--out FEATURES.safetensors]

INPUT holds a tensor `x` [B, 3, H, W] (default: torch.manual_seed(0); randn(1, 3, img, img)). FEATURES gets `x` and
`stage{i}` [B, C_i, H_i, W_i], the output of each stage's blocks (timm down-samples at the start of the next stage,
the official code at the end of this one, so these are the same tensors), without the final norm. Exit status 1 when
timm reports a missing or unexpected key.
"""
import argparse
import sys

import torch
from safetensors.torch import load_file, save_file
from timm.models.swin_transformer import SwinTransformer, checkpoint_filter_fn

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("encoder")
p.add_argument("--embed-dim", type=int, required=True)
p.add_argument("--depths", type=int, nargs="+", required=True)
p.add_argument("--heads", type=int, nargs="+", required=True)
p.add_argument("--window", type=int, required=True)
p.add_argument("--img-size", type=int, required=True)
p.add_argument("--patch-size", type=int, default=4)
p.add_argument("--input")
p.add_argument("--out")
a = p.parse_args()

model = SwinTransformer(img_size=a.img_size, patch_size=a.patch_size, embed_dim=a.embed_dim, depths=a.depths,
                        num_heads=a.heads, window_size=a.window, num_classes=0).eval()
weights = load_file(a.encoder) if a.encoder.endswith(".safetensors") else torch.load(a.encoder, map_location="cpu")
result = model.load_state_dict(checkpoint_filter_fn(weights, model), strict=False)
print(f"missing: {result.missing_keys}\nunexpected: {result.unexpected_keys}")

if a.input:
    x = load_file(a.input)["x"]
else:
    torch.manual_seed(0)
    x = torch.randn(1, 3, a.img_size, a.img_size)
features = {"x": x.contiguous()}
with torch.no_grad():
    h = model.patch_embed(x)  # NHWC in timm
    for i, stage in enumerate(model.layers):
        h = stage(h)
        features[f"stage{i}"] = h.permute(0, 3, 1, 2).contiguous()
for k, v in features.items():
    print(k, tuple(v.shape), f"{float(v.double().abs().mean()):.6g}")
if a.out:
    save_file(features, a.out)
sys.exit(1 if result.missing_keys or result.unexpected_keys else 0)
