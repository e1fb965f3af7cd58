#!/usr/bin/python3
"""Golden reference of five segmentation fine-tuning iterations (UperNet + auxiliary FCN on a tiny Swin v1).

Re-implements, from reading (no upstream code copied), the reference training step of the ADE20K UperNet recipe:
  * SwinTransformer/Swin-Transformer-Semantic-Segmentation (87e6f90, mmseg 0.11.0)
      mmseg/models/backbones/swin_transformer.py: PatchEmbed (right/bottom pad to patch multiples), BasicLayer
      (region mask of the window-padded grid, shift ws//2 in every odd block, never disabled, window never shrunk),
      SwinTransformerBlock.forward (norm1, zero-pad to window multiples, roll, window attention, roll back, crop),
      PatchMerging (odd sides padded), per-stage output norms `norm0..3`;
      configs/_base_/models/upernet_swin.py (UPerHead + FCNHead aux on stage 2, SyncBN, loss weights 1 / 0.4).
  * open-mmlab/mmsegmentation 0.x: decode_heads/{decode_head,uper_head,psp_head,fcn_head}.py (BaseDecodeHead.cls_seg,
      UPerHead.forward with the out-of-place top-down sum of mmseg PR #1103 (the
      Swin-Transformer-Semantic-Segmentation copy, mmseg 0.11, adds in place), PPM), losses/cross_entropy_loss.py
      (`avg_non_ignore=False`: the mean over every pixel, ignored ones counting 0), segmentors/encoder_decoder.py
      (logits resized to the label, decode loss + aux loss); one process: SyncBN is BatchNorm2d.
  * SwinTransformer/MIM-Depth-Estimation (59ba08d) models/optimizer.py: SwinLayerDecayOptimizerConstructor /
      get_num_layer_for_swin (the Swin layer-decay constructor of the SimMIM authors; mmseg 0.x's own
      LearningRateDecayOptimizerConstructor only knows ConvNeXt and BEiT), with MIM-Depth train.py's
      no_decay_names ['relative_position_bias_table', 'rpe_mlp', 'logit_scale'].
  * open-mmlab/mmcv v1.7.2 (4c01b02) mmcv/runner/hooks/lr_updater.py: LrUpdaterHook.before_run / before_train_iter,
      PolyLrUpdaterHook.get_lr (by_epoch=False, linear warm-up), iter_based_runner.py (runner.iter 0-based during
      the iteration), hooks/optimizer.py OptimizerHook (zero_grad, backward, no grad_clip, step); torch.optim.AdamW.
with OUR state-dict keys (sgmim::heads::SegModel: `backbone.*` incl. `backbone.norm0..3`, `decode_head.*`,
`auxiliary_head.*`; they equal the reference names). Everything runs in float64 on the CPU.

Files (torch.save of plain dicts of tensors):
  five_steps_seg_weights.pth  the initial state dict: float64 parameters / BN running stats, int64
                              `relative_position_index` and `num_batches_tracked` (no `attn_mask`: the reference
                              builds its region masks in the forward).
  five_steps_seg_io.pth       `image` float32 [2,3,64,64], `label` int64 [2,64,64] (classes 0..4, ~10 % 255),
                              `lr` [5] (the rate of iteration t for a group of lr_scale 1), `loss` [5] (total, before
                              the step), `loss_decode` / `loss_aux` [5] (unweighted CEs; loss = decode + 0.4 aux),
                              `step5.<key>` (every parameter and BN buffer after iteration 5),
                              `group_lr_scale.<param>` / `group_weight_decay.<param>` (0-dim float64).
The crop is 64² (stage grids 16, 8, 4, 2 padded to 21, 14, 7, 7; window 7 and shift 3 in every odd block, as mmseg's
Swin does at any size). Our Swin follows that with EncoderOptions::shrink_windows = false (what
seg_finetune_encoder_options sets); with the classification rule (shrink_windows = true) stages 2 and 3 would take
windows 4 and 2 without shifts at img_size 64 (equal results only where every stage at img_size exceeds 7, >= 256).
Rerun (a few seconds; Debian's python with torch 1.13 when it has torch, else the
torch 2.x venv):
    /usr/bin/python3 scripts/golden/five_steps_seg.py --out tests/golden
    ~/.cache/sgmim/torch2-venv/bin/python scripts/golden/five_steps_seg.py --out tests/golden
"""

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from five_steps_depth import golden_output_folder, num_layer_for_swin  # noqa: E402  MIM-Depth's layer ids, written once
from make_golden import (Mlp, WindowAttention, save_io, shifted_window_attn_mask,  # noqa: E402
                         window_partition, window_reverse)

# ------------------------------------------------------------------------------------------------------------------
# The tiny configuration (our config key in brackets)
# ------------------------------------------------------------------------------------------------------------------
CROP = 64                   # the images' side; stage grids 16, 8, 4, 2, padded to 21, 14, 7, 7 (window 7)
BATCH = 2
NUM_CLASSES = 5             # [model.num_classes]
CHANNELS = 8                # [model.channels]        UPerHead width
AUX_CHANNELS = 8            # [model.aux_channels]    FCN aux width
POOL_SCALES = (1, 2, 3, 6)  # UperHeadOptions.pool_scales (no config key; the default)
AUX_IN_INDEX = 2            # SegModelOptions.aux_in_index (no config key)
DROPOUT = 0.0               # [model.dropout]  mmseg dropout_ratio 0.1 would be random; 0 -> no Dropout2d
ALIGN_CORNERS = False       # SegModelOptions.align_corners (no config key)
AUX_WEIGHT = 0.4            # [model.aux_weight]
IGNORE_INDEX = 255
AVG_NON_IGNORE = False      # [train.avg_non_ignore]
SWIN = dict(patch_size=4, embed_dim=4, depths=(2, 2, 2, 2), num_heads=(1, 1, 2, 4), window_size=7,
            mlp_ratio=4.0, qkv_bias=True, ln_eps=1e-5)  # swin_test as seg_finetune_encoder_options builds it
TRAIN = dict(lr=1e-3,             # [train.lr]
             min_lr=0.0,          # [train.min_lr]
             power=1.0,           # [train.power]
             warmup_iters=3,      # [train.warmup_iters]
             warmup_ratio=1e-6,   # [train.warmup_ratio]
             max_iters=5,         # [train.iterations]
             weight_decay=0.05,   # [train.weight_decay]
             layer_decay=0.9,     # [train.layer_decay]
             betas=(0.9, 0.999),  # [train.betas]
             eps=1e-8)            # [train.eps]; [train.clip_grad] 0 (the reference has no grad_clip)
NO_DECAY_NAMES = ("relative_position_bias_table", "rpe_mlp", "logit_scale")  # MIM-Depth train.py paramwise_cfg


# ------------------------------------------------------------------------------------------------------------------
# Swin backbone, Swin-Transformer-Semantic-Segmentation semantics (mmseg 0.x)
# ------------------------------------------------------------------------------------------------------------------
def ceil_to(n, m):
    return (n + m - 1) // m * m


class SegSwinBlock(nn.Module):
    """Pre-norm block; window partition on the grid zero-padded (after norm1) to window multiples."""

    def __init__(self, dim, num_heads, window_size, shift_size, mlp_ratio, qkv_bias, ln_eps):
        super().__init__()
        assert 0 <= shift_size < window_size
        self.window_size, self.shift_size = window_size, shift_size
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn = WindowAttention(dim, (window_size, window_size), num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, H, W, region_mask):
        B, L, C = x.shape
        assert L == H * W
        ws, s = self.window_size, self.shift_size
        h = self.norm1(x).view(B, H, W, C)
        Hp, Wp = ceil_to(H, ws), ceil_to(W, ws)
        h = F.pad(h, (0, 0, 0, Wp - W, 0, Hp - H))
        if s > 0:
            h = torch.roll(h, shifts=(-s, -s), dims=(1, 2))
        windows = window_partition(h, ws).view(-1, ws * ws, C)
        out = self.attn(windows, mask=region_mask if s > 0 else None).view(-1, ws, ws, C)
        h = window_reverse(out, ws, Hp, Wp)
        if s > 0:
            h = torch.roll(h, shifts=(s, s), dims=(1, 2))
        h = h[:, :H, :W, :].contiguous().view(B, H * W, C)
        x = x + h
        return x + self.mlp(self.norm2(x))


class SegPatchMerging(nn.Module):
    def __init__(self, dim, ln_eps):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=ln_eps)

    def forward(self, x, H, W):
        B, L, C = x.shape
        x = x.view(B, H, W, C)
        x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))  # odd sides padded at the bottom/right
        parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
        x = torch.cat(parts, -1).view(B, -1, 4 * C)
        return self.reduction(self.norm(x))


class SegBasicLayer(nn.Module):
    def __init__(self, dim, depth, num_heads, window_size, mlp_ratio, qkv_bias, ln_eps, merge):
        super().__init__()
        self.window_size, self.shift_size = window_size, window_size // 2
        self.blocks = nn.ModuleList([
            SegSwinBlock(dim, num_heads, window_size, 0 if i % 2 == 0 else window_size // 2, mlp_ratio, qkv_bias,
                         ln_eps) for i in range(depth)])
        self.downsample = SegPatchMerging(dim, ln_eps) if merge else None

    def forward(self, x, H, W):
        ws = self.window_size
        mask = shifted_window_attn_mask(ceil_to(H, ws), ceil_to(W, ws), ws, self.shift_size).to(x)
        for blk in self.blocks:
            x = blk(x, H, W, mask)
        if self.downsample is None:
            return x, H, W, x, H, W
        return x, H, W, self.downsample(x, H, W), (H + 1) // 2, (W + 1) // 2


class SegPatchEmbed(nn.Module):
    def __init__(self, patch_size, in_chans, embed_dim, ln_eps):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim, eps=ln_eps)

    def forward(self, x):
        p = self.patch_size
        x = F.pad(x, (0, (p - x.shape[3] % p) % p, 0, (p - x.shape[2] % p) % p))
        x = self.proj(x)
        Wh, Ww = x.shape[2], x.shape[3]
        return self.norm(x.flatten(2).transpose(1, 2)), Wh, Ww


class SegSwinBackbone(nn.Module):
    def __init__(self, patch_size, embed_dim, depths, num_heads, window_size, mlp_ratio, qkv_bias, ln_eps,
                 in_chans=3):
        super().__init__()
        self.patch_embed = SegPatchEmbed(patch_size, in_chans, embed_dim, ln_eps)
        n = len(depths)
        self.layers = nn.ModuleList([
            SegBasicLayer(embed_dim * 2 ** i, depths[i], num_heads[i], window_size, mlp_ratio, qkv_bias, ln_eps,
                          merge=i < n - 1) for i in range(n)])
        self.num_features = [embed_dim * 2 ** i for i in range(n)]
        for i in range(n):  # out_indices (0, 1, 2, 3)
            self.add_module("norm%d" % i, nn.LayerNorm(self.num_features[i], eps=ln_eps))

    def forward(self, x, normed=True):
        x, Wh, Ww = self.patch_embed(x)
        outs = []
        for i, layer in enumerate(self.layers):
            out, H, W, x, Wh, Ww = layer(x, Wh, Ww)
            if normed:
                out = getattr(self, "norm%d" % i)(out)
            outs.append(out.view(-1, H, W, self.num_features[i]).permute(0, 3, 1, 2).contiguous())
        return outs


# ------------------------------------------------------------------------------------------------------------------
# Heads (mmseg 0.x)
# ------------------------------------------------------------------------------------------------------------------
def resize(x, size, align_corners):
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=align_corners)


class ConvModule(nn.Module):
    """mmcv ConvModule with norm_cfg SyncBN (one process: BatchNorm2d) and ReLU: conv (no bias) -> bn -> relu."""

    def __init__(self, cin, cout, k, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)  # eps 1e-5, momentum 0.1
        self.activate = nn.ReLU()

    def forward(self, x):
        return self.activate(self.bn(self.conv(x)))


class DecodeHeadBase(nn.Module):
    """BaseDecodeHead: conv_seg registered first; Dropout2d only when dropout_ratio > 0."""

    def __init__(self, channels, num_classes, dropout_ratio, align_corners):
        super().__init__()
        self.channels, self.align_corners = channels, align_corners
        self.conv_seg = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else None

    def cls_seg(self, feat):
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat)


class UPerHead(DecodeHeadBase):
    def __init__(self, in_channels, channels, num_classes, pool_scales, dropout_ratio, align_corners):
        super().__init__(channels, num_classes, dropout_ratio, align_corners)
        self.psp_modules = nn.ModuleList([
            nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvModule(in_channels[-1], channels, 1)) for s in pool_scales])
        self.bottleneck = ConvModule(in_channels[-1] + len(pool_scales) * channels, channels, 3, padding=1)
        self.lateral_convs = nn.ModuleList([ConvModule(c, channels, 1) for c in in_channels[:-1]])
        self.fpn_convs = nn.ModuleList([ConvModule(channels, channels, 3, padding=1) for _ in in_channels[:-1]])
        self.fpn_bottleneck = ConvModule(len(in_channels) * channels, channels, 3, padding=1)

    def psp_forward(self, x):
        outs = [x] + [resize(m(x), x.shape[2:], self.align_corners) for m in self.psp_modules]
        return self.bottleneck(torch.cat(outs, 1))

    def forward(self, inputs):
        lat = [conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]
        lat.append(self.psp_forward(inputs[-1]))
        n = len(lat)
        for i in range(n - 1, 0, -1):  # top-down, out of place (mmseg PR #1103)
            lat[i - 1] = lat[i - 1] + resize(lat[i], lat[i - 1].shape[2:], self.align_corners)
        outs = [self.fpn_convs[i](lat[i]) for i in range(n - 1)] + [lat[-1]]
        for i in range(n - 1, 0, -1):
            outs[i] = resize(outs[i], outs[0].shape[2:], self.align_corners)
        return self.cls_seg(self.fpn_bottleneck(torch.cat(outs, 1)))


class FCNHead(DecodeHeadBase):
    """num_convs 1, kernel 3, concat_input False, reads inputs[in_index]."""

    def __init__(self, in_channels, in_index, channels, num_classes, dropout_ratio, align_corners, num_convs=1):
        super().__init__(channels, num_classes, dropout_ratio, align_corners)
        self.in_index = in_index
        self.convs = nn.Sequential(*[ConvModule(in_channels if i == 0 else channels, channels, 3, padding=1)
                                     for i in range(num_convs)])

    def forward(self, inputs):
        return self.cls_seg(self.convs(inputs[self.in_index]))


def seg_cross_entropy(logits, label, ignore_index, avg_non_ignore):
    per_pixel = F.cross_entropy(logits, label, reduction="none", ignore_index=ignore_index)
    if avg_non_ignore:
        return per_pixel.sum() / (label.numel() - int((label == ignore_index).sum()))
    return per_pixel.mean()


class EncoderDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = SegSwinBackbone(**SWIN)
        widths = self.backbone.num_features
        self.decode_head = UPerHead(widths, CHANNELS, NUM_CLASSES, POOL_SCALES, DROPOUT, ALIGN_CORNERS)
        self.auxiliary_head = FCNHead(widths[AUX_IN_INDEX], AUX_IN_INDEX, AUX_CHANNELS, NUM_CLASSES, DROPOUT,
                                      ALIGN_CORNERS)

    def forward_train(self, img, label):
        feats = self.backbone(img)
        size = label.shape[1:]
        dec = resize(self.decode_head(feats), size, ALIGN_CORNERS)
        aux = resize(self.auxiliary_head(feats), size, ALIGN_CORNERS)
        loss_decode = seg_cross_entropy(dec, label, IGNORE_INDEX, AVG_NON_IGNORE)
        loss_aux = seg_cross_entropy(aux, label, IGNORE_INDEX, AVG_NON_IGNORE)
        # FCNHead's loss_decode carries loss_weight 0.4; _parse_losses sums the `loss*` entries
        return loss_decode + AUX_WEIGHT * loss_aux, loss_decode, loss_aux


# ------------------------------------------------------------------------------------------------------------------
# Optimiser (MIM-Depth SwinLayerDecayOptimizerConstructor) and LR hook (mmcv PolyLrUpdaterHook)
# ------------------------------------------------------------------------------------------------------------------
def layers_per_stage(depths):
    return [d + 1 for d in depths[:-1]] + [depths[-1]]  # + 1 for each stage's PatchMerging


def num_layers_for(depths):
    return sum(layers_per_stage(depths)) + 2  # + patch embedding + head


def swin_layer_id(name, num_layers, lps):
    """get_num_layer_for_swin on a full model name (`backbone.` prefix): five_steps_depth.num_layer_for_swin."""
    layer_id = num_layer_for_swin(name, num_layers, lps)
    if layer_id is None:
        raise ValueError("no layer id for " + name)  # the reference returns None here (then fails)
    return layer_id


def reference_no_decay(name, param):
    # 1-D, biases, and the reference's `name in ('absolute_pos_embed')` (a substring test of the full name against
    # that string: never true for a `backbone.`-prefixed name), then the no_decay_names substrings.
    if param.dim() == 1 or name.endswith(".bias") or name in "absolute_pos_embed":
        return True
    return any(nd in name for nd in NO_DECAY_NAMES)


def build_param_groups(model, base_lr, weight_decay, layer_decay, flip_decay_of=None):
    lps = layers_per_stage(SWIN["depths"])
    num_layers = num_layers_for(SWIN["depths"])
    groups, per_param = {}, {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = reference_no_decay(name, p)
        if name == flip_decay_of:  # self-check only: the parameter moved to the other group
            no_decay = not no_decay
        lid = swin_layer_id(name, num_layers, lps)
        gname = "layer_%d_%s" % (lid, "no_decay" if no_decay else "decay")
        if gname not in groups:
            scale = layer_decay ** (num_layers - lid - 1)
            groups[gname] = dict(params=[], param_names=[], lr_scale=scale, group_name=gname,
                                 weight_decay=0.0 if no_decay else weight_decay, lr=scale * base_lr)
        groups[gname]["params"].append(p)
        groups[gname]["param_names"].append(name)
        per_param[name] = (groups[gname]["lr_scale"], groups[gname]["weight_decay"], lid)
    return list(groups.values()), per_param, num_layers


class PolyLr:
    """mmcv LrUpdaterHook + PolyLrUpdaterHook, by_epoch=False, warmup='linear'."""

    def __init__(self, power, min_lr, warmup_iters, warmup_ratio, max_iters):
        self.power, self.min_lr, self.max_iters = power, min_lr, max_iters
        self.warmup_iters, self.warmup_ratio = warmup_iters, warmup_ratio
        self.base_lr = []

    def before_run(self, optimizer):
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_lr = [g["initial_lr"] for g in optimizer.param_groups]

    def rate(self, base, cur_iter):
        regular = (base - self.min_lr) * (1 - cur_iter / self.max_iters) ** self.power + self.min_lr
        if cur_iter >= self.warmup_iters:
            return regular
        k = (1 - cur_iter / self.warmup_iters) * (1 - self.warmup_ratio)
        return regular * (1 - k)

    def before_train_iter(self, optimizer, cur_iter):
        for g, base in zip(optimizer.param_groups, self.base_lr):
            g["lr"] = self.rate(base, cur_iter)


# ------------------------------------------------------------------------------------------------------------------
# Build, re-randomise, train
# ------------------------------------------------------------------------------------------------------------------
def rerandomize(model, gen):
    def randn(t):
        return torch.randn(t.shape, generator=gen, dtype=torch.float64)

    norms = [m for m in model.modules() if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d))]
    norm_w = {id(m.weight) for m in norms}
    norm_b = {id(m.bias) for m in norms}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if id(p) in norm_w:
                p.copy_(1 + 0.1 * randn(p))
            elif id(p) in norm_b or name.endswith(".bias"):
                p.copy_(0.1 * randn(p))
            elif name.endswith("relative_position_bias_table"):
                p.copy_(0.2 * randn(p))
            else:  # Linear / Conv weights: ~1/sqrt(fan_in)
                fan_in = p[0].numel()
                p.copy_(randn(p) / math.sqrt(fan_in))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * randn(m.running_mean))
                m.running_var.copy_(1 + 0.5 * torch.rand(m.running_var.shape, generator=gen, dtype=torch.float64))
                m.num_batches_tracked.zero_()


def build_model(seed=0):
    torch.manual_seed(seed)
    model = EncoderDecoder().double()
    gen = torch.Generator().manual_seed(seed)
    rerandomize(model, gen)
    return model


def make_batch(seed=1):
    gen = torch.Generator().manual_seed(seed)
    image = torch.randn(BATCH, 3, CROP, CROP, generator=gen, dtype=torch.float32)
    label = torch.randint(0, NUM_CLASSES, (BATCH, CROP, CROP), generator=gen, dtype=torch.int64)
    ignored = torch.rand(BATCH, CROP, CROP, generator=gen) < 0.1
    label[ignored] = IGNORE_INDEX
    return image, label


def tracked_state(model):
    """Every parameter and every BN buffer (running_mean, running_var, num_batches_tracked), cloned."""
    out = {k: v.detach().clone() for k, v in model.named_parameters()}
    for k, v in model.named_buffers():
        if k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            out[k] = v.detach().clone()
    return out


def train(initial_state, image, label, lr_offset=0, flip_decay_of=None):
    """Five iterations of the reference loop. lr_offset / flip_decay_of perturb it for the self-checks."""
    model = build_model()
    model.load_state_dict(initial_state)
    model.train()
    t = TRAIN
    groups, per_param, num_layers = build_param_groups(model, t["lr"], t["weight_decay"], t["layer_decay"],
                                                       flip_decay_of)
    opt = torch.optim.AdamW(groups, lr=t["lr"], betas=t["betas"], eps=t["eps"], weight_decay=t["weight_decay"],
                            foreach=False)
    hook = PolyLr(t["power"], t["min_lr"], t["warmup_iters"], t["warmup_ratio"], t["max_iters"])
    hook.before_run(opt)
    img64 = image.double()  # the loader's float32 values, computed in float64
    rates, losses, dec_losses, aux_losses, snaps = [], [], [], [], {}
    for it in range(t["max_iters"]):  # runner.iter = it during the iteration
        hook.before_train_iter(opt, it + lr_offset)
        rates.append(hook.rate(t["lr"], it + lr_offset))  # the base rate (a group with lr_scale 1)
        for g in opt.param_groups:
            assert abs(g["lr"] - rates[-1] * g["lr_scale"]) <= 1e-18 + 1e-15 * rates[-1]  # min_lr = 0 here
        opt.zero_grad()
        loss, loss_dec, loss_aux = model.forward_train(img64, label)
        loss.backward()
        if it == 0:
            no_grad = [k for k, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
            assert not no_grad, no_grad
        opt.step()
        losses.append(loss.item())
        dec_losses.append(loss_dec.item())
        aux_losses.append(loss_aux.item())
        if it + 1 in (1, t["max_iters"]):
            snaps[it + 1] = tracked_state(model)
    return dict(rates=rates, losses=losses, dec=dec_losses, aux=aux_losses, snaps=snaps, per_param=per_param,
                num_layers=num_layers, groups=[(g["group_name"], g["lr_scale"], g["weight_decay"],
                                                len(g["params"])) for g in groups])


def max_diff(a, b):
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


# ------------------------------------------------------------------------------------------------------------------
# Self-checks of the re-implementation itself
# ------------------------------------------------------------------------------------------------------------------
def check_backbone_against_simmim_swin():
    """Where no stage needs padding and every stage exceeds the window (448: 112, 56, 28, 14 tokens, window 7), the
    SimMIM/official Swin of make_golden.py and the segmentation Swin must give the same stage outputs."""
    from make_golden import SwinTransformerForSimMIM
    torch.manual_seed(3)
    ref = SwinTransformerForSimMIM(img_size=448, patch_size=4, in_chans=3, num_classes=0, embed_dim=4,
                                   depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 4], window_size=7, mlp_ratio=4.0,
                                   qkv_bias=True, drop_rate=0.0, drop_path_rate=0.0, ape=False,
                                   patch_norm=True).double().eval()
    assert [[b.shift_size for b in l.blocks] for l in ref.layers] == [[0, 3]] * 4
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    seg = SegSwinBackbone(**SWIN).double().eval()
    sd = {k: v for k, v in ref.state_dict().items() if not k.endswith("attn_mask")}
    missing, unexpected = seg.load_state_dict(sd, strict=False)
    assert all(k.startswith("norm") for k in missing), missing
    assert set(unexpected) <= {"mask_token", "norm.weight", "norm.bias"}, unexpected
    x = torch.randn(1, 3, 448, 448, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        _, ref_stages = ref(x, torch.zeros(1, 112, 112, dtype=torch.int64), return_stages=True, apply_mask=False)
        ours = seg(x, normed=False)
    # make_golden's last stage output went through its final norm; compare the raw ones and stage 3 through it
    for s in range(3):
        assert torch.allclose(ours[s], ref_stages[s], rtol=0, atol=1e-12), s
    last = ref.norm(ours[3].flatten(2).transpose(1, 2)).transpose(1, 2).reshape_as(ours[3])
    assert torch.allclose(last, ref_stages[3], rtol=0, atol=1e-12)


def describe_windows():
    g = CROP // SWIN["patch_size"]
    rows = []
    for s in range(len(SWIN["depths"])):
        ws = SWIN["window_size"]
        rows.append((g, ceil_to(g, ws), ws, ws // 2))
        g = (g + 1) // 2
    return rows


def main():
    out = golden_output_folder()

    check_backbone_against_simmim_swin()

    model = build_model()
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    assert all(v.dtype in (torch.float64, torch.int64) for v in initial.values())
    image, label = make_batch()
    ref = train(initial, image, label)

    # --- self-checks -------------------------------------------------------------------------------------------
    again = train(initial, image, label)
    assert again["losses"] == ref["losses"] and max_diff(again["snaps"][5], ref["snaps"][5]) == 0.0, "not deterministic"
    shifted = train(initial, image, label, lr_offset=1)
    d_lr = max_diff(shifted["snaps"][5], ref["snaps"][5])
    assert d_lr > 1e-6, d_lr
    flip_name = "backbone.norm3.weight"  # LayerNorm weight (1-D: no decay) moved to the decayed group
    flipped = train(initial, image, label, flip_decay_of=flip_name)
    d_wd = max_diff(flipped["snaps"][5], ref["snaps"][5])
    assert d_wd > 1e-6, d_wd
    unchanged = [k for k, v in ref["snaps"][5].items() if torch.equal(v, initial[k])]
    assert not unchanged, unchanged
    assert ref["num_layers"] == 13

    # --- files --------------------------------------------------------------------------------------------------
    wpath = os.path.join(out, "five_steps_seg_weights.pth")
    torch.save({k: v.contiguous() for k, v in initial.items()}, wpath)
    io = dict(image=image, label=label,
              lr=torch.tensor(ref["rates"], dtype=torch.float64),
              loss=torch.tensor(ref["losses"], dtype=torch.float64),
              loss_decode=torch.tensor(ref["dec"], dtype=torch.float64),
              loss_aux=torch.tensor(ref["aux"], dtype=torch.float64))
    for k in (5,):  # the state after the last step (the losses of every step are in `loss`)
        for key, v in ref["snaps"][k].items():
            io["step%d.%s" % (k, key)] = v
    for key, (scale, wd, _) in ref["per_param"].items():
        io["group_lr_scale." + key] = torch.tensor(scale, dtype=torch.float64)
        io["group_weight_decay." + key] = torch.tensor(wd, dtype=torch.float64)
    ipath = os.path.join(out, "five_steps_seg_io.pth")
    save_io(io, ipath)

    # --- summary ------------------------------------------------------------------------------------------------
    print("torch %s" % torch.__version__)
    print("crop %dx%d; per stage (tokens, padded, window, shift): %s" % (CROP, CROP, describe_windows()))
    print("num_layers %d; groups:" % ref["num_layers"])
    for name, scale, wd, n in ref["groups"]:
        print("    %-18s lr_scale %.10g  weight_decay %g  (%d params)" % (name, scale, wd, n))
    print("lr   per iteration: %s" % ", ".join("%.12g" % r for r in ref["rates"]))
    print("loss per iteration: %s" % ", ".join("%.12f" % r for r in ref["losses"]))
    print("self-checks: deterministic; LR one iteration later: max |dW| %.3g; %s decayed: max |dW| %.3g"
          % (d_lr, flip_name, d_wd))
    n_params = sum(p.numel() for p in model.parameters())
    print("%d parameters in %d tensors, %d state-dict entries" % (n_params, len(list(model.parameters())),
                                                                  len(initial)))
    for p in (wpath, ipath):
        print("%-45s %8d B  %d tensors" % (p, os.path.getsize(p), len(torch.load(p))))


if __name__ == "__main__":
    main()
