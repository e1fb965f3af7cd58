#!/usr/bin/env python3
"""H9: MIM-Depth-Estimation's own GLPDepth (SwinV2-B) in float64, as the reference for our C++ DepthModel.

What it compares
    Runs the model code of SwinTransformer/MIM-Depth-Estimation itself (models/model.py GLPDepth,
    models/swin_transformer_v2.py SwinTransformerV2, utils/criterion.py SiLogLoss), not a re-implementation, built as
    its README's SwinV2-Base training commands do (train.py / configs/base_options.py arguments):
      KITTI: --backbone swin_base_v2 --depths 2 2 18 2 --window_size 22 22 22 11 --pretrain_window_size 12 12 12 6
             --use_shift True True False False --num_filters 32 32 32 --deconv_kernels 2 2 2 --max_depth 80
             --crop_h 352 --crop_w 352
      NYU:   the same with --window_size 30 30 30 15 --max_depth 10 --crop_h 480 --crop_w 480
    except --drop_path_rate 0 (the commands use 0.3; stochastic depth would make train mode random) and no
    --pretrained (every parameter is re-randomised deterministically instead, see rerandomize()). It then computes,
    in float64 on one batch of 2 images at the training crop (uniform [0, 1] images, depth in metres with ~20% zeros):
      pred_eval   eval-mode prediction [2, 1, S, S] (BN running statistics as saved in weights.pth);
      pred_train  train-mode prediction (BN batch statistics), then SiLogLoss (its default lambd, as train.py builds
                  it) on preds['pred_d'].squeeze() against the [B, S, S] depth, and backward: the loss, the global
                  gradient L2 norm, every parameter's gradient norm, the gradients of a subset of parameters and the
                  decoder's BatchNorm buffers after the train-mode forward.
    Our C++ DepthModel (finetune_encoder_options(swinv2_base, kitti|nyu, drop_path 0), float64) loads weights.pth
    and must reproduce io.pth.

Outputs, per benchmark, under --out/<kitti|nyu>/:
    weights.pth    the float64 state dict of the model before any forward, in OUR key names (see ours()), as a plain
                   dict for torch.save; relative_position_index (int64, a pure function of the window) is left out,
                   MIM-Depth has no attn_mask buffer (its mask is built per forward): our loader reports both missing.
    io.pth         image, depth (float32, [2, 3|1, S, S]), pred_eval, pred_train, loss, grad_norm,
                   grad.<key>, gradnorm.<key> (every parameter), bn.<key> (after the train-mode forward),
                   setting.<name> (the exact settings as tensors), time.<phase>_s.
    settings.json  the same settings, the upstream commit, the patches and the timings, readable.

What is patched, and why (at run time only; the upstream files are exported to a temporary directory and never
edited, and nothing of them is copied into this repository)
    MIM-Depth up-casts with `.float()` for fp16/bf16 training; in a float64 run these would round to float32 (and
    `norm_layer.float()` would even convert the output norm's parameters to float32 in place). The four methods that
    contain such casts on the path used here are recompiled from upstream's own source text with every `X.float()`
    rewritten to `_h9_float(X)`, which is `X.float()` for a float16/bfloat16 tensor (or a module holding one) and X
    itself otherwise:
      LayerNormFP32.forward       input.float(), self.weight.float(), self.bias.float()
      LinearFP32.forward          input.float(), self.weight.float(), self.bias.float()   (rpe_mlp.2)
      WindowAttention.forward     q.float(), k.float(), logit_scale.float() (cosine attention); the 'normal'
                                  attention and mlpfp32 branches are rewritten too but are not used (asserted)
      SwinTransformerV2.forward   norm_layer.float()(x_out.float())                        (the norm3 output)
    Not patched (no rounding of float64 data): relative_coords_table is built in float32 at construction and cast
    by .double() (our C++ also builds it in float32); the shift mask is a float32 0/-100 tensor added to the float64
    logits (exact); the logit_scale clamp bound is float32 log(100) (only matters when clamped; the values here are
    near log 10). With --use-checkpoint (default for NYU, whose float64 activations would not fit in ~20 GB),
    upstream's own use_checkpoint path runs every block under torch.utils.checkpoint; the name `checkpoint` in
    models.swin_transformer_v2 is replaced by a shim that passes use_reentrant=False explicitly (torch 2 asks for
    it). Recomputation does not change any value.

Stand-ins (a temporary module tree put on sys.path; nothing is installed)
    mmcv.cnn     build_conv_layer -> nn.Conv2d, build_norm_layer(dict(type='BN')) -> ('bn', nn.BatchNorm2d),
                 build_upsample_layer(dict(type='deconv')) -> nn.ConvTranspose2d, constant_init, normal_init
                 (mmcv semantics; they only shape the initial weights, which are re-randomised anyway);
    mmcv.runner  OPTIMIZER_BUILDERS, DefaultOptimizerConstructor, build_optimizer, get_dist_info (only for
                 importing models/optimizer.py, which is not used);
    models.checkpoint  (needs mmcv.fileio and scipy) replaced by a module whose load_checkpoint_swin refuses to
                 run: no pre-trained weights are loaded.
    timm (DropPath, to_2tuple, trunc_normal_) is the real one.

Needs
    a checkout of SwinTransformer/MIM-Depth-Estimation, or its git mirror (exported with `git archive HEAD`), and
    the project's torch 2.x lane venv (scripts/setup-torch2.sh; torch + timm, no mmcv):
        ~/.cache/sgmim/torch2-venv/bin/python scripts/parity/mim_depth_glp.py \\
            --mim-depth /work/.mirror/SwinTransformer+MIM-Depth-Estimation/repo --out /tmp/sgmim-h9 --benchmark both
    Float64 SwinV2-B on the CPU (2 threads, AMD EPYC): KITTI about 2 minutes and 12 GB peak RSS, NYU (with
    checkpointing) about 3.5 minutes and 8.3 GB. --smoke runs a tiny variant (swin_tiny_v2, depths 2 2 2 2, 64x64) instead, to
    check the plumbing.
"""

import argparse
import contextlib
import importlib
import inspect
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import types

sys.dont_write_bytecode = True

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

# =====================================================================================================================
# Settings
# =====================================================================================================================
BENCHMARKS = {
    # README "Training with model (KITTI Swin-Base)" / "(NYU Depth V2 Swin-Base)"
    "kitti": dict(img=352, window_size=[22, 22, 22, 11], max_depth=80.0, depth_range=(1.0, 70.0), seed=1),
    "nyu": dict(img=480, window_size=[30, 30, 30, 15], max_depth=10.0, depth_range=(0.5, 9.5), seed=2),
}
COMMON = dict(backbone="swin_base_v2", depths=[2, 2, 18, 2], pretrain_window_size=[12, 12, 12, 6],
              use_shift=[True, True, False, False], num_deconv=3, num_filters=[32, 32, 32], deconv_kernels=[2, 2, 2],
              drop_path_rate=0.0, pretrained="")
SMOKE = dict(backbone="swin_tiny_v2", depths=[2, 2, 2, 2], img=64)
BATCH = 2
INVALID_FRACTION = 0.2

# upstream parameter names (MIM-Depth keys) whose gradients are saved
GRAD_KEYS = [
    "encoder.patch_embed.proj.weight",
    "encoder.layers.0.blocks.0.attn.q_bias",
    "encoder.layers.0.blocks.1.attn.qkv.weight",         # a shifted block
    "encoder.layers.1.blocks.1.attn.rpe_mlp.0.weight",
    "encoder.layers.3.blocks.1.attn.rpe_mlp.2.weight",
    "encoder.layers.2.blocks.{last2}.attn.logit_scale",
    "encoder.layers.2.blocks.{last2}.norm1.weight",
    "encoder.layers.2.downsample.reduction.weight",
    "encoder.norm3.weight",
    "decoder.deconv_layers.0.weight",
    "decoder.deconv_layers.3.weight",
    "decoder.deconv_layers.6.weight",
    "decoder.conv_layers.0.weight",
    "last_layer_depth.2.weight",
    "last_layer_depth.2.bias",
]


def ours(key):
    """MIM-Depth key -> sgmim key (include/sgmim/models/swin_v2.h, swin.h, heads/glp_depth.h): attn.rpe_mlp ->
    attn.cpb_mlp, the encoder output norm norm3 -> norm. Everything else is the same name."""
    key = key.replace(".attn.rpe_mlp.", ".attn.cpb_mlp.")
    if key.startswith("encoder.norm3."):
        key = "encoder.norm." + key[len("encoder.norm3."):]
    return key


# =====================================================================================================================
# Upstream: export, stand-ins, import, patches
# =====================================================================================================================
MMCV_CNN = '''
"""H9 stand-in for the part of mmcv.cnn that MIM-Depth's models/model.py uses (mmcv semantics)."""
import torch.nn as nn


def build_conv_layer(cfg, *args, **kwargs):
    assert cfg is None or cfg.get("type", "Conv2d") in ("Conv2d", "Conv"), cfg
    return nn.Conv2d(*args, **kwargs)


def build_norm_layer(cfg, num_features, postfix=""):
    assert cfg.get("type") in ("BN", "BN2d"), cfg
    layer = nn.BatchNorm2d(num_features, eps=cfg.get("eps", 1e-5))
    for p in layer.parameters():
        p.requires_grad = cfg.get("requires_grad", True)
    return "bn" + str(postfix), layer


def build_upsample_layer(cfg, *args, **kwargs):
    assert cfg.get("type") == "deconv", cfg
    return nn.ConvTranspose2d(*args, **kwargs)


def constant_init(module, val, bias=0):
    if getattr(module, "weight", None) is not None:
        nn.init.constant_(module.weight, val)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def normal_init(module, mean=0, std=1, bias=0):
    if getattr(module, "weight", None) is not None:
        nn.init.normal_(module.weight, mean, std)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)
'''

MMCV_RUNNER = '''
"""H9 stand-in for the part of mmcv.runner that MIM-Depth's models/optimizer.py imports (not used by H9)."""


class _Registry:
    def register_module(self, *args, **kwargs):
        return lambda cls: cls


OPTIMIZER_BUILDERS = _Registry()


class DefaultOptimizerConstructor:
    def __init__(self, optimizer_cfg, paramwise_cfg=None):
        self.optimizer_cfg = optimizer_cfg
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        self.base_lr = optimizer_cfg.get("lr")
        self.base_wd = optimizer_cfg.get("weight_decay", None)


def build_optimizer(*args, **kwargs):
    raise RuntimeError("H9 stand-in: mmcv.runner.build_optimizer is not available")


def get_dist_info():
    return 0, 1
'''


def export_upstream(src, tmp):
    """A directory with MIM-Depth's files: `src` itself when it is a checkout, else `git archive HEAD` of the mirror
    extracted under `tmp`. Returns (directory, commit or None)."""
    commit = None
    try:
        commit = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], check=True, capture_output=True,
                                text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    if os.path.isfile(os.path.join(src, "models", "model.py")):
        return src, commit
    dst = os.path.join(tmp, "mim_depth")
    os.makedirs(dst)
    archive = subprocess.run(["git", "-C", src, "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dst], input=archive, check=True)
    if not os.path.isfile(os.path.join(dst, "models", "model.py")):
        raise SystemExit("%s is neither a MIM-Depth-Estimation checkout nor its git mirror" % src)
    return dst, commit


def write_stand_ins(tmp):
    root = os.path.join(tmp, "stand_ins")
    os.makedirs(os.path.join(root, "mmcv"))
    with open(os.path.join(root, "mmcv", "__init__.py"), "w") as f:
        f.write('"""H9 stand-in package for mmcv (only what MIM-Depth\'s models import)."""\n__version__ = "h9"\n')
    with open(os.path.join(root, "mmcv", "cnn.py"), "w") as f:
        f.write(MMCV_CNN)
    with open(os.path.join(root, "mmcv", "runner.py"), "w") as f:
        f.write(MMCV_RUNNER)
    return root


def at_least_fp32(t):
    """MIM-Depth's `.float()` up-casts as meant: float32 for float16/bfloat16, the input dtype otherwise."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def _h9_float(obj):
    """Replacement of `obj.float()` in the patched upstream methods (tensors and modules)."""
    if isinstance(obj, torch.Tensor):
        return at_least_fp32(obj)
    if isinstance(obj, nn.Module):
        low = any(t.dtype in (torch.float16, torch.bfloat16) for t in list(obj.parameters()) + list(obj.buffers()))
        return obj.float() if low else obj
    raise TypeError("unexpected .float() receiver %r" % type(obj))


FLOAT_CALL = re.compile(r"((?:self\.)?[A-Za-z_][A-Za-z_0-9]*)\.float\(\)")


def patch_float_casts(module, cls, method="forward"):
    """Recompiles cls.method from upstream's source with every `X.float()` -> `_h9_float(X)`. Returns the list of
    rewritten receivers."""
    fn = getattr(cls, method)
    src = textwrap.dedent(inspect.getsource(fn))
    receivers = FLOAT_CALL.findall(src)
    new = FLOAT_CALL.sub(r"_h9_float(\1)", src)
    assert ".float()" not in new, (cls.__name__, new)
    assert "super()" not in new and "__class__" not in new, cls.__name__
    env = dict(vars(module))
    env["_h9_float"] = _h9_float
    code = compile(new, "<%s.%s.%s, .float() -> _h9_float()>" % (module.__name__, cls.__name__, method), "exec")
    exec(code, env)
    setattr(cls, method, env[fn.__name__])
    return receivers


def import_upstream(upstream_dir, stand_ins):
    sys.path.insert(0, stand_ins)
    for pkg in ("models", "utils"):  # namespace packages upstream (no __init__.py); pin them to the export
        if pkg in sys.modules:
            raise SystemExit("a module named %r is already imported" % pkg)
        m = types.ModuleType(pkg)
        m.__path__ = [os.path.join(upstream_dir, pkg)]
        sys.modules[pkg] = m
    ckpt = types.ModuleType("models.checkpoint")
    ckpt.__doc__ = "H9 stand-in for MIM-Depth models/checkpoint.py (pre-trained loading; needs mmcv.fileio, scipy)"

    def load_checkpoint_swin(*args, **kwargs):
        raise RuntimeError("H9 stand-in: no pre-trained weights are loaded")

    def get_root_logger(*args, **kwargs):
        import logging
        return logging.getLogger("mim_depth")

    ckpt.load_checkpoint_swin = load_checkpoint_swin
    ckpt.get_root_logger = get_root_logger
    sys.modules["models.checkpoint"] = ckpt
    sys.modules["models"].checkpoint = ckpt
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # timm.models.layers is deprecated in timm 1.x
        swin = importlib.import_module("models.swin_transformer_v2")
    model = importlib.import_module("models.model")
    criterion = importlib.import_module("utils.criterion")
    for name, m in (("swin", swin), ("model", model), ("criterion", criterion)):
        assert os.path.realpath(m.__file__).startswith(os.path.realpath(upstream_dir)), (name, m.__file__)

    patches = {}
    for cls in (swin.LayerNormFP32, swin.LinearFP32, swin.WindowAttention, swin.SwinTransformerV2):
        patches[cls.__name__ + ".forward"] = patch_float_casts(swin, cls)
    expect = {"LayerNormFP32.forward": ["input", "self.weight", "self.bias"],
              "LinearFP32.forward": ["input", "self.weight", "self.bias"],
              "SwinTransformerV2.forward": ["norm_layer", "x_out"]}
    for k, v in expect.items():
        assert patches[k] == v, (k, patches[k])
    assert patches["WindowAttention.forward"][:3] == ["q", "k", "logit_scale"], patches["WindowAttention.forward"]

    shim = types.SimpleNamespace(
        checkpoint=lambda fn, *a, **k: torch.utils.checkpoint.checkpoint(fn, *a, use_reentrant=False, **k))
    swin.checkpoint = shim
    patches["models.swin_transformer_v2.checkpoint"] = "torch.utils.checkpoint with use_reentrant=False"
    return swin, model, criterion, patches


# =====================================================================================================================
# Model, weights, data
# =====================================================================================================================
def build_model(model_mod, bench, smoke, use_checkpoint):
    b = BENCHMARKS[bench]
    args = argparse.Namespace(**COMMON)
    args.max_depth = b["max_depth"]
    args.window_size = list(b["window_size"])
    args.use_checkpoint = use_checkpoint
    if smoke:
        args.backbone, args.depths = SMOKE["backbone"], list(SMOKE["depths"])
    log = io.StringIO()
    torch.manual_seed(0)
    with contextlib.redirect_stdout(log):  # WindowAttention prints one "norm8_log_bylayer" line per block
        m = model_mod.GLPDepth(args=args)
    return m.double(), args, log.getvalue().count("norm8_log_bylayer")


def check_structure(m, swin, args):
    enc = m.encoder
    assert isinstance(enc, swin.SwinTransformerV2) and enc.out_indices == (3,) and enc.postnorm
    assert enc.relative_coords_table_type == "norm8_log_bylayer" and enc.attn_type == "cosine_mh"
    assert enc.rpe_output_type == "sigmoid" and not enc.ape and enc.patch_norm
    for s, layer in enumerate(enc.layers):
        ws = args.window_size[s]
        assert layer.window_size == ws
        for i, blk in enumerate(layer.blocks):
            assert isinstance(blk, swin.SwinTransformerBlockPost) and not blk.mlpfp32 and blk.enorm is None
            assert blk.mlp.norm is None and not blk.attn.mlpfp32
            assert blk.shift_size == (ws // 2 if (i % 2 == 1 and args.use_shift[s]) else 0)
            assert isinstance(blk.drop_path, nn.Identity)
            assert tuple(blk.attn.window_size) == (ws, ws)
    norms = [mod for mod in m.modules() if isinstance(mod, swin.LayerNormFP32)]
    assert norms and all(n.eps == 1e-6 for n in norms)
    for t in list(m.parameters()) + list(m.buffers()):
        assert not t.is_floating_point() or t.dtype == torch.float64


def rerandomize(m, seed):
    """Deterministic re-randomisation of every parameter and BN statistic: LayerNorm/BN weights 1 + 0.05 N, their
    biases 0.05 N; logit_scale log 10 + 0.1 N; rpe_mlp.0 (weight and bias) N(0, 1) and rpe_mlp.2 0.1 N (so that
    16·sigmoid spans about 2..14); other Linear / Conv2d / ConvTranspose2d weights N(0, 1/fan_in) (fan_in =
    in·k·k, in for the 2x2 stride-2 deconvs), their biases and q_bias / v_bias 0.05 N; BN running_mean 0.05 N,
    running_var 1 + 0.5 U (positive); num_batches_tracked stays 0."""
    g = torch.Generator().manual_seed(seed)

    def randn(p):
        return torch.randn(p.shape, generator=g, dtype=torch.float64)

    owner = {}
    for mod in m.modules():
        for pn, p in mod.named_parameters(recurse=False):
            owner[id(p)] = (mod, pn)
    with torch.no_grad():
        for name, p in m.named_parameters():
            mod, pn = owner[id(p)]
            if isinstance(mod, (nn.LayerNorm, nn.BatchNorm2d)):
                p.copy_(1 + 0.05 * randn(p) if pn == "weight" else 0.05 * randn(p))
            elif name.endswith("logit_scale"):
                p.copy_(math.log(10) + 0.1 * randn(p))
            elif ".rpe_mlp.0." in name:
                p.copy_(randn(p))
            elif ".rpe_mlp.2." in name:
                p.copy_(0.1 * randn(p))
            elif pn == "weight" and isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                if isinstance(mod, nn.ConvTranspose2d):
                    fan_in = mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // (
                        mod.stride[0] * mod.stride[1])
                elif isinstance(mod, nn.Conv2d):
                    fan_in = mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
                else:
                    fan_in = mod.in_features
                p.copy_(randn(p) / math.sqrt(fan_in))
            else:  # biases, q_bias, v_bias
                assert pn in ("bias", "q_bias", "v_bias"), name
                p.copy_(0.05 * randn(p))
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.copy_(0.05 * randn(mod.running_mean))
                mod.running_var.copy_(1 + 0.5 * torch.rand(mod.running_var.shape, generator=g, dtype=torch.float64))


def saved_state(sd):
    out = {}
    for k, v in sd.items():
        if k.endswith("relative_position_index"):
            continue
        assert not v.is_floating_point() or v.dtype == torch.float64, k
        out[ours(k)] = v.detach().clone().contiguous()
    assert len(out) == len({ours(k) for k in sd if not k.endswith("relative_position_index")})
    return out


def make_batch(img, depth_range, seed):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(BATCH, 3, img, img, generator=g, dtype=torch.float32)
    lo, hi = depth_range
    depth = lo + (hi - lo) * torch.rand(BATCH, 1, img, img, generator=g, dtype=torch.float32)
    invalid = torch.rand(BATCH, 1, img, img, generator=g) < INVALID_FRACTION
    depth[invalid] = 0.0
    return image, depth


# =====================================================================================================================
# One benchmark
# =====================================================================================================================
def run_benchmark(bench, mods, out_root, smoke, use_checkpoint, patches, commit):
    swin, model_mod, criterion_mod = mods
    b = BENCHMARKS[bench]
    img = SMOKE["img"] if smoke else b["img"]
    out = os.path.join(out_root, ("smoke-" if smoke else "") + bench)
    os.makedirs(out, exist_ok=True)
    times = {}

    t0 = time.time()
    m, args, n_tables = build_model(model_mod, bench, smoke, use_checkpoint)
    check_structure(m, swin, args)
    rerandomize(m, seed=100 + b["seed"])
    check_structure(m, swin, args)
    n_params = sum(p.numel() for p in m.parameters())
    times["build_s"] = time.time() - t0

    t0 = time.time()
    weights = saved_state(m.state_dict())
    torch.save(weights, os.path.join(out, "weights.pth"))
    times["save_weights_s"] = time.time() - t0
    del weights

    image, depth = make_batch(img, b["depth_range"], b["seed"])
    x = image.to(torch.float64)
    gt = depth.to(torch.float64).squeeze(1)  # MIM-Depth's dataset yields [H, W] depth (to_tensor(depth).squeeze())

    # --- eval-mode prediction (BN running statistics) ----------------------------------------------------------
    t0 = time.time()
    m.eval()
    with torch.no_grad():
        pred_eval = m(x)["pred_d"]
    times["eval_forward_s"] = time.time() - t0

    # --- train-mode prediction, SILog, backward ------------------------------------------------------------------
    criterion = criterion_mod.SiLogLoss()  # train.py: criterion_d = SiLogLoss()
    t0 = time.time()
    m.train()
    m.zero_grad(set_to_none=True)
    preds = m(x)
    times["train_forward_s"] = time.time() - t0
    loss = criterion(preds["pred_d"].squeeze(), gt)  # train.py: criterion_d(preds['pred_d'].squeeze(), depth_gt)
    t0 = time.time()
    loss.backward()
    times["backward_s"] = time.time() - t0
    pred_train = preds["pred_d"].detach()

    assert pred_eval.dtype == torch.float64 and pred_train.dtype == torch.float64 and loss.dtype == torch.float64
    assert pred_eval.shape == (BATCH, 1, img, img) and pred_train.shape == (BATCH, 1, img, img)
    check_structure(m, swin, args)  # still float64 everywhere (no .float() converted a module)
    named = dict(m.named_parameters())
    for k, p in named.items():
        assert p.grad is not None and p.grad.dtype == torch.float64 and torch.isfinite(p.grad).all(), k
    grad_norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in named.values()))

    last2 = args.depths[2] - 1
    grad_keys = [k.format(last2=last2) for k in GRAD_KEYS]
    io_ = dict(image=image, depth=depth, pred_eval=pred_eval, pred_train=pred_train, loss=loss.detach(),
               grad_norm=grad_norm)
    for k in grad_keys:
        io_["grad." + ours(k)] = named[k].grad
    for k, p in named.items():
        io_["gradnorm." + ours(k)] = p.grad.norm()
    for k, v in m.state_dict().items():
        if k.startswith("decoder.") and (".running_" in k or k.endswith("num_batches_tracked")):
            io_["bn." + ours(k)] = v

    settings = dict(
        benchmark=bench, smoke=smoke, upstream_commit=commit, torch=torch.__version__,
        backbone=args.backbone, embed_dim=m.encoder.embed_dim, depths=args.depths,
        num_heads=[layer.blocks[0].attn.num_heads for layer in m.encoder.layers],
        window_size=args.window_size, pretrain_window_size=args.pretrain_window_size,
        use_shift=args.use_shift, shift_sizes=[[blk.shift_size for blk in layer.blocks] for layer in m.encoder.layers],
        drop_path_rate=args.drop_path_rate, use_checkpoint=use_checkpoint, max_depth=args.max_depth,
        num_deconv=args.num_deconv, num_filters=args.num_filters, deconv_kernels=args.deconv_kernels,
        ln_eps=m.encoder.norm3.eps, bn_eps=m.decoder.conv_layers[1].eps, bn_momentum=m.decoder.conv_layers[1].momentum,
        rpe_hidden_dim=m.encoder.rpe_hidden_dim, mlp_ratio=m.encoder.mlp_ratio,
        relative_coords_table_type=m.encoder.relative_coords_table_type, attn_type=m.encoder.attn_type,
        rpe_output_type=m.encoder.rpe_output_type, postnorm=m.encoder.postnorm, coords_tables_built=n_tables,
        img_size=img, batch=BATCH, image="uniform [0, 1) float32", depth_range=list(b["depth_range"]),
        invalid_fraction_target=INVALID_FRACTION, invalid_fraction=float((depth == 0).double().mean()),
        data_seed=b["seed"], weight_seed=100 + b["seed"], silog_lambda=criterion.lambd,
        parameters=n_params, dtype="float64", threads=torch.get_num_threads(),
        order="weights.pth saved; eval forward (no_grad); train forward, SILog, backward",
        grad_keys={ours(k): k for k in grad_keys}, patches=patches,
        loss=loss.item(), grad_norm=grad_norm.item(),
        pred_eval_range=[pred_eval.min().item(), pred_eval.max().item()],
        pred_train_range=[pred_train.min().item(), pred_train.max().item()],
    )
    for key in ("embed_dim", "depths", "num_heads", "window_size", "pretrain_window_size", "drop_path_rate",
                "max_depth", "num_filters", "deconv_kernels", "ln_eps", "bn_eps", "bn_momentum", "img_size", "batch",
                "depth_range", "invalid_fraction", "data_seed", "weight_seed", "silog_lambda", "rpe_hidden_dim",
                "mlp_ratio"):
        v = settings[key]
        io_["setting." + key] = torch.tensor(v, dtype=torch.float64 if isinstance(v, float) or (
            isinstance(v, list) and any(isinstance(e, float) for e in v)) else torch.int64)
    io_["setting.use_shift"] = torch.tensor([int(s) for s in args.use_shift], dtype=torch.int64)
    io_["setting.use_checkpoint"] = torch.tensor(int(use_checkpoint), dtype=torch.int64)
    for k, v in times.items():
        io_["time." + k] = torch.tensor(v, dtype=torch.float64)
    torch.save({k: v.detach().contiguous() for k, v in io_.items()}, os.path.join(out, "io.pth"))
    settings["times"] = times
    with open(os.path.join(out, "settings.json"), "w") as f:
        json.dump(settings, f, indent=1)

    print("== %s%s: S=%d, %d parameters, %d coords tables" % (bench, " (smoke)" if smoke else "", img, n_params,
                                                              n_tables))
    print("   loss %.17g  grad_norm %.17g" % (loss.item(), grad_norm.item()))
    print("   pred_eval %.4f..%.4f  pred_train %.4f..%.4f  invalid %.4f" % (
        *settings["pred_eval_range"], *settings["pred_train_range"], settings["invalid_fraction"]))
    print("   times " + ", ".join("%s %.1f" % kv for kv in times.items()))
    for f in ("weights.pth", "io.pth", "settings.json"):
        p = os.path.join(out, f)
        print("   %-14s %12d B" % (f, os.path.getsize(p)))
    return settings


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mim-depth", required=True, help="MIM-Depth-Estimation checkout or git mirror")
    ap.add_argument("--out", required=True)
    ap.add_argument("--benchmark", choices=["kitti", "nyu", "both"], default="both")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--use-checkpoint", choices=["auto", "on", "off"], default="auto",
                    help="upstream use_checkpoint (block recomputation; no numeric effect). auto: NYU only")
    ap.add_argument("--smoke", action="store_true", help="tiny variant at 64x64, to <out>/smoke-<benchmark>")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="h9-mim-depth-")
    try:
        upstream, commit = export_upstream(os.path.abspath(args.mim_depth), tmp)
        stand_ins = write_stand_ins(tmp)
        swin, model_mod, criterion_mod, patches = import_upstream(upstream, stand_ins)
        print("MIM-Depth-Estimation %s from %s (torch %s, %d threads)" % (commit, upstream, torch.__version__,
                                                                         torch.get_num_threads()))
        for k, v in patches.items():
            print("  patched %-40s %s" % (k, v))
        benches = ["kitti", "nyu"] if args.benchmark == "both" else [args.benchmark]
        for bench in benches:
            uc = {"on": True, "off": False, "auto": bench == "nyu"}[args.use_checkpoint]
            t0 = time.time()
            run_benchmark(bench, (swin, model_mod, criterion_mod), args.out, args.smoke, uc, patches, commit)
            print("   total %.1f s" % (time.time() - t0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
