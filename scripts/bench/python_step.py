#!/usr/bin/python3
"""The official Python SimMIM / SG-MIM pre-training step, timed like `sgmim-bench step` (apps/bench_main.cpp).

One step is what src/bench/step_benchmark.cpp times: zero_grad (set to None), forward with the loss, backward and an
AdamW step (lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.05 on every parameter: the single group our bench
uses). Masks are drawn before the clock starts; random inputs (image ~ N(0,1), knowledge ~ U(0,1)) are drawn once. The
SG-MIM knowledge map is standardised inside the timed step, as our Pretrainer does in forward().

The modules are the golden script's faithful re-implementations of the official code (scripts/golden/make_golden.py:
microsoft/SimMIM models/simmim.py and models/vision_transformer.py, microsoft/Swin-Transformer
models/swin_transformer.py, Ho1guma/SG-MIM models/sgmim.py), configured as our encoder registry
(src/models/encoder.cpp) and PretrainerOptions (include/sgmim/models/pretrainer.h) configure them. The only piece
added here is the SimMIM wrapper (microsoft/SimMIM models/simmim.py SimMIM: encoder, 1x1 conv + PixelShuffle decoder,
L1 on masked pixels / in_chans) and stochastic depth for ViT-B (drop_path_rate 0.1, the SimMIM ViT-B pre-training
config), which the golden modules leave out because the golden files are made in eval mode.

Run (Debian's torch 1.13, or the 2.x lane's venv from `bash scripts/setup-torch2.sh --print-python`):
    /usr/bin/python3 scripts/bench/python_step.py --model swin_base --method simmim --batch 2 --steps 3 --json
Add --profile to print torch.profiler's operators by self CPU time for the timed steps.
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import make_golden as official  # noqa: E402  (the official modules; importing it runs nothing)

IMG_SIZE_SWIN = 192
MASK_PATCH_SIZE = 32  # PretrainerOptions::mask_patch_size
MASK_RATIO = 0.6      # PretrainerOptions::mask_ratio

# Our registry (src/models/encoder.cpp registry()): name -> (embed_dim, depths, heads, window)
SWIN_VARIANTS = {
    "swin_tiny": (96, [2, 2, 6, 2], [3, 6, 12, 24], 6),
    "swin_small": (96, [2, 2, 18, 2], [3, 6, 12, 24], 6),
    "swin_base": (128, [2, 2, 18, 2], [4, 8, 16, 32], 6),
}


class DropPath(nn.Module):
    """Stochastic depth per sample (timm timm/layers/drop.py drop_path; our src/models/layers.cpp DropPathImpl)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)


class SimMIM(nn.Module):
    """microsoft/SimMIM models/simmim.py SimMIM: encoder, decoder (conv 1x1 -> stride^2*3, PixelShuffle), masked L1."""

    def __init__(self, encoder, encoder_stride, patch_size):
        super().__init__()
        self.encoder = encoder
        self.encoder_stride = encoder_stride
        self.decoder = nn.Sequential(
            nn.Conv2d(encoder.num_features, encoder_stride ** 2 * 3, kernel_size=1), nn.PixelShuffle(encoder_stride))
        self.in_chans = 3
        self.patch_size = patch_size

    def forward(self, x, mask):
        z = self.encoder(x, mask)
        x_rec = self.decoder(z)
        mask = mask.repeat_interleave(self.patch_size, 1).repeat_interleave(self.patch_size, 2).unsqueeze(1)
        mask = mask.contiguous()
        loss_recon = F.l1_loss(x, x_rec, reduction="none")
        return (loss_recon * mask).sum() / (mask.sum() + 1e-5) / self.in_chans


class SimMIMStep(nn.Module):
    """SimMIM with the step's (image, knowledge, mask) signature; the knowledge map is unused."""

    def __init__(self, simmim):
        super().__init__()
        self.simmim = simmim

    def forward(self, x, knowledge, mask):
        return self.simmim(x, mask)


class SGMIMStep(nn.Module):
    """SG-MIM v1 (official.SGMIM) with the knowledge standardisation our Pretrainer does in forward()."""

    def __init__(self, sgmim):
        super().__init__()
        self.sgmim = sgmim

    def forward(self, x, knowledge, mask):
        with torch.no_grad():
            depth_std = official.standardize_depth(knowledge)
        return self.sgmim(x, depth_std, mask)["loss"]


def build(model, method):
    """(module mapping (image, knowledge, mask) to the loss, image size, model patch size)."""
    if model in SWIN_VARIANTS:
        dim, depths, heads, window = SWIN_VARIANTS[model]
        enc = official.SwinTransformerForSimMIM(
            img_size=IMG_SIZE_SWIN, patch_size=4, in_chans=3, num_classes=0, embed_dim=dim, depths=depths,
            num_heads=heads, window_size=window, mlp_ratio=4.0, qkv_bias=True, drop_rate=0.0, drop_path_rate=0.0,
            ape=False, patch_norm=True)
        img, patch, stride = IMG_SIZE_SWIN, 4, 32
    elif model == "vit_base_patch16_224":
        enc = official.VisionTransformerForSimMIM(
            img_size=224, patch_size=16, in_chans=3, num_classes=0, embed_dim=768, depth=12, num_heads=12,
            mlp_ratio=4.0, qkv_bias=True, drop_rate=0.0, drop_path_rate=0.1, norm_layer=partial(nn.LayerNorm, eps=1e-6),
            init_values=0.1, use_abs_pos_emb=False, use_rel_pos_bias=False, use_shared_rel_pos_bias=True,
            use_mean_pooling=False)
        # the golden ViT blocks leave drop_path out (eval-mode goldens); SimMIM's ViT-B pre-training uses 0.1
        for p, blk in zip(torch.linspace(0, 0.1, len(enc.blocks)).tolist(), enc.blocks):
            blk.drop_path = DropPath(p)
        img, patch, stride = 224, 16, 16
    else:
        raise SystemExit("python_step: --model %s: must be one of: %s" %
                         (model, ", ".join(list(SWIN_VARIANTS) + ["vit_base_patch16_224"])))
    if method == "simmim":
        return SimMIMStep(SimMIM(enc, stride, patch)), img, patch
    if method == "sgmim":
        if model not in SWIN_VARIANTS:
            raise SystemExit("python_step: --method sgmim needs a Swin encoder (the official Depth_Encoder is Swin's)")
        m = SGMIMStep(official.SGMIM(enc, encoder_stride=stride, img_size=img, patch_size=patch, fusion_heads=8))
        return m, img, patch
    raise SystemExit("python_step: --method %s: must be simmim or sgmim" % method)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="swin_base")
    ap.add_argument("--method", default="sgmim")
    ap.add_argument("--guidance", default="mlp", help="only mlp (the official v1 Depth_Encoder)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0 = all usable CPUs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", action="store_true", help="print operators by self CPU time (timed steps)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (scripts/device/gpu-check.sh)")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA or CPU), as sgmim-bench step --bf16")
    args = ap.parse_args()
    if args.guidance != "mlp":
        raise SystemExit("python_step: --guidance %s: only mlp is the official SG-MIM v1 branch" % args.guidance)
    if args.batch <= 0 or args.steps <= 0 or args.warmup < 0:
        raise SystemExit("python_step: --batch and --steps must be positive, --warmup >= 0")
    threads = args.threads if args.threads > 0 else len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("python_step: --device %s: CUDA is not available" % args.device)
    module, img, patch = build(args.model, args.method)
    module.to(device).train()
    params = sum(p.numel() for p in module.parameters())
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
    image = torch.randn(args.batch, 3, img, img, device=device)
    knowledge = torch.rand(args.batch, 1, img, img, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    seconds, loss = [], None
    profiler = None
    for i in range(args.warmup + args.steps):
        mask = official.simmim_mask(args.batch, img, MASK_PATCH_SIZE, patch, MASK_RATIO).to(device)
        if args.profile and i == args.warmup:
            profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            profiler.__enter__()
        sync()
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            loss = module(image, knowledge, mask)
        loss.backward()
        optimizer.step()
        sync()
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            seconds.append(elapsed)
    if profiler is not None:
        profiler.__exit__(None, None, None)

    median = statistics.median(seconds)
    result = {"model": args.model, "method": args.method, "guidance": args.guidance, "batch": args.batch,
              "steps": args.steps, "warmup": args.warmup, "threads": torch.get_num_threads(),
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "bf16": args.bf16, "parameters": params, "step_seconds": seconds, "median_s": median,
              "min_s": min(seconds), "max_s": max(seconds), "images_per_s": args.batch / median,
              "peak_memory_bytes": (torch.cuda.max_memory_allocated(device) if device.type == "cuda" else
                                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
              "memory_kind": "cuda_max_allocated" if device.type == "cuda" else "max_rss", "last_loss": float(loss.detach()), "torch": torch.__version__}
    if args.json:
        print(json.dumps(result))
    else:
        print("python %s  model %s  method %s  params %d  threads %d  batch %d" %
              (torch.__version__, args.model, args.method, params, result["threads"], args.batch))
        print("step time  median %.4f s  min %.4f s  max %.4f s  (%d timed, %d warm-up)" %
              (median, result["min_s"], result["max_s"], args.steps, args.warmup))
    if profiler is not None:
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)


if __name__ == "__main__":
    main()
