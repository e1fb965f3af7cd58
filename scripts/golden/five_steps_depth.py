#!/usr/bin/python3
"""Golden reference for five depth fine-tuning steps of the MIM-Depth-Estimation recipe (float64, CPU).

Re-implements, from reading SwinTransformer/MIM-Depth-Estimation (commit 59ba08d):
  * models/swin_transformer_v2.py  SwinTransformerV2 as MIM-Depth builds it (the mmdet-style backbone, not the
    SimMIM classifier): every stage zero-pads its token grid at the bottom/right to whole windows
    (SwinTransformerBlockPost.forward), the window is never shrunk to the stage size, odd blocks of a stage with
    use_shift shift by window // 2, the shift mask is built per forward on the padded grid (BasicLayer.forward),
    post-norm blocks, cosine attention with the logit_scale clamp, the continuous position bias of
    relative_coords_table_type 'norm8_log_bylayer' (coordinates / (pretrain_window_size - 1), x8, signed log8),
    rpe_output_type 'sigmoid' (16 * sigmoid), PatchMerging with postnorm (Linear 4C->2C, then LN 2C), out_indices (3,)
    with its output norm `norm3`, LayerNormFP32(eps 1e-6) everywhere;
  * models/model.py                GLPDepth: encoder -> Decoder(conv_feats[0]) -> last_layer_depth ->
    sigmoid * max_depth;
  * models/optimizer.py            SwinLayerDecayOptimizerConstructor.add_params and get_num_layer_for_swin
    (layer ids, lr_scale = layer_decay_rate ** (num_layers - layer_id - 1), the weight-decay exemptions);
  * utils/criterion.py             SiLogLoss (lambd 0.5);
  * train.py                       main() (optimizer set-up, global_step) and train() (per-iteration poly LR,
    zero_grad / backward / step order, no gradient clipping).

The only deviation: MIM-Depth up-casts with `.float()` in LayerNormFP32, LinearFP32 (rpe_mlp.2), the cosine
attention (q, k, logit_scale) and the output norm (`norm3.float()(x.float())`). Those casts are meant for fp16/bf16
training; in a float64 run they would round to float32. Here every such cast is "compute in float32 only when the
input is float16/bfloat16, else in the input dtype" (at_least_fp32), so the whole run stays in float64.

Writes (tests/golden/):
  five_steps_depth_weights.pth        initial state dict of the depth model (float64; our key names)
  five_steps_depth_io.pth             image, depth (float32), lr [5], loss [5], step5.<key>,
                                      group_lr_scale.<key>, group_weight_decay.<key>
  mim_depth_swinv2_padded_weights.pth the padded-window encoder alone (keys without `encoder.`)
  mim_depth_swinv2_padded_io.pth      input, stage0..stage3, output (eval mode)

Rerun (CPU, a few seconds; Debian's python if it has torch, else the project's torch 2 venv):
    /usr/bin/python3 scripts/golden/five_steps_depth.py --out tests/golden
    ~/.cache/sgmim/torch2-venv/bin/python scripts/golden/five_steps_depth.py --out tests/golden
"""

import argparse
import copy
import inspect
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import Mlp, relative_position_index_2d, save_io, window_partition, window_reverse  # noqa: E402

LN_EPS = 1e-6


# =====================================================================================================================
# Configuration (the `swinv2_test` variant fine-tuned for KITTI at img 64)
# =====================================================================================================================
ENCODER = dict(patch_size=4, in_chans=3, embed_dim=4, depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 4], mlp_ratio=4.0,
               qkv_bias=True, window_size=[22, 22, 22, 11], use_shift=[True, True, False, False],
               pretrain_window_size=[4, 4, 4, 2], rpe_hidden_dim=512)
HEAD = dict(num_filters=[32, 32, 32], deconv_kernels=[2, 2, 2], max_depth=80.0)
IMG = 64
BATCH = 2
TRAIN = dict(epochs=5, iterations=1, max_lr=1e-3, min_lr=1e-4, power=0.9, layer_decay=0.9, weight_decay=0.1,
             betas=(0.9, 0.999), eps=1e-8, silog_lambda=0.5)


def at_least_fp32(t):
    """MIM-Depth's `.float()` up-casts, as meant: float32 for float16/bfloat16, else the input dtype (float64 here)."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


# =====================================================================================================================
# MIM-Depth models/swin_transformer_v2.py
# =====================================================================================================================
class LayerNormFP32(nn.LayerNorm):
    """MIM-Depth LayerNormFP32 (see at_least_fp32 for the only deviation)."""

    def forward(self, x):
        xc = at_least_fp32(x)
        return F.layer_norm(xc, self.normalized_shape, self.weight.to(xc.dtype), self.bias.to(xc.dtype),
                            self.eps).type_as(x)


class LinearFP32(nn.Linear):
    """MIM-Depth LinearFP32 (rpe_mlp.2): the same up-cast rule."""

    def forward(self, x):
        xc = at_least_fp32(x)
        return F.linear(xc, self.weight.to(xc.dtype), None if self.bias is None else self.bias.to(xc.dtype))


def norm_layer(dim):
    return LayerNormFP32(dim, eps=LN_EPS)


def bylayer_log_coords_table(window_size, pretrain_window_size):
    """WindowAttention relative_coords_table, type 'norm8_log_bylayer' (MIM-Depth's default): built in float32,
    both axes divided by (pretrain_window_size - 1), x8, then sign(t) * log2(|t| + 1) / log2(8)."""
    r = torch.arange(-(window_size - 1), window_size, dtype=torch.float32)
    t = torch.stack(torch.meshgrid([r, r], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
    t[:, :, :, 0] /= (pretrain_window_size - 1)
    t[:, :, :, 1] /= (pretrain_window_size - 1)
    t *= 8
    return torch.sign(t) * torch.log2(torch.abs(t) + 1.0) / math.log2(8)


class WindowAttention(nn.Module):
    """MIM-Depth WindowAttention with the flags SwinTransformerV2 passes by default: attn_type 'cosine_mh',
    rpe_output_type 'sigmoid', relative_coords_table_type 'norm8_log_bylayer', rpe_hidden_dim 512, mlpfp32 off."""

    def __init__(self, dim, window_size, num_heads, qkv_bias, pretrain_window_size, rpe_hidden_dim):
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))), requires_grad=True)
        self.rpe_mlp = nn.Sequential(nn.Linear(2, rpe_hidden_dim, bias=True), nn.ReLU(inplace=True),
                                     LinearFP32(rpe_hidden_dim, num_heads, bias=False))
        self.register_buffer("relative_coords_table", bylayer_log_coords_table(window_size, pretrain_window_size))
        self.register_buffer("relative_position_index", relative_position_index_2d((window_size, window_size)))
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = self.v_bias = None
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        bias = None
        if self.q_bias is not None:  # k has a fixed zero bias
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = F.normalize(at_least_fp32(q), dim=-1)
        k = F.normalize(at_least_fp32(k), dim=-1)
        # the clamp bound is a float32 tensor upstream (torch.log(torch.tensor(1. / 0.01))); only matters when clamped
        scale = torch.clamp(self.logit_scale, max=torch.log(torch.tensor(1.0 / 0.01))).exp()
        attn = (q @ k.transpose(-2, -1)) * at_least_fp32(scale)
        table = self.rpe_mlp(self.relative_coords_table).view(-1, self.num_heads)
        rpb = table[self.relative_position_index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
        attn = attn + (16 * torch.sigmoid(rpb)).unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, N, N)
        attn = torch.softmax(attn, dim=-1).type_as(x)
        out = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(out)


class SwinTransformerBlockPost(nn.Module):
    """MIM-Depth SwinTransformerBlockPost (post-norm; no endnorm, no mlp norm, drop_path 0)."""

    def __init__(self, dim, num_heads, window_size, shift_size, mlp_ratio, qkv_bias, pretrain_window_size,
                 rpe_hidden_dim):
        super().__init__()
        self.dim, self.window_size, self.shift_size = dim, window_size, shift_size
        assert 0 <= shift_size < window_size
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(dim, window_size, num_heads, qkv_bias, pretrain_window_size, rpe_hidden_dim)
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))  # fc1 -> GELU -> fc2, dropouts 0
        self.H = self.W = None

    def forward(self, x, mask_matrix):
        H, W, ws, s = self.H, self.W, self.window_size, self.shift_size
        B, L, C = x.shape
        assert L == H * W
        shortcut = x
        x = x.view(B, H, W, C)
        pad_r = (ws - W % ws) % ws
        pad_b = (ws - H % ws) % ws
        if pad_r > 0 or pad_b > 0:  # raw (not normed) tokens padded with zeros, bottom/right
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, Hp, Wp, _ = x.shape
        if s > 0:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
            mask = mask_matrix
        else:
            mask = None
        w = window_partition(x, ws).view(-1, ws * ws, C)
        w = self.attn(w, mask=mask).view(-1, ws, ws, C)
        x = window_reverse(w, ws, Hp, Wp)
        if s > 0:
            x = torch.roll(x, shifts=(s, s), dims=(1, 2))
        if pad_r > 0 or pad_b > 0:
            x = x[:, :H, :W, :].contiguous()
        x = shortcut + self.norm1(x.view(B, H * W, C))
        return x + self.norm2(self.mlp(x))


class PatchMerging(nn.Module):
    """MIM-Depth PatchMerging, postnorm=True: gather 2x2 (x0,x1,x2,x3 order), Linear(4C->2C, no bias), LN(2C)."""

    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2 * dim)

    def forward(self, x, H, W):
        B, L, C = x.shape
        x = x.view(B, H, W, C)
        if H % 2 == 1 or W % 2 == 1:
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.norm(self.reduction(x.view(B, -1, 4 * C)))


class BasicLayer(nn.Module):
    """MIM-Depth BasicLayer: blocks (odd ones shifted by window // 2 when use_shift), the shift mask of the padded
    Hp x Wp grid built at every forward, optional PatchMerging. Returns (x_out, H, W, x_down, Wh, Ww)."""

    def __init__(self, dim, depth, num_heads, window_size, mlp_ratio, qkv_bias, downsample, use_shift,
                 pretrain_window_size, rpe_hidden_dim):
        super().__init__()
        self.window_size = window_size
        self.shift_size = window_size // 2
        self.blocks = nn.ModuleList([
            SwinTransformerBlockPost(dim, num_heads, window_size,
                                     0 if (i % 2 == 0) or (not use_shift) else window_size // 2, mlp_ratio,
                                     qkv_bias, pretrain_window_size, rpe_hidden_dim)
            for i in range(depth)])
        self.downsample = PatchMerging(dim) if downsample else None

    def shift_mask(self, H, W, device):
        ws, s = self.window_size, self.shift_size
        Hp = int(math.ceil(H / ws)) * ws
        Wp = int(math.ceil(W / ws)) * ws
        img_mask = torch.zeros((1, Hp, Wp, 1), device=device)  # float32, as upstream
        cnt = 0
        for h in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
            for w in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
                img_mask[:, h, w, :] = cnt
                cnt += 1
        mw = window_partition(img_mask, ws).view(-1, ws * ws)
        m = mw.unsqueeze(1) - mw.unsqueeze(2)
        return m.masked_fill(m != 0, float(-100.0)).masked_fill(m == 0, float(0.0))

    def forward(self, x, H, W):
        mask = self.shift_mask(H, W, x.device)
        for blk in self.blocks:
            blk.H, blk.W = H, W
            x = blk(x, mask)
        if self.downsample is not None:
            return x, H, W, self.downsample(x, H, W), (H + 1) // 2, (W + 1) // 2
        return x, H, W, x, H, W


class PatchEmbed(nn.Module):
    """MIM-Depth PatchEmbed: pad to patch multiples, Conv k=p s=p, LN over channels; returns tokens [B, L, C]."""

    def __init__(self, patch_size, in_chans, embed_dim):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = norm_layer(embed_dim)

    def forward(self, x):
        p = self.patch_size
        _, _, H, W = x.shape
        if W % p:
            x = F.pad(x, (0, p - W % p))
        if H % p:
            x = F.pad(x, (0, 0, 0, p - H % p))
        x = self.proj(x)
        Wh, Ww = x.shape[2], x.shape[3]
        return self.norm(x.flatten(2).transpose(1, 2)), Wh, Ww


class SwinTransformerV2(nn.Module):
    """MIM-Depth SwinTransformerV2 as GLPDepth builds it (ape off, patch_norm on, postnorm, out_indices (3,),
    frozen_stages -1, drop rates 0). forward -> [norm3(stage 3) as a map]."""

    def __init__(self, patch_size, in_chans, embed_dim, depths, num_heads, window_size, mlp_ratio, qkv_bias,
                 use_shift, pretrain_window_size, rpe_hidden_dim, out_indices=(3,)):
        super().__init__()
        self.num_layers = len(depths)
        self.out_indices = out_indices
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.layers = nn.ModuleList()
        self.num_features = []
        for i in range(self.num_layers):
            dim = int(embed_dim * 2 ** i)
            self.num_features.append(dim)
            self.layers.append(BasicLayer(dim, depths[i], num_heads[i], window_size[i], mlp_ratio, qkv_bias,
                                          i < self.num_layers - 1, use_shift[i], pretrain_window_size[i],
                                          rpe_hidden_dim))
        for i in out_indices:
            self.add_module("norm%d" % i, norm_layer(self.num_features[i]))

    def forward(self, x, stages=None):
        """Returns MIM-Depth's outs (one map per out index, after its norm). `stages`, when a list, receives every
        layer's x_out (before its PatchMerging) as a map, un-normed except for out indices (normed as in outs)."""
        x, Wh, Ww = self.patch_embed(x)
        outs = []
        for i, layer in enumerate(self.layers):
            x_out, H, W, x, Wh, Ww = layer(x, Wh, Ww)
            if i in self.out_indices:
                # upstream: getattr(self, f'norm{i}').float()(x_out.float()) -- see at_least_fp32
                x_out = getattr(self, "norm%d" % i)(at_least_fp32(x_out))
            out = x_out.view(-1, H, W, self.num_features[i]).permute(0, 3, 1, 2).contiguous()
            if i in self.out_indices:
                outs.append(out)
            if stages is not None:
                stages.append(out)
        return outs


# =====================================================================================================================
# MIM-Depth models/model.py
# =====================================================================================================================
class Decoder(nn.Module):
    """MIM-Depth Decoder: num_deconv x [ConvTranspose2d(stride 2, no bias), BN, ReLU], Conv3x3 (bias), BN, ReLU,
    then nn.Upsample(x2, bilinear, align_corners=False) twice. Input: conv_feats[0]."""

    def __init__(self, in_channels, out_channels, num_filters, deconv_kernels):
        super().__init__()
        layers, planes_in = [], in_channels
        for planes, kernel in zip(num_filters, deconv_kernels):
            padding, output_padding = {4: (1, 0), 3: (1, 1), 2: (0, 0)}[kernel]
            layers += [nn.ConvTranspose2d(planes_in, planes, kernel, stride=2, padding=padding,
                                          output_padding=output_padding, bias=False),
                       nn.BatchNorm2d(planes), nn.ReLU(inplace=True)]
            planes_in = planes
        self.deconv_layers = nn.Sequential(*layers)
        self.conv_layers = nn.Sequential(nn.Conv2d(num_filters[-1], out_channels, 3, stride=1, padding=1),
                                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, conv_feats):
        out = self.conv_layers(self.deconv_layers(conv_feats[0]))
        return self.up(self.up(out))


class GLPDepth(nn.Module):
    """MIM-Depth GLPDepth: encoder -> decoder -> last_layer_depth -> sigmoid * max_depth."""

    def __init__(self, enc=ENCODER, head=HEAD):
        super().__init__()
        self.max_depth = head["max_depth"]
        self.encoder = SwinTransformerV2(**enc)
        embed_dim = enc["embed_dim"]
        self.decoder = Decoder(embed_dim * 8, embed_dim, head["num_filters"], head["deconv_kernels"])
        self.last_layer_depth = nn.Sequential(nn.Conv2d(embed_dim, embed_dim, 3, stride=1, padding=1),
                                              nn.ReLU(inplace=False),
                                              nn.Conv2d(embed_dim, 1, 3, stride=1, padding=1))

    def forward(self, x):
        out = self.last_layer_depth(self.decoder(self.encoder(x)))
        return {"pred_d": torch.sigmoid(out) * self.max_depth}


# =====================================================================================================================
# MIM-Depth utils/criterion.py, models/optimizer.py, train.py
# =====================================================================================================================
def silog_loss(pred, target, lambd=0.5):
    """SiLogLoss.forward: valid = target > 0, d = log(target) - log(pred), sqrt(mean(d^2) - lambd * mean(d)^2)."""
    valid = (target > 0).detach()
    d = torch.log(target[valid]) - torch.log(pred[valid])
    return torch.sqrt(torch.pow(d, 2).mean() - lambd * torch.pow(d.mean(), 2))


def num_layer_for_swin(var_name, num_max_layer, layers_per_stage):
    """get_num_layer_for_swin."""
    var_name = var_name.replace("encoder", "backbone") if var_name.startswith("encoder") else var_name
    if var_name in ("backbone.cls_token", "backbone.mask_token", "backbone.pos_embed", "backbone.absolute_pos_embed"):
        return 0
    if var_name.startswith("backbone.patch_embed"):
        return 0
    if var_name.startswith("backbone.layers"):
        parts = var_name.split(".")
        stage = int(parts[2])
        if parts[3] == "blocks":
            return int(parts[4]) + sum(layers_per_stage[:stage]) + 1
        if parts[3] == "downsample":
            return sum(layers_per_stage[:stage + 1])
        return None  # upstream falls through to None; no such parameter exists here
    return num_max_layer - 1


NO_DECAY_NAMES = ["relative_position_bias_table", "rpe_mlp", "logit_scale"]  # train.py paramwise_cfg


def layer_decay_groups(model, depths, layer_decay_rate, base_lr, base_wd, no_decay_names=NO_DECAY_NAMES,
                       flip_decay=(), id_offset=None):
    """SwinLayerDecayOptimizerConstructor.add_params (the constructor train.py names). `flip_decay` (names moved to
    the other weight-decay group) and `id_offset` ({name: +k}) exist only for the sensitivity self-checks."""
    # upstream adds 1 per stage but the last (its PatchMerging) in place on args.depths, after the model was built
    lps = list(depths)
    for i in range(len(lps) - 1):
        lps[i] += 1
    num_layers = sum(lps) + 2  # + patch embed, head
    groups, info = {}, {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # `name in ('absolute_pos_embed')` is a substring test against a string upstream; never true for these names
        if len(p.shape) == 1 or name.endswith(".bias") or name in ("absolute_pos_embed"):
            decay = False
        else:
            decay = not any(nd in name for nd in no_decay_names)
        if name in flip_decay:
            decay = not decay
        layer_id = num_layer_for_swin(name, num_layers, lps)
        if id_offset and name in id_offset:
            layer_id += id_offset[name]
        gname = "layer_%d_%s" % (layer_id, "decay" if decay else "no_decay")
        if gname not in groups:
            scale = layer_decay_rate ** (num_layers - layer_id - 1)
            groups[gname] = {"weight_decay": base_wd if decay else 0.0, "params": [], "param_names": [],
                             "lr_scale": scale, "group_name": gname, "lr": scale * base_lr}
        groups[gname]["params"].append(p)
        groups[gname]["param_names"].append(name)
        info[name] = (layer_id, groups[gname]["lr_scale"], groups[gname]["weight_decay"])
    return list(groups.values()), info, num_layers


def poly_lr(global_step, iterations, half_epoch, max_lr, min_lr, power=0.9):
    """train.py train(): the LR of `global_step` (counted from 1)."""
    if global_step < iterations * half_epoch:
        return (max_lr - min_lr) * (global_step / iterations / half_epoch) ** power + min_lr
    return max(min_lr, (min_lr - max_lr) * (global_step / iterations / half_epoch - 1) ** power + max_lr)


def make_adamw(groups, lr, betas, eps, weight_decay):
    kw = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    params = inspect.signature(torch.optim.AdamW.__init__).parameters
    if "foreach" in params:
        kw["foreach"] = False
    if "fused" in params:
        kw["fused"] = False
    return torch.optim.AdamW(groups, **kw)


def train_five_steps(init_sd, image, depth, lr_offset=0, flip_decay=(), id_offset=None, probe=None):
    """train.py main() + train() for TRAIN['epochs'] epochs of one batch each. Returns lrs, losses, state dicts after
    every step, and the per-parameter group info."""
    t = TRAIN
    model = GLPDepth().double()
    model.load_state_dict(init_sd)
    groups, info, _ = layer_decay_groups(model, ENCODER["depths"], t["layer_decay"], t["max_lr"],
                                         t["weight_decay"], flip_decay=flip_decay, id_offset=id_offset)
    opt = make_adamw(groups, t["max_lr"], t["betas"], t["eps"], t["weight_decay"])
    x = image.to(torch.float64)
    gt = depth.to(torch.float64).squeeze(1)  # MIM-Depth's dataset yields depth [B, H, W] (to_tensor(...).squeeze())
    iterations = t["iterations"]
    half_epoch = t["epochs"] // 2
    global_step = 0
    lrs, losses, states = [], [], []
    for epoch in range(1, t["epochs"] + 1):
        model.train()
        for _ in range(iterations):
            global_step += 1
            lr = poly_lr(global_step + lr_offset, iterations, half_epoch, t["max_lr"], t["min_lr"], t["power"])
            for g in opt.param_groups:
                g["lr"] = lr * g["lr_scale"]  # 'swin' in args.backbone
            preds = model(x)
            opt.zero_grad()
            loss = silog_loss(preds["pred_d"].squeeze(), gt, t["silog_lambda"])
            loss.backward()
            if probe is not None:
                probe(global_step, model)
            opt.step()  # no gradient clipping in train.py
            lrs.append(lr)
            losses.append(loss.item())
            states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    return lrs, losses, states, info


# =====================================================================================================================
# Weights, names, files
# =====================================================================================================================
def ours(key):
    """MIM-Depth key -> sgmim key: attn.rpe_mlp -> attn.cpb_mlp, encoder output norm norm3 -> norm."""
    key = key.replace(".attn.rpe_mlp.", ".attn.cpb_mlp.")
    if key.startswith("encoder.norm3."):
        key = "encoder.norm." + key[len("encoder.norm3."):]
    elif key.startswith("norm3."):
        key = "norm." + key[len("norm3."):]
    return key


def saved_state(sd):
    """The state dict as written: our names; `relative_position_index` (int64 [N, N], up to 1.9 MB per block, a
    pure function of the window) left out; MIM-Depth has no `attn_mask` buffer (the mask is built per forward)."""
    return {ours(k): v.detach().clone().contiguous() for k, v in sd.items()
            if not k.endswith("relative_position_index")}


def rerandomize(model):
    """Deterministic re-randomisation of every parameter (and the BN running statistics) at scales where each one
    matters: LN / BN weights 1 + 0.05 N, logit_scale log 10 + 0.1 N, rpe_mlp larger (its bias then spans about
    2..14 of 16 * sigmoid), everything else 0.05 N; running_mean 0.05 N, running_var 1 + 0.5 U."""
    norm_w = set()
    for m in model.modules():
        if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
            norm_w.add(id(m.weight))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if id(p) in norm_w:
                p.copy_(1 + 0.05 * torch.randn_like(p))
            elif name.endswith("logit_scale"):
                p.copy_(math.log(10) + 0.1 * torch.randn_like(p))
            elif ".rpe_mlp.0." in name:
                p.copy_(torch.randn_like(p))
            elif ".rpe_mlp.2." in name:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.05 * torch.randn_like(p))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.05 * torch.randn_like(m.running_mean))
                m.running_var.copy_(1 + 0.5 * torch.rand_like(m.running_var))


def max_diff(a, b, keys=None):
    keys = keys or [k for k in a if a[k].is_floating_point()]
    return max((a[k] - b[k]).abs().max().item() for k in keys)


def make_batch():
    g = torch.Generator().manual_seed(1)
    image = torch.rand(BATCH, 3, IMG, IMG, generator=g, dtype=torch.float32)
    depth = 1.0 + 69.0 * torch.rand(BATCH, 1, IMG, IMG, generator=g, dtype=torch.float32)
    depth = depth.clamp(min=1.0 + 2 ** -16)  # strictly inside (1, 70)
    invalid = torch.rand(BATCH, 1, IMG, IMG, generator=g) < 0.2
    depth[invalid] = 0.0
    return image, depth


def case_five_steps(out):
    torch.manual_seed(0)
    model = GLPDepth().double()
    rerandomize(model)
    init_sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    image, depth = make_batch()

    # structure: windows never shrunk; shifts only in stages 0 and 1 (odd blocks)
    enc = model.encoder
    assert [[b.window_size for b in l.blocks] for l in enc.layers] == [[22, 22], [22, 22], [22, 22], [11, 11]]
    assert [[b.shift_size for b in l.blocks] for l in enc.layers] == [[0, 11], [0, 11], [0, 0], [0, 0]]

    bn_bias_grads = []

    def probe(step, m):
        for n, p in m.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
        bn_bias_grads.append(m.decoder.conv_layers[0].bias.grad.abs().max().item())

    lrs, losses, states, info = train_five_steps(init_sd, image, depth, probe=probe)
    half = TRAIN["epochs"] // 2
    expect = [poly_lr(g, 1, half, TRAIN["max_lr"], TRAIN["min_lr"]) for g in range(1, 6)]
    assert lrs == expect
    assert all(math.isfinite(v) for v in losses)

    # --- self-checks ---------------------------------------------------------------------------------------------
    checks = []
    lrs2, losses2, states2, _ = train_five_steps(init_sd, image, depth)
    d = max_diff(states[-1], states2[-1])
    assert d == 0.0 and losses == losses2, ("not deterministic", d)
    checks.append(("rerun (determinism)", d))
    for off in (+1, -1):
        _, _, s, _ = train_five_steps(init_sd, image, depth, lr_offset=off)
        d = max_diff(states[-1], s[-1])
        checks.append(("LR timing shifted by %+d step" % off, d))
        assert d > 1e-6, checks[-1]
    for name in ("decoder.deconv_layers.0.weight", "encoder.layers.0.blocks.0.attn.qkv.weight",
                 "encoder.layers.1.blocks.1.attn.rpe_mlp.0.weight", "encoder.layers.2.blocks.0.attn.logit_scale",
                 "encoder.layers.3.blocks.1.norm1.weight"):
        _, _, s, _ = train_five_steps(init_sd, image, depth, flip_decay=(name,))
        d = max_diff(states[-1], s[-1])
        checks.append(("weight-decay group of %s flipped" % name, d))
        assert d > 1e-6, checks[-1]
    for name in ("encoder.patch_embed.proj.weight", "encoder.layers.2.downsample.reduction.weight"):
        _, _, s, _ = train_five_steps(init_sd, image, depth, id_offset={name: 1})
        d = max_diff(states[-1], s[-1])
        checks.append(("layer id of %s + 1" % name, d))
        assert d > 1e-6, checks[-1]
    # every parameter moves in the first step, except the conv bias in front of a training-mode BN (its gradient is
    # zero up to rounding, so AdamW moves it by about lr * |g| / eps, i.e. not at all at 1e-10)
    for k, v in init_sd.items():
        if k in dict(model.named_parameters()) and k != "decoder.conv_layers.0.bias":
            assert (states[0][k] - v).abs().max().item() > 1e-8, k
    moved = (states[-1]["decoder.conv_layers.0.bias"] - init_sd["decoder.conv_layers.0.bias"]).abs().max().item()
    checks.append(("(info) decoder.conv_layers.0.bias moved in 5 steps by", moved))

    # --- files ---------------------------------------------------------------------------------------------------
    weights = saved_state(init_sd)
    torch.save(weights, os.path.join(out, "five_steps_depth_weights.pth"))
    io = dict(image=image, depth=depth, lr=torch.tensor(lrs, dtype=torch.float64),
              loss=torch.tensor(losses, dtype=torch.float64))
    trainable = {k for k, _ in model.named_parameters()}
    for k in (5,):  # the state after the last step (the losses of every step are in `loss`)
        for key, v in states[k - 1].items():
            if key in trainable or ".running_" in key or key.endswith("num_batches_tracked"):
                io["step%d.%s" % (k, ours(key))] = v
    for key, (layer_id, scale, wd) in info.items():
        io["group_lr_scale." + ours(key)] = torch.tensor(scale, dtype=torch.float64)
        io["group_weight_decay." + ours(key)] = torch.tensor(wd, dtype=torch.float64)
    save_io(io, os.path.join(out, "five_steps_depth_io.pth"))
    return lrs, losses, info, checks, bn_bias_grads


def case_padded_encoder(out):
    torch.manual_seed(2)
    enc = SwinTransformerV2(**ENCODER).double()
    rerandomize(enc)
    enc.eval()
    x = torch.randn(BATCH, 3, IMG, IMG, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    stages = []
    with torch.no_grad():
        outs = enc(x, stages=stages)
    assert len(outs) == 1 and outs[0].shape == (BATCH, 32, 2, 2)
    assert [tuple(s.shape) for s in stages] == [(2, 4, 16, 16), (2, 8, 8, 8), (2, 16, 4, 4), (2, 32, 2, 2)]
    assert torch.equal(stages[3], outs[0])
    # The window rule matters: the same weights with SimMIM's rule (window shrunk to the stage, no shift) differ.
    shrunk_cfg = dict(ENCODER, window_size=[16, 8, 4, 2], use_shift=[False] * 4)
    shrunk = SwinTransformerV2(**shrunk_cfg).double()
    sd = {k: v for k, v in enc.state_dict().items()
          if not (k.endswith("relative_coords_table") or k.endswith("relative_position_index"))}
    missing, unexpected = shrunk.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith(("relative_coords_table", "relative_position_index")) for k in missing)
    shrunk.eval()
    with torch.no_grad():
        y_shrunk = shrunk(x)[0]
    d_rule = (y_shrunk - outs[0]).abs().max().item()
    assert d_rule > 1e-3, d_rule
    # and the shift of stages 0/1 matters
    noshift = SwinTransformerV2(**dict(ENCODER, use_shift=[False] * 4)).double()
    noshift.load_state_dict(enc.state_dict())
    noshift.eval()
    with torch.no_grad():
        d_shift = (noshift(x)[0] - outs[0]).abs().max().item()
    assert d_shift > 1e-6, d_shift

    torch.save(saved_state(enc.state_dict()), os.path.join(out, "mim_depth_swinv2_padded_weights.pth"))
    io = dict(input=x, output=outs[0])
    for i, s in enumerate(stages):
        io["stage%d" % i] = s
    save_io(io, os.path.join(out, "mim_depth_swinv2_padded_io.pth"))
    return d_rule, d_shift


def golden_output_folder():
    """The --out folder of the five-step scripts (created), and one torch thread: deterministic float64 runs."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/golden")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    print("torch", torch.__version__)
    return out


def main():
    out = golden_output_folder()
    lrs, losses, info, checks, bn_grads = case_five_steps(out)
    print("five depth steps (float64): epochs %d, iterations/epoch %d, half_epoch %d"
          % (TRAIN["epochs"], TRAIN["iterations"], TRAIN["epochs"] // 2))
    for i, (lr, loss) in enumerate(zip(lrs, losses)):
        print("  step %d (global_step %d): lr %.17g  loss %.17g" % (i + 1, i + 1, lr, loss))
    groups = sorted({(v[0], v[1], v[2]) for v in info.values()})
    print("  groups (layer id, lr_scale, weight_decay): %d" % len(groups))
    for g in groups:
        print("    id %2d  scale %.17g  wd %g" % g)
    print("  max |grad| of decoder.conv_layers.0.bias (before BN, ideally 0) per step: %s"
          % ", ".join("%.1e" % v for v in bn_grads))
    print("self-checks (max |diff| of the step-5 state):")
    for name, d in checks:
        print("  %-80s %.3e" % (name, d))
    d_rule, d_shift = case_padded_encoder(out)
    print("padded encoder: |shrunk-window output - padded output| max %.3e, |no-shift - shift| max %.3e"
          % (d_rule, d_shift))
    for fn in ("five_steps_depth_weights.pth", "five_steps_depth_io.pth", "mim_depth_swinv2_padded_weights.pth",
               "mim_depth_swinv2_padded_io.pth"):
        p = os.path.join(out, fn)
        print("%-40s %8d B  %d tensors" % (fn, os.path.getsize(p), len(torch.load(p))))


if __name__ == "__main__":
    main()
