#!/usr/bin/python3
"""Golden reference of five SimMIM pre-training steps (Swin v1 `swin_test`, float64, CPU).

Re-implements, from reading (no upstream code copied), microsoft/SimMIM (d3e29bc) with timm 0.4.12's scheduler:
  * models/simmim.py       SimMIM: encoder (SwinTransformerForSimMIM, the mask token blended in after the patch
                           embedding), decoder = Conv2d 1x1 (num_features -> encoder_stride**2 * 3, 32 for Swin) +
                           PixelShuffle(encoder_stride); the L1 on masked pixels
                           (|x - x_rec| * mask).sum() / (mask.sum() + 1e-5) / in_chans with the mask as SimMIM's loader
                           delivers it: int64 (MaskGenerator's np.zeros(dtype=int), default_collate). Hence
                           `mask.sum() + 1e-5` is an int64 tensor plus a Python float, i.e. a float32 tensor (torch's
                           default dtype), in which the 1e-5 is lost once the count exceeds about 80 pixels; the
                           float64 numerator is then divided by that float32 count.
                           SimMIM.no_weight_decay() / no_weight_decay_keywords(): the encoder's sets, prefixed with
                           `encoder.`: {'encoder.absolute_pos_embed', 'encoder.mask_token'} and
                           {'encoder.relative_position_bias_table'} (SwinTransformer.no_weight_decay{,_keywords} and
                           SwinTransformerForSimMIM.no_weight_decay adding 'mask_token').
  * optimizer.py           build_pretrain_optimizer / get_pretrain_param_groups / check_keywords_in_name: no decay for
                           1-D parameters, names ending in `.bias`, names in the skip set, names containing a keyword.
                           The keyword is 'encoder.relative_position_bias_table', which no parameter name contains
                           (they read `encoder.layers.i.blocks.j.attn.relative_position_bias_table`), so the
                           relative-position-bias tables ARE decayed; the mask token is exempt only through the skip
                           set. Two groups: [decayed (the optimiser's weight_decay), {'weight_decay': 0.}];
                           torch.optim.AdamW(lr=BASE_LR, eps, betas, weight_decay) (here foreach=False).
  * lr_scheduler.py        build_scheduler, cosine: timm CosineLRScheduler(t_initial = EPOCHS * n_iter,
                           t_mul 1, lr_min = MIN_LR, warmup_lr_init = WARMUP_LR, warmup_t = WARMUP_EPOCHS * n_iter,
                           cycle_limit 1, t_in_epochs False).
  * timm 0.4.12            scheduler/scheduler.py Scheduler (base values = the groups' initial lr; step_update(n) sets
                           the rate of point n) and scheduler/cosine_lr.py CosineLRScheduler (the constructor sets
                           every group to warmup_lr_init when warmup_t > 0; lr(t) = warmup_lr_init + t * (base -
                           warmup_lr_init) / warmup_t for t < warmup_t, else lr_min + (base - lr_min) / 2 *
                           (1 + cos(pi * t / t_initial)) (warmup_prefix False: t is not shifted), lr_min from t_initial).
  * main_simmim.py         the linear scaling (BASE_LR, WARMUP_LR, MIN_LR * DATA.BATCH_SIZE * world_size / 512;
                           accumulation off) and train_one_epoch without accumulation: model.train(),
                           optimizer.zero_grad() at the epoch start, then per batch: loss = model(img, mask),
                           optimizer.zero_grad(), loss.backward(), grad_norm = clip_grad_norm_(model.parameters(),
                           CLIP_GRAD), optimizer.step(), lr_scheduler.step_update(epoch * num_steps + idx).
                           So step 0 runs at warmup_lr_init (the constructor) and step g >= 1 at lr(g - 1): with one
                           step per epoch the rates are lr(0), lr(0), lr(1), lr(2), lr(3).
The Swin encoder is make_golden.py's SwinTransformerForSimMIM (official key names; SimMIM's window rule: a stage not
larger than the window shrinks it and does not shift).

Files (torch.save of plain dicts of tensors; our key names: sgmim::models::Pretrainer, method simmim, `encoder.*` as
SimMIM's and `img_decoder.0.*` for SimMIM's `decoder.0.*`):
  five_steps_pretrain_weights.pth  the initial state dict, float64 (plus the int64 `relative_position_index` and the
                                   shifted blocks' `attn_mask` buffers, as SimMIM's state dict has them)
  five_steps_pretrain_io.pth       `image` float32 [2,3,64,64] (normalised values), `knowledge` float32 [2,1,64,64]
                                   (unused by SimMIM), `image_mask` int64 [2,16,16] (1 = masked), `knowledge_mask`
                                   = 1 - image_mask, `lr` [5] (the rate each step ran at), `loss` [5] (before each
                                   step), `grad_norm` [5] (the total L2 norm before clipping), `step5.<key>` (every
                                   parameter after step 5), `group_weight_decay.<key>` (0-dim float64 per parameter)
Rerun (a few seconds; Debian's python with torch when it has torch, else the torch 2.x venv):
    /usr/bin/python3 scripts/golden/five_steps_pretrain.py --out tests/golden
    ~/.cache/sgmim/torch2-venv/bin/python scripts/golden/five_steps_pretrain.py --out tests/golden
"""

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from five_steps_depth import golden_output_folder, make_adamw  # noqa: E402  torch.optim.AdamW, single-tensor path
from make_golden import SwinTransformerForSimMIM, rerandomize, save_io, swin_test_kwargs  # noqa: E402

# ------------------------------------------------------------------------------------------------------------------
# The tiny configuration (our PretrainConfig key in brackets; SimMIM's in capitals)
# ------------------------------------------------------------------------------------------------------------------
IMG = 64                  # [data.img_size] DATA.IMG_SIZE
BATCH = 2                 # [train.total_batch_size] DATA.BATCH_SIZE x 1 process; the dataset has 2 samples
MASK_PATCH = 32           # [model.mask_patch_size] DATA.MASK_PATCH_SIZE
MASK_RATIO = 0.6          # [model.mask_ratio] DATA.MASK_RATIO
MODEL_PATCH = 4           # the Swin patch size (MODEL.SWIN.PATCH_SIZE)
ENCODER_STRIDE = 32       # SimMIM build_simmim: 32 for Swin
TRAIN = dict(epochs=5,              # [train.epochs] TRAIN.EPOCHS
             warmup_epochs=2,       # [train.warmup_epochs] TRAIN.WARMUP_EPOCHS
             base_lr=0.256,         # [train.base_lr] TRAIN.BASE_LR   -> x 2 / 512 = 1e-3
             warmup_lr=0.00256,     # [train.warmup_lr] TRAIN.WARMUP_LR -> 1e-5
             min_lr=0.0256,         # [train.min_lr] TRAIN.MIN_LR     -> 1e-4
             weight_decay=0.05,     # [train.weight_decay] TRAIN.WEIGHT_DECAY
             clip_grad=0.08,        # [train.clip_grad] TRAIN.CLIP_GRAD: active in steps 0-2, not in 3-4
             betas=(0.9, 0.999),    # [train.betas] TRAIN.OPTIMIZER.BETAS
             eps=1e-8,              # [train.eps] TRAIN.OPTIMIZER.EPS
             world_size=1,
             iters_per_epoch=1)     # len(data_loader): 2 samples, batch 2, drop_last
SCALE_BASE = 512.0                  # [train.base_batch_size] main_simmim.py's divisor


def scaled_rates():
    """main_simmim.py: each rate * DATA.BATCH_SIZE * world_size / 512.0 (ACCUMULATION_STEPS 0: no extra factor)."""
    t = TRAIN
    return tuple(v * BATCH * t["world_size"] / SCALE_BASE for v in (t["base_lr"], t["warmup_lr"], t["min_lr"]))


# ------------------------------------------------------------------------------------------------------------------
# SimMIM models/simmim.py (Swin encoder)
# ------------------------------------------------------------------------------------------------------------------
def swin_no_weight_decay(encoder):
    """SwinTransformer.no_weight_decay() | {'mask_token'} (SwinTransformerForSimMIM)."""
    return {"absolute_pos_embed"} | {"mask_token"}


def swin_no_weight_decay_keywords(encoder):
    """SwinTransformer.no_weight_decay_keywords()."""
    return {"relative_position_bias_table"}


class SimMIM(nn.Module):
    """SimMIM: encoder -> 1x1 conv -> PixelShuffle; L1 on the masked pixels (see the module docstring for the
    denominator). `float_denominator` (self-check only) makes the mask the input's dtype first, so that the
    denominator is computed in float64 (what sgmim's masked_l1_loss does under train.precision fp64)."""

    def __init__(self, encoder, encoder_stride, in_chans, patch_size, float_denominator=False):
        super().__init__()
        self.encoder = encoder
        self.encoder_stride = encoder_stride
        self.decoder = nn.Sequential(
            nn.Conv2d(encoder.num_features, encoder_stride ** 2 * 3, kernel_size=1),
            nn.PixelShuffle(encoder_stride))
        self.in_chans = in_chans
        self.patch_size = patch_size
        self.float_denominator = float_denominator

    def forward(self, x, mask):
        z = self.encoder(x, mask)
        x_rec = self.decoder(z)
        m = mask.repeat_interleave(self.patch_size, 1).repeat_interleave(self.patch_size, 2).unsqueeze(1).contiguous()
        if self.float_denominator:
            m = m.to(x.dtype)
        l1 = F.l1_loss(x, x_rec, reduction="none")
        return (l1 * m).sum() / (m.sum() + 1e-5) / self.in_chans

    def no_weight_decay(self):
        return {"encoder." + n for n in swin_no_weight_decay(self.encoder)}

    def no_weight_decay_keywords(self):
        return {"encoder." + n for n in swin_no_weight_decay_keywords(self.encoder)}


def build_model(float_denominator=False):
    kw = swin_test_kwargs()
    enc = SwinTransformerForSimMIM(**kw)
    return SimMIM(enc, ENCODER_STRIDE, kw["in_chans"], kw["patch_size"], float_denominator).double()


def ours(key):
    """SimMIM key -> sgmim::models::Pretrainer key: the SimMIM head `decoder.*` is our `img_decoder.*`."""
    return "img_decoder." + key[len("decoder."):] if key.startswith("decoder.") else key


# ------------------------------------------------------------------------------------------------------------------
# SimMIM optimizer.py, lr_scheduler.py (timm 0.4.12 CosineLRScheduler)
# ------------------------------------------------------------------------------------------------------------------
def pretrain_param_groups(model, flip_decay=()):
    """get_pretrain_param_groups with the model's skip list and keywords. `flip_decay` (self-checks only) moves the
    named parameters to the other group. Returns the two groups and {name: decayed?}."""
    skip = model.no_weight_decay()
    keywords = model.no_weight_decay_keywords()
    decay, no_decay, decayed = [], [], {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        exempt = (len(p.shape) == 1 or name.endswith(".bias") or name in skip
                  or any(k in name for k in keywords))
        if name in flip_decay:
            exempt = not exempt
        (no_decay if exempt else decay).append(p)
        decayed[name] = not exempt
    return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], decayed


class CosineWarmup:
    """timm 0.4.12 Scheduler + CosineLRScheduler as SimMIM builds it (t_mul 1, decay_rate 1, warmup_prefix False,
    cycle_limit 1, no noise, t_in_epochs False), driven by step_update."""

    def __init__(self, optimizer, t_initial, lr_min, warmup_lr_init, warmup_t):
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_values = [g["initial_lr"] for g in optimizer.param_groups]
        self.t_initial, self.lr_min = t_initial, lr_min
        self.warmup_lr_init, self.warmup_t = warmup_lr_init, warmup_t
        self._set([v for v in self.base_values])
        if warmup_t:
            self.warmup_steps = [(v - warmup_lr_init) / warmup_t for v in self.base_values]
            self._set([warmup_lr_init] * len(self.base_values))
        else:
            self.warmup_steps = [1 for _ in self.base_values]

    def _set(self, values):
        for g, v in zip(self.optimizer.param_groups, values):
            g["lr"] = v

    def lr(self, t):
        if t < self.warmup_t:
            return [self.warmup_lr_init + t * s for s in self.warmup_steps]
        cycle = t // self.t_initial
        t_curr = t - self.t_initial * cycle
        if cycle < 1:  # cycle_limit 1
            return [self.lr_min + 0.5 * (v - self.lr_min) * (1 + math.cos(math.pi * t_curr / self.t_initial))
                    for v in self.base_values]
        return [self.lr_min for _ in self.base_values]

    def step_update(self, num_updates):
        self._set(self.lr(num_updates))


# ------------------------------------------------------------------------------------------------------------------
# Data, training
# ------------------------------------------------------------------------------------------------------------------
def mask_generator(generator):
    """MaskGenerator.__call__ (SimMIM data/data_simmim.py) with a torch generator in place of np.random:
    a permutation of the rand_size**2 mask patches, the first ceil(count * ratio) masked, each repeated to
    scale x scale model patches. int64."""
    rand_size = IMG // MASK_PATCH
    scale = MASK_PATCH // MODEL_PATCH
    count = rand_size ** 2
    n_masked = int(math.ceil(count * MASK_RATIO))
    m = torch.zeros(count, dtype=torch.int64)
    m[torch.randperm(count, generator=generator)[:n_masked]] = 1
    return m.view(rand_size, rand_size).repeat_interleave(scale, 0).repeat_interleave(scale, 1)


def make_batch():
    g = torch.Generator().manual_seed(1)
    image = torch.randn(BATCH, 3, IMG, IMG, generator=g, dtype=torch.float32)
    knowledge = 0.05 + 0.9 * torch.rand(BATCH, 1, IMG, IMG, generator=g, dtype=torch.float32)  # inside (0, 1)
    gm = torch.Generator().manual_seed(4)  # (seed 2 happens to draw the same mask twice)
    image_mask = torch.stack([mask_generator(gm) for _ in range(BATCH)])
    return image, knowledge, image_mask, 1 - image_mask


def train(init_sd, image, image_mask, lr_offset=0, flip_decay=(), clip=True, float_denominator=False):
    """main_simmim.py main() (optimizer, scheduler) and train_one_epoch for TRAIN['epochs'] epochs of one batch.
    `lr_offset` (self-check only) calls step_update(u + lr_offset), so +1 runs step t at lr(t)."""
    t = TRAIN
    base_lr, warmup_lr, min_lr = scaled_rates()
    model = build_model(float_denominator)
    model.load_state_dict(init_sd)
    groups, decayed = pretrain_param_groups(model, flip_decay)
    opt = make_adamw(groups, base_lr, t["betas"], t["eps"], t["weight_decay"])
    n_iter = t["iters_per_epoch"]
    sched = CosineWarmup(opt, t_initial=int(t["epochs"] * n_iter), lr_min=min_lr, warmup_lr_init=warmup_lr,
                         warmup_t=int(t["warmup_epochs"] * n_iter))
    x = image.to(torch.float64)
    rates, losses, norms = [], [], []
    for epoch in range(t["epochs"]):
        model.train()
        opt.zero_grad()
        for idx in range(n_iter):
            loss = model(x, image_mask)
            opt.zero_grad()
            loss.backward()
            if clip:
                grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), t["clip_grad"]))
            else:  # utils.get_grad_norm: the norm only
                grad_norm = sum(float(p.grad.norm(2)) ** 2 for p in model.parameters() if p.grad is not None) ** 0.5
            lr = opt.param_groups[0]["lr"]
            assert all(g["lr"] == lr for g in opt.param_groups)
            opt.step()
            sched.step_update(epoch * n_iter + idx + lr_offset)
            rates.append(lr)
            losses.append(loss.item())
            norms.append(grad_norm)
            if len(rates) == 1:
                state1 = {k: v.detach().clone() for k, v in model.state_dict().items()}
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return dict(rates=rates, losses=losses, norms=norms, state=state, state1=state1, decayed=decayed)


def ours_rates():
    """sgmim's rule (engine/lr_schedule.h LrSchedule::at at ScheduleClock::point, timing after_step; the scaled
    rates of pretrainer_from_config.cpp to_lr_schedule with config::lr_scale = total batch / base_batch_size):
    step 0 at lr(0), step g >= 1 at lr(g - 1), warm-up as warmup + t * (base - warmup) / W (in that order)."""
    t = TRAIN
    scale = float(BATCH) / SCALE_BASE
    base, warm, low = t["base_lr"] * scale, t["warmup_lr"] * scale, t["min_lr"] * scale
    W, T = t["warmup_epochs"], t["epochs"]

    def at(p):
        if p < W:
            return warm + float(p) * (base - warm) / float(W)
        if p >= T:
            return low
        return low + 0.5 * (base - low) * (1.0 + math.cos(math.acos(-1.0) * float(p) / float(T)))

    return [at(0 if g == 0 else g - 1) for g in range(T)]


def max_diff(a, b):
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())


def timm_cross_check(rates):
    """The installed timm (any version with CosineLRScheduler), driven as SimMIM drives it; None when absent."""
    try:
        import timm
        from timm.scheduler.cosine_lr import CosineLRScheduler
    except Exception:  # noqa: BLE001 - optional
        return None
    base_lr, warmup_lr, min_lr = scaled_rates()
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=base_lr)
    kw = dict(t_initial=TRAIN["epochs"], lr_min=min_lr, warmup_lr_init=warmup_lr, warmup_t=TRAIN["warmup_epochs"],
              cycle_limit=1, t_in_epochs=False)
    # t_mul (0.4.x) is cycle_mul in later versions; 1 either way, which is the default of both
    s = CosineLRScheduler(opt, **kw)
    got = []
    for u in range(TRAIN["epochs"]):
        got.append(opt.param_groups[0]["lr"])
        s.step_update(u)
    return timm.__version__, got == rates, got


# ------------------------------------------------------------------------------------------------------------------
def main():
    out = golden_output_folder()

    torch.manual_seed(0)
    model = build_model()
    rerandomize(model)  # LayerNorm weights 1 + 0.05 N, every other parameter 0.05 N ...
    with torch.no_grad():  # ... but the mask token at the scale of the (layer-normed) tokens it replaces
        model.encoder.mask_token.copy_(torch.randn_like(model.encoder.mask_token))
    init_sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    image, knowledge, image_mask, knowledge_mask = make_batch()

    # structure: SimMIM's window rule, 2x2 mask patches of 8x8 tokens, 3 of 4 masked per sample
    enc = model.encoder
    assert [[b.window_size for b in l.blocks] for l in enc.layers] == [[4, 4], [4, 4], [4, 4], [2, 2]]
    assert [[b.shift_size for b in l.blocks] for l in enc.layers] == [[0, 2], [0, 2], [0, 0], [0, 0]]
    assert image_mask.shape == (BATCH, 16, 16) and image_mask.dtype == torch.int64
    assert [int(m.sum()) for m in image_mask] == [3 * 64] * BATCH and not torch.equal(image_mask[0], image_mask[1])

    ref = train(init_sd, image, image_mask)
    base_lr, warmup_lr, min_lr = scaled_rates()
    T, W = TRAIN["epochs"], TRAIN["warmup_epochs"]
    cos = [min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * p / T)) for p in range(T)]
    expect = [warmup_lr, warmup_lr, warmup_lr + (base_lr - warmup_lr) / W, cos[2], cos[3]]
    assert ref["rates"] == expect, (ref["rates"], expect)
    assert all(math.isfinite(v) for v in ref["losses"] + ref["norms"])

    # --- self-checks -------------------------------------------------------------------------------------------
    checks = []
    again = train(init_sd, image, image_mask)
    d = max_diff(ref["state"], again["state"])
    assert d == 0.0 and again["losses"] == ref["losses"] and again["norms"] == ref["norms"], "not deterministic"
    checks.append(("rerun (determinism)", d))
    s = train(init_sd, image, image_mask, lr_offset=1)
    assert s["rates"] == [warmup_lr, warmup_lr + (base_lr - warmup_lr) / W, cos[2], cos[3], cos[4]], s["rates"]
    d = max_diff(ref["state"], s["state"])
    checks.append(("LR timing shifted: step t at lr(t)", d))
    assert d > 1e-6, checks[-1]
    for name in ("encoder.mask_token", "encoder.layers.1.blocks.1.attn.relative_position_bias_table",
                 "decoder.0.weight", "encoder.layers.2.downsample.reduction.weight", "encoder.norm.weight"):
        s = train(init_sd, image, image_mask, flip_decay=(name,))
        d = max_diff(ref["state"], s["state"])
        checks.append(("weight-decay group of %s flipped" % name, d))
        assert d > 1e-6, checks[-1]
    clipped = sum(n > TRAIN["clip_grad"] for n in ref["norms"])
    assert 2 <= clipped < T, ("clipping must be active in at least two steps (and not all)", ref["norms"])
    s = train(init_sd, image, image_mask, clip=False)
    assert abs(s["norms"][0] - ref["norms"][0]) < 1e-12 * ref["norms"][0]
    checks.append(("(info) no gradient clipping", max_diff(ref["state"], s["state"])))
    s = train(init_sd, image, image_mask, float_denominator=True)
    checks.append(("(info) float64 loss denominator: max |loss diff| %.3e, rel %.3e; max |grad-norm diff| %.3e; "
                   "step-5 weights" % (max(abs(a - b) for a, b in zip(s["losses"], ref["losses"])),
                                       max(abs(a - b) / abs(b) for a, b in zip(s["losses"], ref["losses"])),
                                       max(abs(a - b) for a, b in zip(s["norms"], ref["norms"]))),
                   max_diff(ref["state"], s["state"])))
    # every parameter moves in the first step (by about its rate, 1e-5: AdamW's first step is lr * sign(g))
    unchanged = [k for k, _ in model.named_parameters()
                 if (ref["state1"][k] - init_sd[k]).abs().max().item() < 1e-7]
    assert not unchanged, unchanged

    # --- files -------------------------------------------------------------------------------------------------
    weights = {ours(k): v.contiguous() for k, v in init_sd.items()}
    assert all(v.dtype in (torch.float64, torch.int64) for v in weights.values())
    wpath = os.path.join(out, "five_steps_pretrain_weights.pth")
    torch.save(weights, wpath)
    io = dict(image=image, knowledge=knowledge, image_mask=image_mask, knowledge_mask=knowledge_mask,
              lr=torch.tensor(ref["rates"], dtype=torch.float64),
              loss=torch.tensor(ref["losses"], dtype=torch.float64),
              grad_norm=torch.tensor(ref["norms"], dtype=torch.float64))
    params = {k for k, _ in model.named_parameters()}
    for key, v in ref["state"].items():
        if key in params:
            io["step5." + ours(key)] = v
    for key, dec in ref["decayed"].items():
        io["group_weight_decay." + ours(key)] = torch.tensor(TRAIN["weight_decay"] if dec else 0.0,
                                                             dtype=torch.float64)
    iopath = os.path.join(out, "five_steps_pretrain_io.pth")
    save_io(io, iopath)

    # --- report ------------------------------------------------------------------------------------------------
    print("config: base_lr %r warmup_lr %r min_lr %r (x %d / %g) -> scaled %r %r %r"
          % (TRAIN["base_lr"], TRAIN["warmup_lr"], TRAIN["min_lr"], BATCH, SCALE_BASE, base_lr, warmup_lr, min_lr))
    mine = ours_rates()
    print("sgmim's after_step rates equal SimMIM's bit for bit: %s" % (mine == ref["rates"]))
    tc = timm_cross_check(ref["rates"])
    print("timm cross-check: %s" % ("skipped (no timm)" if tc is None else "timm %s equal=%s" % (tc[0], tc[1])))
    for i, (lr, loss, n) in enumerate(zip(ref["rates"], ref["losses"], ref["norms"])):
        print("  step %d: lr %.17g  loss %.17g  grad_norm %.17g%s"
              % (i, lr, loss, n, "  (clipped)" if n > TRAIN["clip_grad"] else ""))
    no_decay = sorted(ours(k) for k, d in ref["decayed"].items() if not d)
    decay = sorted(ours(k) for k, d in ref["decayed"].items() if d)
    print("  decayed %d params, e.g. %s; not decayed %d, 2-D+ among them: %s"
          % (len(decay), [k for k in decay if "relative_position_bias_table" in k][:1] + decay[:1], len(no_decay),
             [k for k in no_decay if init_sd[k.replace("img_decoder.", "decoder.")].dim() > 1]))
    print("self-checks (max |diff| of the step-5 state):")
    for name, d in checks:
        print("  %-100s %.3e" % (name, d))
    for p in (wpath, iopath):
        print("%-36s %8d B  %d tensors" % (os.path.basename(p), os.path.getsize(p), len(torch.load(p))))


if __name__ == "__main__":
    main()
