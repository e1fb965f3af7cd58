"""timm loads our exported encoder through its own filter and computes our stage features (issue 10 §C,
docs/weights.md "sgmim-convert: inspect, convert, export an encoder").

For each case, interop_encoder_features writes a randomly initialised encoder of ours (pre-training layout) and its
forward_features on a seeded input; `sgmim-convert export-encoder --layout timm` exports it; timm builds the matching
model, loads the export through its checkpoint_filter_fn with no missing and no unexpected key, and its
forward_intermediates(norm=True) (every stage's output, the final norm on the last: our forward_features'
convention) must equal ours within 1e-4. Swin v1 maps to timm's SwinTransformer, Swin v2 to SwinTransformerV2, our
BEiT-style SimMIM ViT to timm's Beit (its VisionTransformer has no relative position bias and no q/v biases).

usage: python timm_features.py FEATURES_BIN CONVERT_BIN WORK_DIR
"""
import os
import shutil
import subprocess
import sys

import torch
from safetensors.torch import load_file


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout[-3000:]}")
    return p.stdout


def timm_swin(v2):
    if v2:
        from timm.models.swin_transformer_v2 import SwinTransformerV2 as Model, checkpoint_filter_fn
    else:
        from timm.models.swin_transformer import SwinTransformer as Model, checkpoint_filter_fn
    # tests' swin_test / swinv2_test: embed 4, depths 2 2 2 2, heads 1 1 2 4, window 4, 64 px (src/models/encoder.cpp)
    model = Model(img_size=64, patch_size=4, embed_dim=4, depths=(2, 2, 2, 2), num_heads=(1, 1, 2, 4), window_size=4,
                  num_classes=0)
    return model, checkpoint_filter_fn


def timm_beit(export_path):
    """vit_test (64 px, patch 16, dim 32, depth 2, heads 2) as timm's Beit, with the bias tables the file has."""
    from timm.models.beit import Beit, checkpoint_filter_fn
    shared = any(k.startswith("rel_pos_bias.") for k in load_file(export_path))
    model = Beit(img_size=64, patch_size=16, embed_dim=32, depth=2, num_heads=2, use_abs_pos_emb=False,
                 use_rel_pos_bias=not shared, use_shared_rel_pos_bias=shared, init_values=0.1, num_classes=0,
                 global_pool="token")
    return model, checkpoint_filter_fn


def load_strictly(model, filter_fn, path):
    weights = load_file(path) if path.endswith(".safetensors") else torch.load(path, map_location="cpu")
    result = model.load_state_dict(filter_fn(weights, model), strict=False)
    bad = [k for k in result.missing_keys if not k.endswith(("relative_position_index", "attn_mask"))]
    if bad or result.unexpected_keys:
        return f"missing {bad}, unexpected {result.unexpected_keys}"
    return ""


def main():
    features_bin, convert_bin, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failed = []
    for name, family in (("swin_test", "v1"), ("swinv2_test", "v2"), ("vit_test", "beit")):
        weights, ours_path, export = (os.path.join(work, f"{name}_{x}") for x in
                                      ("weights.pth", "features.pth", "timm.safetensors"))
        run([features_bin, name, "7", weights, ours_path])
        print(run([convert_bin, "export-encoder", weights, export, "--layout", "timm"]).strip())
        model, filter_fn = timm_beit(export) if family == "beit" else timm_swin(family == "v2")
        problem = load_strictly(model, filter_fn, export)
        if problem:
            failed.append(f"{name}: timm load: {problem}")
            continue
        ours = torch.load(ours_path)
        model.eval()
        with torch.no_grad():
            theirs = model.forward_intermediates(ours["x"], norm=True, intermediates_only=True)
        if family == "beit":
            theirs = theirs[-1:]  # our ViT gives one map: the last block's tokens after the final norm
        for s, t in enumerate(theirs):
            diff = (t - ours[f"stage{s}"]).abs().max().item() if t.shape == ours[f"stage{s}"].shape else float("inf")
            print(f"{name} stage {s} {tuple(t.shape)}: max |timm - ours| = {diff:.3g}")
            if not diff <= 1e-4:
                failed.append(f"{name} stage {s}: {diff}")
    if failed:
        sys.exit("FAIL: " + "; ".join(failed))
    print("timm: Swin v1, Swin v2 and ViT (Beit) exports load through timm's filters and give our features")


if __name__ == "__main__":
    main()
