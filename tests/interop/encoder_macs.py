#!/usr/bin/env python3
"""Our MAC counts (`sgmim-bench macs`, include/sgmim/models/encoder_macs.h) against torch's own FLOP counter.

torch.utils.flop_counter.FlopCounterMode (torch >= 2.1) counts 2 FLOPs per multiply-accumulate of every mm, addmm,
bmm, baddbmm, convolution and fused attention a module executes. It runs here on the golden script's faithful
re-implementations of the official modules (scripts/golden/make_golden.py: microsoft/SimMIM, microsoft/
Swin-Transformer, Ho1guma/SG-MIM), configured as our registry configures the same names, at batch 1 and 2; the
counts must equal batch x per_image + per_forward exactly (per_forward: Swin v2's cpb_mlp, once per forward).
    SGMIM_PYTHON tests/interop/encoder_macs.py path/to/sgmim-bench     (registered in tests/interop/tests.cmake)
"""

import json
import os
import subprocess
import sys
from functools import partial

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "golden"))
import make_golden as official  # noqa: E402  (the official modules; importing it runs nothing)


def ours(bench, model, method):
    out = subprocess.run([bench, "macs", "--model", model, "--method", method, "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def executed_macs(forward):
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        forward()
    flops = counter.get_total_flops()
    assert flops % 2 == 0, flops
    return flops // 2


def swin_kwargs(name):
    if name in ("swin_test", "swinv2_test"):
        return official.swin_test_kwargs()
    assert name == "swin_base"  # our registry: src/models/encoder.cpp, SimMIM's Swin-B at 192 with window 6
    return dict(img_size=192, patch_size=4, in_chans=3, num_classes=0, embed_dim=128, depths=[2, 2, 18, 2],
                num_heads=[4, 8, 16, 32], window_size=6, mlp_ratio=4.0, qkv_bias=True, drop_rate=0.0,
                drop_path_rate=0.0, ape=False, patch_norm=True)


def encoder(name):
    if name == "vit_test":  # as the golden script's case_vit
        return official.VisionTransformerForSimMIM(
            img_size=64, patch_size=16, in_chans=3, num_classes=0, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0,
            qkv_bias=True, drop_rate=0.0, drop_path_rate=0.0, norm_layer=partial(nn.LayerNorm, eps=1e-6),
            init_values=0.1, use_abs_pos_emb=False, use_rel_pos_bias=False, use_shared_rel_pos_bias=True,
            use_mean_pooling=False), 64, 16
    cls = official.SwinTransformerV2ForSimMIM if name.startswith("swinv2") else official.SwinTransformerForSimMIM
    kw = swin_kwargs(name)
    return cls(**kw), kw["img_size"], kw["patch_size"]


def main():
    bench = sys.argv[1]
    failures = []

    def check(label, expected, got):
        status = "ok" if expected == got else "MISMATCH"
        print("%-32s ours %15d  FlopCounterMode %15d  %s" % (label, expected, got, status))
        if expected != got:
            failures.append(label)

    for name in ("swin_test", "swinv2_test", "vit_test", "swin_base"):
        model, img, patch = encoder(name)
        model.eval()
        m = ours(bench, name, "simmim")
        for batch in (1, 2) if name != "swin_base" else (1,):
            x = torch.randn(batch, 3, img, img)
            mask = torch.zeros(batch, img // patch, img // patch, dtype=torch.int64)
            got = executed_macs(lambda: model(x, mask))
            check("%s encoder, batch %d" % (name, batch),
                  batch * m["encoder_macs_per_image"] + m["encoder_macs_per_forward"], got)

    # The SG-MIM v1 model (the golden script's case_sgmim): encoder, Depth_Encoder, Fusion_blk and both decoders.
    enc = official.SwinTransformerForSimMIM(**official.swin_test_kwargs())
    model = official.SGMIM(enc, encoder_stride=32, img_size=64, patch_size=4, fusion_heads=8)
    model.eval()
    m = ours(bench, "swin_test", "sgmim")
    for batch in (1, 2):
        image, depth = torch.randn(batch, 3, 64, 64), torch.rand(batch, 1, 64, 64)
        mask = official.simmim_mask(batch, 64, 32, 4, 0.6)
        got = executed_macs(lambda: model(image, official.standardize_depth(depth), mask))
        check("sgmim swin_test model, batch %d" % batch,
              batch * m["model_macs_per_image"] + m["model_macs_per_forward"], got)

    if failures:
        print("encoder_macs: %d mismatch(es): %s" % (len(failures), ", ".join(failures)))
        sys.exit(1)
    print("encoder_macs: all counts agree with torch %s's FlopCounterMode" % torch.__version__)


if __name__ == "__main__":
    main()
