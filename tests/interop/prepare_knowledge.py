"""sgmim-prepare-knowledge labels images with a real TorchScript model exported by this torch (issue 11 §A,
docs/knowledge.md), and its 16-bit maps equal what Python computes with the same network and preprocessing.

A small convolutional depth network with fixed (seeded) weights is exported twice: torch.jit.trace (output
[B,1,h,w], half resolution) and torch.jit.script (output [B,h,w]). Random RGB PNGs of assorted sizes form a MultiMAE
split root. Python then computes every map itself: PIL decode, torch.nn.functional.interpolate (bilinear,
align_corners=False) to the placement of the resize policy, (x - mean) / std, zero padding, the model on one image
at a time, the placement's share of the output resized back to the image, per-image min-max to round(65535 * x).
The PNGs the tool wrote may differ by one step of 16-bit quantisation (batched float32 convolutions and the
interpolation may round differently), never more; knowledge.json must record the model, kind and contract.

usage: python prepare_knowledge.py PREPARE_KNOWLEDGE_BIN WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SIZES = [(24, 32), (40, 20), (17, 29), (32, 32), (21, 13), (50, 61), (9, 40)]  # (height, width)
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
INPUT = (32, 48)  # height, width


class TinyDepth(torch.nn.Module):
    def __init__(self, squeeze):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 1, 3, padding=1)
        self.squeeze = squeeze

    def forward(self, x):
        y = F.softplus(self.conv2(torch.relu(self.conv1(x))))
        return y[:, 0] if self.squeeze else y


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout[-3000:]}")
    return p.stdout


def placement(policy, h, w):
    if policy == "resize":
        return INPUT
    s = min(INPUT[0] / h, INPUT[1] / w)
    return (min(max(int(np.floor(h * s + 0.5)), 1), INPUT[0]), min(max(int(np.floor(w * s + 0.5)), 1), INPUT[1]))


def expected_map(model, path, policy):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    h, w = rgb.shape[:2]
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    ph, pw = placement(policy, h, w)
    x = F.interpolate(x, size=(ph, pw), mode="bilinear", align_corners=False)
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    inp = torch.zeros(1, 3, *INPUT)
    inp[:, :, :ph, :pw] = x
    with torch.no_grad():
        out = model(inp)
    if out.dim() == 3:
        out = out[:, None]
    oh, ow = out.shape[-2:]
    rows = max(1, int(np.floor(ph * oh / INPUT[0] + 0.5)))
    cols = max(1, int(np.floor(pw * ow / INPUT[1] + 0.5)))
    back = F.interpolate(out[:, :, :rows, :cols], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    v = back.double().numpy()
    q = np.floor((v - v.min()) * (65535.0 / (v.max() - v.min())) + 0.5)  # half away from zero, as the tool
    return np.clip(q, 0, 65535).astype(np.int64)


def main():
    binary, work = sys.argv[1:3]
    shutil.rmtree(work, ignore_errors=True)
    rng = np.random.default_rng(0)
    images = []
    for i, (h, w) in enumerate(SIZES):
        klass = f"class{i % 3}"
        os.makedirs(os.path.join(work, "split", "rgb", klass), exist_ok=True)
        path = os.path.join(work, "split", "rgb", klass, f"im{i}.png")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        images.append((klass, f"im{i}", path))

    torch.manual_seed(0)
    traced_net, scripted_net = TinyDepth(False).eval(), TinyDepth(True).eval()
    scripted_net.load_state_dict(traced_net.state_dict())
    models = {
        "traced": torch.jit.trace(traced_net, torch.zeros(2, 3, *INPUT)),
        "scripted": torch.jit.script(scripted_net),
    }
    checked = 0
    for name, policy in (("traced", "keep-aspect-pad"), ("scripted", "resize")):
        model_file = os.path.join(work, f"{name}.pt")
        torch.jit.save(models[name], model_file)
        out = os.path.join(work, f"depth_{name}")
        run([binary, "--images", os.path.join(work, "split"), "--out", out, "--model", model_file,
             "--input-size", f"{INPUT[0]}x{INPUT[1]}", "--resize-policy", policy,
             "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)),
             "--output-kind", "disparity", "--batch-size", "3", "--workers", "2"])
        sidecar = json.load(open(os.path.join(out, "knowledge.json")))
        want = {"model": f"{name}.pt", "kind": "inverse_depth", "model_output": "disparity", "normalized": "minmax",
                "divisor": 65536.0, "images": len(SIZES), "model_bytes": os.path.getsize(model_file)}
        for key, value in want.items():
            if sidecar.get(key) != value:
                sys.exit(f"FAIL: {out}/knowledge.json: {key} = {sidecar.get(key)!r}, expected {value!r}")
        if sidecar["input"]["size"] != list(INPUT) or sidecar["input"]["resize"] != policy:
            sys.exit(f"FAIL: {out}/knowledge.json: input = {sidecar['input']}")
        for klass, stem, path in images:
            png = os.path.join(out, klass, stem + ".png")
            ours = np.asarray(Image.open(png)).astype(np.int64)
            want_map = expected_map(models[name], path, policy)
            if ours.shape != want_map.shape:
                sys.exit(f"FAIL: {png}: shape {ours.shape}, expected {want_map.shape}")
            diff = int(np.abs(ours - want_map).max())
            if diff > 1:
                sys.exit(f"FAIL: {png} ({name}, {policy}): max |ours - python| = {diff} steps of 1/65535")
            checked += 1
    print(f"OK: {checked} maps of a traced and a scripted model equal Python's within one 16-bit step")


if __name__ == "__main__":
    main()
