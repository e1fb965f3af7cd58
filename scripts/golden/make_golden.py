#!/usr/bin/python3
"""Golden reference files for the sgmim C++/LibTorch tests.

Builds faithful PyTorch re-implementations of the official reference modules
  * microsoft/Swin-Transformer  models/swin_transformer.py     (Swin v1)
  * microsoft/Swin-Transformer  models/swin_transformer_v2.py  (Swin v2)
  * microsoft/SimMIM            models/simmim.py               (SwinTransformerForSimMIM, VisionTransformerForSimMIM)
  * microsoft/SimMIM            models/vision_transformer.py   (BEiT-style ViT)
  * SG-MIM v1 (Ho1guma/SG-MIM first commit) Depth_Encoder, Fusion_blk, decoders, losses
    (Ho1guma/SG-MIM models/sgmim.py, first commit 352a6f2; the project's docs/architecture.md)
with the official parameter / buffer names and registration order, re-randomises their
parameters deterministically, and writes tiny weight files (plain dict of tensors, official
state_dict keys) together with input/expected-output files that the C++ tests compare against.

Rerun (CPU only, Debian's python with torch 1.13, takes a few seconds):
    /usr/bin/python3 scripts/golden/make_golden.py --out tests/golden
"""

import argparse
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


def to_2tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x, x)


def trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0):
    # timm's trunc_normal_ (a/b are absolute bounds)
    with torch.no_grad():
        return nn.init.trunc_normal_(t, mean=mean, std=std, a=a, b=b)


class Identity(nn.Module):
    def forward(self, x):
        return x


# =====================================================================================
# Common pieces (Swin v1 / v2)
# =====================================================================================
class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.0):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x))


def window_partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)


def window_reverse(windows, ws, H, W):
    B = int(windows.shape[0] / (H * W / ws / ws))
    x = windows.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def relative_position_index_2d(window_size):
    Wh, Ww = window_size
    coords = torch.stack(torch.meshgrid([torch.arange(Wh), torch.arange(Ww)], indexing="ij"))  # 2,Wh,Ww
    coords_flatten = torch.flatten(coords, 1)
    rel = coords_flatten[:, :, None] - coords_flatten[:, None, :]
    rel = rel.permute(1, 2, 0).contiguous()
    rel[:, :, 0] += Wh - 1
    rel[:, :, 1] += Ww - 1
    rel[:, :, 0] *= 2 * Ww - 1
    return rel.sum(-1)  # Wh*Ww, Wh*Ww (int64)


def shifted_window_attn_mask(H, W, ws, shift):
    img_mask = torch.zeros((1, H, W, 1))
    slices = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mw = window_partition(img_mask, ws).view(-1, ws * ws)
    attn_mask = mw.unsqueeze(1) - mw.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))


class PatchEmbed(nn.Module):
    """Swin / SimMIM PatchEmbed: Conv(k=p, s=p) -> flatten -> (LN)."""

    def __init__(self, img_size=224, patch_size=4, in_chans=3, embed_dim=96, norm_layer=None):
        super().__init__()
        img_size, patch_size = to_2tuple(img_size), to_2tuple(patch_size)
        self.img_size, self.patch_size = img_size, patch_size
        self.patches_resolution = [img_size[0] // patch_size[0], img_size[1] // patch_size[1]]
        self.num_patches = self.patches_resolution[0] * self.patches_resolution[1]
        self.in_chans, self.embed_dim = in_chans, embed_dim
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else None

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        if self.norm is not None:
            x = self.norm(x)
        return x


def _gather4(x, H, W):
    B, L, C = x.shape
    x = x.view(B, H, W, C)
    x0 = x[:, 0::2, 0::2, :]
    x1 = x[:, 1::2, 0::2, :]
    x2 = x[:, 0::2, 1::2, :]
    x3 = x[:, 1::2, 1::2, :]
    return torch.cat([x0, x1, x2, x3], -1).view(B, -1, 4 * C)


class PatchMerging(nn.Module):
    """Swin v1: LN(4C) then Linear(4C->2C, no bias). reduction registered before norm."""

    def __init__(self, input_resolution, dim, norm_layer=nn.LayerNorm):
        super().__init__()
        self.input_resolution, self.dim = input_resolution, dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x):
        x = _gather4(x, *self.input_resolution)
        return self.reduction(self.norm(x))


class PatchMergingV2(nn.Module):
    """Swin v2: Linear(4C->2C, no bias) then LN(2C)."""

    def __init__(self, input_resolution, dim, norm_layer=nn.LayerNorm):
        super().__init__()
        self.input_resolution, self.dim = input_resolution, dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2 * dim)

    def forward(self, x):
        x = _gather4(x, *self.input_resolution)
        return self.norm(self.reduction(x))


# =====================================================================================
# Swin v1 (microsoft/Swin-Transformer models/swin_transformer.py)
# =====================================================================================
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True, qk_scale=None, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        head_dim = dim // num_heads
        self.scale = qk_scale or head_dim ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size[0] - 1) * (2 * window_size[1] - 1), num_heads))
        self.register_buffer("relative_position_index", relative_position_index_2d(window_size))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)
        rpb = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = attn + rpb.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, N, N)
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj_drop(self.proj(x))


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim, input_resolution, num_heads, window_size=7, shift_size=0, mlp_ratio=4.0,
                 qkv_bias=True, qk_scale=None, drop=0.0, attn_drop=0.0, drop_path=0.0,
                 act_layer=nn.GELU, norm_layer=nn.LayerNorm):
        super().__init__()
        self.dim, self.input_resolution, self.num_heads = dim, input_resolution, num_heads
        self.window_size, self.shift_size, self.mlp_ratio = window_size, shift_size, mlp_ratio
        if min(self.input_resolution) <= self.window_size:
            self.shift_size = 0
            self.window_size = min(self.input_resolution)
        assert 0 <= self.shift_size < self.window_size
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(dim, to_2tuple(self.window_size), num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = Identity()  # drop_path = 0 in all goldens
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=drop)
        if self.shift_size > 0:
            attn_mask = shifted_window_attn_mask(*self.input_resolution, self.window_size, self.shift_size)
        else:
            attn_mask = None
        self.register_buffer("attn_mask", attn_mask)  # None -> not in state_dict

    def _attn(self, x):  # x: B,H*W,C already normalised (v1) / raw (v2)
        H, W = self.input_resolution
        B, L, C = x.shape
        ws, s = self.window_size, self.shift_size
        x = x.view(B, H, W, C)
        if s > 0:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        xw = window_partition(x, ws).view(-1, ws * ws, C)
        aw = self.attn(xw, mask=self.attn_mask).view(-1, ws, ws, C)
        x = window_reverse(aw, ws, H, W)
        if s > 0:
            x = torch.roll(x, shifts=(s, s), dims=(1, 2))
        return x.view(B, H * W, C)

    def forward(self, x):
        H, W = self.input_resolution
        assert x.shape[1] == H * W
        shortcut = x
        x = shortcut + self.drop_path(self._attn(self.norm1(x)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class BasicLayer(nn.Module):
    def __init__(self, dim, input_resolution, depth, num_heads, window_size, mlp_ratio=4.0, qkv_bias=True,
                 qk_scale=None, drop=0.0, attn_drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm, downsample=None):
        super().__init__()
        self.dim, self.input_resolution, self.depth = dim, input_resolution, depth
        self.blocks = nn.ModuleList([
            SwinTransformerBlock(dim, input_resolution, num_heads, window_size,
                                 0 if (i % 2 == 0) else window_size // 2, mlp_ratio, qkv_bias, qk_scale, drop,
                                 attn_drop, drop_path[i] if isinstance(drop_path, list) else drop_path,
                                 norm_layer=norm_layer)
            for i in range(depth)])
        self.downsample = downsample(input_resolution, dim=dim, norm_layer=norm_layer) if downsample else None

    def forward_blocks(self, x):
        for blk in self.blocks:
            x = blk(x)
        return x

    def forward(self, x):
        x = self.forward_blocks(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return x


class SwinTransformer(nn.Module):
    block_layer = BasicLayer
    merge_layer = PatchMerging

    def __init__(self, img_size=224, patch_size=4, in_chans=3, num_classes=1000, embed_dim=96, depths=(2, 2, 6, 2),
                 num_heads=(3, 6, 12, 24), window_size=7, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, drop_rate=0.0,
                 attn_drop_rate=0.0, drop_path_rate=0.1, norm_layer=nn.LayerNorm, ape=False, patch_norm=True,
                 **layer_kwargs):
        super().__init__()
        self.num_classes = num_classes
        self.num_layers = len(depths)
        self.embed_dim = embed_dim
        self.ape, self.patch_norm = ape, patch_norm
        self.num_features = int(embed_dim * 2 ** (self.num_layers - 1))
        self.mlp_ratio = mlp_ratio
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim,
                                      norm_layer if self.patch_norm else None)
        pr = self.patch_embed.patches_resolution
        self.patches_resolution = pr
        if self.ape:
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches, embed_dim))
            trunc_normal_(self.absolute_pos_embed, std=0.02)
        self.pos_drop = nn.Dropout(p=drop_rate)
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
        self.layers = nn.ModuleList()
        for i in range(self.num_layers):
            self.layers.append(self.block_layer(
                dim=int(embed_dim * 2 ** i), input_resolution=(pr[0] // (2 ** i), pr[1] // (2 ** i)),
                depth=depths[i], num_heads=num_heads[i], window_size=window_size, mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias, drop=drop_rate, attn_drop=attn_drop_rate,
                drop_path=dpr[sum(depths[:i]):sum(depths[:i + 1])], norm_layer=norm_layer,
                downsample=self.merge_layer if (i < self.num_layers - 1) else None, **layer_kwargs))
        self.norm = norm_layer(self.num_features)
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)


class SimMIMSwinMixin:
    """SimMIM's SwinTransformer(V2)ForSimMIM: mask_token registered after super().__init__()."""

    def _add_mask_token(self):
        assert self.num_classes == 0
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.embed_dim))
        trunc_normal_(self.mask_token, mean=0.0, std=0.02)

    def forward(self, x, mask, return_stages=False, apply_mask=True):
        x = self.patch_embed(x)
        assert mask is not None
        B, L, _ = x.shape
        if apply_mask:
            mask_tokens = self.mask_token.expand(B, L, -1)
            w = mask.flatten(1).unsqueeze(-1).type_as(mask_tokens)
            x = x * (1.0 - w) + mask_tokens * w
        if self.ape:
            x = x + self.absolute_pos_embed
        x = self.pos_drop(x)
        stages = []
        for layer in self.layers:
            x = layer.forward_blocks(x)
            stages.append(x)
            if layer.downsample is not None:
                x = layer.downsample(x)
        x = self.norm(x)
        stages[-1] = x

        def to_map(t):
            t = t.transpose(1, 2)
            Bn, C, Ln = t.shape
            H = W = int(Ln ** 0.5)
            return t.reshape(Bn, C, H, W)

        out = to_map(x)
        if return_stages:
            return out, [to_map(s) for s in stages]
        return out


class SwinTransformerForSimMIM(SimMIMSwinMixin, SwinTransformer):
    def __init__(self, **kwargs):
        SwinTransformer.__init__(self, **kwargs)
        self._add_mask_token()

    forward = SimMIMSwinMixin.forward


# =====================================================================================
# Swin v2 (microsoft/Swin-Transformer models/swin_transformer_v2.py)
# =====================================================================================
class WindowAttentionV2(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True, attn_drop=0.0, proj_drop=0.0,
                 pretrained_window_size=(0, 0)):
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        self.pretrained_window_size = pretrained_window_size
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))), requires_grad=True)
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(512, num_heads, bias=False))
        rh = torch.arange(-(window_size[0] - 1), window_size[0], dtype=torch.float32)
        rw = torch.arange(-(window_size[1] - 1), window_size[1], dtype=torch.float32)
        table = torch.stack(torch.meshgrid([rh, rw], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
        if pretrained_window_size[0] > 0:
            table[:, :, :, 0] /= (pretrained_window_size[0] - 1)
            table[:, :, :, 1] /= (pretrained_window_size[1] - 1)
        else:
            table[:, :, :, 0] /= (window_size[0] - 1)
            table[:, :, :, 1] /= (window_size[1] - 1)
        table *= 8
        table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / math.log2(8)
        self.register_buffer("relative_coords_table", table)
        self.register_buffer("relative_position_index", relative_position_index_2d(window_size))
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = None
            self.v_bias = None
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv_bias = None
        if self.q_bias is not None:
            qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
        qkv = qkv.reshape(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        logit_scale = torch.clamp(self.logit_scale, max=torch.log(torch.tensor(1.0 / 0.01))).exp()
        attn = attn * logit_scale
        rpb_table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        rpb = rpb_table[self.relative_position_index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
        rpb = 16 * torch.sigmoid(rpb)
        attn = attn + rpb.unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, N, N)
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj_drop(self.proj(x))


class SwinTransformerBlockV2(SwinTransformerBlock):
    def __init__(self, dim, input_resolution, num_heads, window_size=7, shift_size=0, mlp_ratio=4.0,
                 qkv_bias=True, drop=0.0, attn_drop=0.0, drop_path=0.0, act_layer=nn.GELU,
                 norm_layer=nn.LayerNorm, pretrained_window_size=0):
        nn.Module.__init__(self)
        self.dim, self.input_resolution, self.num_heads = dim, input_resolution, num_heads
        self.window_size, self.shift_size, self.mlp_ratio = window_size, shift_size, mlp_ratio
        if min(self.input_resolution) <= self.window_size:
            self.shift_size = 0
            self.window_size = min(self.input_resolution)
        assert 0 <= self.shift_size < self.window_size
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttentionV2(dim, to_2tuple(self.window_size), num_heads, qkv_bias, attn_drop, drop,
                                      to_2tuple(pretrained_window_size))
        self.drop_path = Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=drop)
        if self.shift_size > 0:
            attn_mask = shifted_window_attn_mask(*self.input_resolution, self.window_size, self.shift_size)
        else:
            attn_mask = None
        self.register_buffer("attn_mask", attn_mask)

    def forward(self, x):  # post-norm
        shortcut = x
        x = shortcut + self.drop_path(self.norm1(self._attn(x)))
        x = x + self.drop_path(self.norm2(self.mlp(x)))
        return x


class BasicLayerV2(BasicLayer):
    def __init__(self, dim, input_resolution, depth, num_heads, window_size, mlp_ratio=4.0, qkv_bias=True,
                 drop=0.0, attn_drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm, downsample=None,
                 pretrained_window_size=0):
        nn.Module.__init__(self)
        self.dim, self.input_resolution, self.depth = dim, input_resolution, depth
        self.blocks = nn.ModuleList([
            SwinTransformerBlockV2(dim, input_resolution, num_heads, window_size,
                                   0 if (i % 2 == 0) else window_size // 2, mlp_ratio, qkv_bias, drop, attn_drop,
                                   drop_path[i] if isinstance(drop_path, list) else drop_path,
                                   norm_layer=norm_layer, pretrained_window_size=pretrained_window_size)
            for i in range(depth)])
        self.downsample = downsample(input_resolution, dim=dim, norm_layer=norm_layer) if downsample else None

    def _init_respostnorm(self):
        for blk in self.blocks:
            nn.init.constant_(blk.norm1.bias, 0)
            nn.init.constant_(blk.norm1.weight, 0)
            nn.init.constant_(blk.norm2.bias, 0)
            nn.init.constant_(blk.norm2.weight, 0)


class SwinTransformerV2(SwinTransformer):
    block_layer = BasicLayerV2
    merge_layer = PatchMergingV2

    def __init__(self, pretrained_window_sizes=(0, 0, 0, 0), **kwargs):
        # official code passes pretrained_window_sizes[i] to layer i; only all-zero is supported here
        assert all(w == 0 for w in pretrained_window_sizes)
        kwargs.pop("qk_scale", None)
        SwinTransformer.__init__(self, **kwargs)
        for bly in self.layers:
            bly._init_respostnorm()


class SwinTransformerV2ForSimMIM(SimMIMSwinMixin, SwinTransformerV2):
    def __init__(self, **kwargs):
        # pretrained_window_size is per layer in the official code; all zeros here
        SwinTransformerV2.__init__(self, **kwargs)
        self._add_mask_token()

    forward = SimMIMSwinMixin.forward


# =====================================================================================
# BEiT-style ViT (microsoft/SimMIM models/vision_transformer.py + simmim.py)
# =====================================================================================
class ViTAttention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False, qk_scale=None, attn_drop=0.0, proj_drop=0.0,
                 window_size=None, attn_head_dim=None):
        super().__init__()
        self.num_heads = num_heads
        head_dim = attn_head_dim if attn_head_dim is not None else dim // num_heads
        all_head_dim = head_dim * num_heads
        self.scale = qk_scale or head_dim ** -0.5
        self.qkv = nn.Linear(dim, all_head_dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(all_head_dim))
            self.v_bias = nn.Parameter(torch.zeros(all_head_dim))
        else:
            self.q_bias = None
            self.v_bias = None
        assert window_size is None, "per-block rel pos bias not used in the goldens"
        self.window_size = None
        self.relative_position_bias_table = None
        self.relative_position_index = None
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(all_head_dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x, rel_pos_bias=None):
        B, N, C = x.shape
        qkv_bias = None
        if self.q_bias is not None:
            qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
        qkv = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)
        if rel_pos_bias is not None:
            attn = attn + rel_pos_bias
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(B, N, -1)
        return self.proj_drop(self.proj(x))


class ViTBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=False, qk_scale=None, drop=0.0, attn_drop=0.0,
                 drop_path=0.0, init_values=None, act_layer=nn.GELU, norm_layer=nn.LayerNorm, window_size=None):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = ViTAttention(dim, num_heads, qkv_bias, qk_scale, attn_drop, drop, window_size)
        self.drop_path = Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=drop)
        if init_values is not None:
            self.gamma_1 = nn.Parameter(init_values * torch.ones((dim)), requires_grad=True)
            self.gamma_2 = nn.Parameter(init_values * torch.ones((dim)), requires_grad=True)
        else:
            self.gamma_1, self.gamma_2 = None, None

    def forward(self, x, rel_pos_bias=None):
        if self.gamma_1 is None:
            x = x + self.drop_path(self.attn(self.norm1(x), rel_pos_bias=rel_pos_bias))
            x = x + self.drop_path(self.mlp(self.norm2(x)))
        else:
            x = x + self.drop_path(self.gamma_1 * self.attn(self.norm1(x), rel_pos_bias=rel_pos_bias))
            x = x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))
        return x


class ViTPatchEmbed(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
        super().__init__()
        img_size, patch_size = to_2tuple(img_size), to_2tuple(patch_size)
        self.patch_shape = (img_size[0] // patch_size[0], img_size[1] // patch_size[1])
        self.num_patches = self.patch_shape[0] * self.patch_shape[1]
        self.img_size, self.patch_size = img_size, patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class RelativePositionBias(nn.Module):
    def __init__(self, window_size, num_heads):
        super().__init__()
        self.window_size = window_size
        self.num_relative_distance = (2 * window_size[0] - 1) * (2 * window_size[1] - 1) + 3
        self.relative_position_bias_table = nn.Parameter(torch.zeros(self.num_relative_distance, num_heads))
        n = window_size[0] * window_size[1] + 1
        idx = torch.zeros(size=(n, n), dtype=torch.int64)
        idx[1:, 1:] = relative_position_index_2d(window_size)
        idx[0, 0:] = self.num_relative_distance - 3
        idx[0:, 0] = self.num_relative_distance - 2
        idx[0, 0] = self.num_relative_distance - 1
        self.register_buffer("relative_position_index", idx)

    def forward(self):
        n = self.window_size[0] * self.window_size[1] + 1
        rpb = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        return rpb.permute(2, 0, 1).contiguous()


class VisionTransformer(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12,
                 num_heads=12, mlp_ratio=4.0, qkv_bias=False, qk_scale=None, drop_rate=0.0, attn_drop_rate=0.0,
                 drop_path_rate=0.0, norm_layer=nn.LayerNorm, init_values=None, use_abs_pos_emb=True,
                 use_rel_pos_bias=False, use_shared_rel_pos_bias=False, use_mean_pooling=True, init_scale=0.001):
        super().__init__()
        assert not use_rel_pos_bias
        self.num_classes = num_classes
        self.num_features = self.embed_dim = embed_dim
        self.patch_embed = ViTPatchEmbed(img_size, patch_size, in_chans, embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        if use_abs_pos_emb:
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim))
        else:
            self.pos_embed = None
        self.pos_drop = nn.Dropout(p=drop_rate)
        if use_shared_rel_pos_bias:
            self.rel_pos_bias = RelativePositionBias(self.patch_embed.patch_shape, num_heads)
        else:
            self.rel_pos_bias = None
        self.use_rel_pos_bias = use_rel_pos_bias
        self.blocks = nn.ModuleList([
            ViTBlock(embed_dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, 0.0,
                     init_values, norm_layer=norm_layer, window_size=None)
            for _ in range(depth)])
        self.norm = nn.Identity() if use_mean_pooling else norm_layer(embed_dim)
        self.fc_norm = norm_layer(embed_dim) if use_mean_pooling else None
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        if self.pos_embed is not None:
            self._trunc_normal_(self.pos_embed, std=0.02)
        self._trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init_weights)
        self.fix_init_weight()

    def _trunc_normal_(self, tensor, mean=0.0, std=1.0):
        trunc_normal_(tensor, mean=mean, std=std)

    def fix_init_weight(self):
        for layer_id, layer in enumerate(self.blocks):
            layer.attn.proj.weight.data.div_(math.sqrt(2.0 * (layer_id + 1)))
            layer.mlp.fc2.weight.data.div_(math.sqrt(2.0 * (layer_id + 1)))

    def _init_weights(self, m):
        # Through self._trunc_normal_, as microsoft/SimMIM models/vision_transformer.py VisionTransformer._init_weights,
        # so that the SimMIM subclass's override (cut at +-std) reaches every Linear and the patch-embedding Conv2d.
        if isinstance(m, nn.Linear):
            self._trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)
        elif isinstance(m, nn.Conv2d):
            self._trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)


class VisionTransformerForSimMIM(VisionTransformer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        assert self.num_classes == 0
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.embed_dim))
        self._trunc_normal_(self.mask_token, std=0.02)

    def _trunc_normal_(self, tensor, mean=0.0, std=1.0):
        # microsoft/SimMIM models/simmim.py VisionTransformerForSimMIM._trunc_normal_: cut at +-std, not +-2.
        trunc_normal_(tensor, mean=mean, std=std, a=-std, b=std)

    def forward(self, x, mask, apply_mask=True):
        x = self.patch_embed(x)
        B, L, _ = x.shape
        if apply_mask:
            mask_token = self.mask_token.expand(B, L, -1)
            w = mask.flatten(1).unsqueeze(-1).type_as(mask_token)
            x = x * (1 - w) + mask_token * w
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        x = self.pos_drop(x)
        rel_pos_bias = self.rel_pos_bias() if self.rel_pos_bias is not None else None
        for blk in self.blocks:
            x = blk(x, rel_pos_bias=rel_pos_bias)
        x = self.norm(x)
        x = x[:, 1:]
        B, L, C = x.shape
        H = W = int(L ** 0.5)
        return x.permute(0, 2, 1).reshape(B, C, H, W)


# =====================================================================================
# SG-MIM v1 (Depth_Encoder, Fusion_blk, decoders, losses) -- Ho1guma/SG-MIM models/sgmim.py (first commit 352a6f2)
# =====================================================================================
class Depth_Encoder(nn.Module):
    """PatchEmbed(1->C, 4x4/s4, LN) + 3 Swin v1 PatchMerging (C->2C->4C->8C)."""

    def __init__(self, img_size, patch_size, embed_dim, norm_layer=nn.LayerNorm):
        super().__init__()
        # official registration order: the three merges first, then depth_patch_embed
        R = img_size // patch_size
        self.patch_merging_1 = PatchMerging((R, R), embed_dim, norm_layer)
        self.patch_merging_2 = PatchMerging((R // 2, R // 2), 2 * embed_dim, norm_layer)
        self.patch_merging_3 = PatchMerging((R // 4, R // 4), 4 * embed_dim, norm_layer)
        self.depth_patch_embed = PatchEmbed(img_size, patch_size, 1, embed_dim, norm_layer)

    def forward(self, depth, mask):
        u = self.depth_patch_embed(depth)
        w = mask.flatten(1).unsqueeze(-1).type_as(u)  # 1 = image-masked -> depth visible
        u = u * w
        u = self.patch_merging_1(u)
        u = self.patch_merging_2(u)
        return self.patch_merging_3(u)


class CrossAttention(nn.Module):
    def __init__(self, dim, num_heads=8, qk_scale=None):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = qk_scale or head_dim ** -0.5
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, query, context):
        B, N, C = query.shape
        M = context.shape[1]
        h = self.num_heads
        q = self.q(query).reshape(B, N, h, C // h).permute(0, 2, 1, 3)
        k = self.k(context).reshape(B, M, h, C // h).permute(0, 2, 1, 3)
        v = self.v(context).reshape(B, M, h, C // h).permute(0, 2, 1, 3)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Fusion_blk(nn.Module):
    def __init__(self, dim, num_heads=8, mlp_ratio=4.0, norm_layer=nn.LayerNorm):
        super().__init__()
        # official registration order: cross_attn, context_norm, query_norm, out_norm, mlp
        # (official CrossAttention is always 8 heads; num_heads is exposed only for the small golden)
        self.cross_attn = CrossAttention(dim, num_heads)
        self.context_norm = norm_layer(dim)
        self.query_norm = norm_layer(dim)
        self.out_norm = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))  # official MlpDepth: fc1, act, drop1, fc2, drop2

    def forward(self, query, context):
        x = query + self.cross_attn(self.query_norm(query), self.context_norm(context))
        x = x + self.mlp(self.out_norm(x))
        return x


def standardize_depth(depth, trunc=0.1, eps=1e-6):
    """Truncated per-sample standardisation (MultiMAE / SG-MIM main_sgmim.py)."""
    out = torch.empty_like(depth)
    for i in range(depth.shape[0]):
        d = depth[i]
        s, _ = torch.sort(d.flatten())
        n = s.numel()
        t = s[int(trunc * n):int((1 - trunc) * n)]
        mu, var = t.mean(), t.var()  # unbiased
        out[i] = (d - mu) / torch.sqrt(var + eps)
    return out


class SGMIM(nn.Module):
    def __init__(self, encoder, encoder_stride, img_size, patch_size, fusion_heads=8):
        super().__init__()
        self.encoder = encoder
        self.encoder_stride = encoder_stride
        self.depth_encoder = Depth_Encoder(img_size, patch_size, encoder.embed_dim)
        self.fusion_blk_img = Fusion_blk(encoder.num_features, fusion_heads, 4.0)
        self.img_decoder = nn.Sequential(
            nn.Conv2d(encoder.num_features, encoder_stride ** 2 * 3, kernel_size=1), nn.PixelShuffle(encoder_stride))
        self.dep_decoder = nn.Sequential(
            nn.Conv2d(encoder.num_features, encoder_stride ** 2 * 1, kernel_size=1), nn.PixelShuffle(encoder_stride))
        self.in_chans = 3
        self.patch_size = patch_size

    def forward(self, x, depth_std, mask):
        z = self.encoder(x, mask)  # B,C,h,w (after final norm)
        B, C, h, w = z.shape
        zt = z.flatten(2).transpose(1, 2)
        c = self.depth_encoder(depth_std, mask)
        f = self.fusion_blk_img(zt, c)
        fmap = f.transpose(1, 2).reshape(B, C, h, w)
        x_rec = self.img_decoder(z)
        d_rec = self.dep_decoder(fmap)
        m = mask.repeat_interleave(self.patch_size, 1).repeat_interleave(self.patch_size, 2).unsqueeze(1)
        m = m.contiguous().type_as(x)
        loss_img = (F.l1_loss(x, x_rec, reduction="none") * m).sum() / (m.sum() + 1e-5) / self.in_chans
        ex = 1 - m
        loss_sk = (F.l1_loss(depth_std, d_rec, reduction="none") * ex).sum() / (ex.sum() + 1e-5)
        return dict(latent=z, depth_tokens=c, fused=fmap, image_pred=x_rec, depth_pred=d_rec,
                    loss_img=loss_img, loss_sk=loss_sk, loss=loss_img + loss_sk)


def simmim_mask(batch, input_size, mask_patch_size, model_patch_size, mask_ratio):
    rand_size = input_size // mask_patch_size
    scale = mask_patch_size // model_patch_size
    token_count = rand_size ** 2
    mask_count = int(math.ceil(token_count * mask_ratio))
    masks = []
    for _ in range(batch):
        idx = torch.randperm(token_count)[:mask_count]
        m = torch.zeros(token_count, dtype=torch.int64)
        m[idx] = 1
        m = m.view(rand_size, rand_size).repeat_interleave(scale, 0).repeat_interleave(scale, 1)
        masks.append(m)
    return torch.stack(masks)


# =====================================================================================
# Helpers
# =====================================================================================
def rerandomize(model):
    ln_w, ln_b = set(), set()
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            ln_w.add(id(m.weight))
            ln_b.add(id(m.bias))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if id(p) in ln_w:
                p.copy_(1 + 0.05 * torch.randn_like(p))
            elif name.endswith("logit_scale"):
                p.copy_(math.log(10) + 0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * 0.05)


def save_weights(model, path):
    torch.save({k: v for k, v in model.state_dict().items()}, path)


def save_io(d, path):
    torch.save({k: v.detach().contiguous() for k, v in d.items()}, path)


def swin_test_kwargs():
    return dict(img_size=64, patch_size=4, in_chans=3, num_classes=0, embed_dim=4, depths=[2, 2, 2, 2],
                num_heads=[1, 1, 2, 4], window_size=4, mlp_ratio=4.0, qkv_bias=True, drop_rate=0.0,
                drop_path_rate=0.0, ape=False, patch_norm=True)


def case_swin(out, v2=False):
    name = "swinv2_test" if v2 else "swin_test"
    torch.manual_seed(0)
    cls = SwinTransformerV2ForSimMIM if v2 else SwinTransformerForSimMIM
    model = cls(**swin_test_kwargs())
    rerandomize(model)
    model.eval()
    # structure checks
    wins = [[b.window_size for b in l.blocks] for l in model.layers]
    shifts = [[b.shift_size for b in l.blocks] for l in model.layers]
    assert wins == [[4, 4], [4, 4], [4, 4], [2, 2]], wins
    assert shifts == [[0, 2], [0, 2], [0, 0], [0, 0]], shifts
    x = torch.randn(2, 3, 64, 64)
    mask = torch.randint(0, 2, (2, 16, 16), dtype=torch.int64)
    with torch.no_grad():
        y, stages = model(x, mask, return_stages=True)
        y0 = model(x, mask, apply_mask=False)
        y0b = model(x, torch.zeros_like(mask))
    assert torch.allclose(y0, y0b, atol=1e-6)
    assert y.shape == (2, 32, 2, 2)
    io = dict(input=x, mask=mask, output=y, output_nomask=y0)
    for i, s in enumerate(stages):
        io["stage%d" % i] = s
    save_weights(model, os.path.join(out, name + "_weights.pth"))
    save_io(io, os.path.join(out, name + "_io.pth"))
    return model


def case_vit(out):
    torch.manual_seed(0)
    from functools import partial
    model = VisionTransformerForSimMIM(
        img_size=64, patch_size=16, in_chans=3, num_classes=0, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0,
        qkv_bias=True, drop_rate=0.0, drop_path_rate=0.0, norm_layer=partial(nn.LayerNorm, eps=1e-6),
        init_values=0.1, use_abs_pos_emb=False, use_rel_pos_bias=False, use_shared_rel_pos_bias=True,
        use_mean_pooling=False)
    rerandomize(model)
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    mask = torch.randint(0, 2, (2, 4, 4), dtype=torch.int64)
    with torch.no_grad():
        y = model(x, mask)
        y0 = model(x, mask, apply_mask=False)
    assert y.shape == (2, 32, 4, 4)
    save_weights(model, os.path.join(out, "vit_test_weights.pth"))
    save_io(dict(input=x, mask=mask, output=y, output_nomask=y0), os.path.join(out, "vit_test_io.pth"))


def case_sgmim(out):
    torch.manual_seed(0)
    enc = SwinTransformerForSimMIM(**swin_test_kwargs())
    model = SGMIM(enc, encoder_stride=32, img_size=64, patch_size=4, fusion_heads=8)
    rerandomize(model)
    model.eval()
    image = torch.randn(2, 3, 64, 64)
    depth = torch.rand(2, 1, 64, 64)
    mask = simmim_mask(2, 64, 32, 4, 0.6)
    assert mask.shape == (2, 16, 16) and int(mask.sum()) == 2 * 3 * 64
    depth_std = standardize_depth(depth)
    with torch.no_grad():
        r = model(image, depth_std, mask)
    assert r["image_pred"].shape == (2, 3, 64, 64) and r["depth_pred"].shape == (2, 1, 64, 64)
    sd = model.state_dict()
    assert not any(k.startswith("encoder.depth_patch_embed") for k in sd)
    save_weights(model, os.path.join(out, "sgmim_swin_test_weights.pth"))
    io = dict(image=image, depth=depth, mask=mask, depth_std=depth_std)
    io.update(r)
    save_io(io, os.path.join(out, "sgmim_swin_test_io.pth"))
    return r


def case_fusion(out):
    torch.manual_seed(0)
    model = Fusion_blk(8, 2, 4.0)
    rerandomize(model)
    model.eval()
    q = torch.randn(2, 5, 8)
    c = torch.randn(2, 3, 8)
    with torch.no_grad():
        y = model(q, c)
    save_weights(model, os.path.join(out, "fusion_small_weights.pth"))
    save_io(dict(query=q, context=c, output=y), os.path.join(out, "fusion_small_io.pth"))


def case_standardize(out):
    x = torch.arange(100, dtype=torch.float32).view(1, 1, 10, 10)
    y = standardize_depth(x)
    assert abs(y.flatten()[0].item() + 2.130141) < 1e-5, y.flatten()[0].item()
    assert abs(y.flatten()[-1].item() - 2.130141) < 1e-5, y.flatten()[-1].item()
    save_io(dict(input=x, output=y), os.path.join(out, "standardize_io.pth"))


def swin_base_keys(out):
    torch.manual_seed(0)
    model = SwinTransformerForSimMIM(
        img_size=192, patch_size=4, in_chans=3, num_classes=0, embed_dim=128, depths=[2, 2, 18, 2],
        num_heads=[4, 8, 16, 32], window_size=6, mlp_ratio=4.0, qkv_bias=True, drop_rate=0.0,
        drop_path_rate=0.0, ape=False, patch_norm=True)
    n = sum(p.numel() for name, p in model.named_parameters() if name != "mask_token")
    assert n == 86725176, n
    assert model.mask_token.numel() == 128
    lines = []
    for k, v in model.state_dict().items():
        shape = "x".join(str(s) for s in v.shape) if v.dim() > 0 else "scalar"
        lines.append("%s %s" % (k, shape))
    with open(os.path.join(out, "swin_base_encoder_keys.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return n, len(lines)


def verify(out):
    total = 0
    for fn in sorted(os.listdir(out)):
        p = os.path.join(out, fn)
        total += os.path.getsize(p)
        if not fn.endswith(".pth"):
            print("%-32s %8d B" % (fn, os.path.getsize(p)))
            continue
        d = torch.load(p)
        assert type(d) is dict, (fn, type(d))
        for k, v in d.items():
            assert isinstance(k, str) and isinstance(v, torch.Tensor), (fn, k)
        print("%-32s %8d B  %d tensors" % (fn, os.path.getsize(p), len(d)))
        if fn.endswith("_io.pth") or fn == "standardize_io.pth":
            for k, v in d.items():
                print("    %-14s %-12s %s" % (k, str(v.dtype).replace("torch.", ""), list(v.shape)))
    print("total size of %s: %d bytes (%.2f MB)" % (out, total, total / 2 ** 20))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/golden")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    n, nk = swin_base_keys(args.out)
    print("Swin-B SimMIM encoder: %d params (excl. mask_token), %d state_dict entries" % (n, nk))
    case_swin(args.out, v2=False)
    case_swin(args.out, v2=True)
    case_vit(args.out)
    r = case_sgmim(args.out)
    print("sgmim_swin_test: loss_img %.6f loss_sk %.6f loss %.6f" % (r["loss_img"], r["loss_sk"], r["loss"]))
    case_fusion(args.out)
    case_standardize(args.out)
    verify(args.out)


if __name__ == "__main__":
    main()
