#!/usr/bin/env python3
"""Writes the data-loading benchmark fixture (docs/benchmarks.md, "Data loading against torchvision"): COUNT JPEGs of
500×375 cut from real photographs, each with a 16-bit single-channel PNG knowledge map, in the MultiMAE layout that
sgmim's loader reads (data/knowledge_dataset.h): <dest>/rgb/<photo>/<stem>.jpg and <dest>/depth/<photo>/<stem>.png.

Each variant is a random 4:3 crop (25–100 % of the largest 4:3 box, random position, flipped half the time) of one of
the source photographs, resized to 500×375 with Lanczos and saved at JPEG quality 90. The map is a smooth pseudo
inverse depth with the statistics of the DPT maps MultiMAE ships (smooth, full 16-bit range): a 0.6/0.4 blend of the
heavily smoothed luminance and a vertical ramp, stretched to 0…65535. Deterministic for a given --seed.

Usage: python make_loader_fixture.py DEST PHOTO [PHOTO ...] [--count 300] [--seed 0]
"""
import argparse
import os
import random

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 500, 375


def variant(photo, rng):
    w, h = photo.size
    box_w, box_h = (w, round(w * 3 / 4)) if w * 3 / 4 <= h else (round(h * 4 / 3), h)
    f = rng.uniform(0.25, 1.0) ** 0.5
    cw, ch = max(64, round(box_w * f)), max(48, round(box_h * f))
    left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = photo.crop((left, top, left + cw, top + ch)).resize((WIDTH, HEIGHT), Image.LANCZOS)
    return out.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else out


def knowledge_map(image):
    gray = image.convert("F")
    smooth = np.asarray(gray.resize((20, 15), Image.BILINEAR).resize((WIDTH, HEIGHT), Image.BICUBIC), np.float64)
    ramp = np.linspace(0.0, 1.0, HEIGHT)[:, None] * np.ones((1, WIDTH))
    m = 0.6 * (smooth - smooth.min()) / max(np.ptp(smooth), 1e-6) + 0.4 * ramp
    m = (m - m.min()) / max(np.ptp(m), 1e-6)
    return np.round(m * 65535.0).astype(np.uint16)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest")
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    photos = [(os.path.splitext(os.path.basename(p))[0], Image.open(p).convert("RGB")) for p in sorted(args.photos)]
    for k in range(args.count):
        name, photo = photos[k % len(photos)]
        image = variant(photo, rng)
        for sub in ("rgb", "depth"):
            os.makedirs(os.path.join(args.dest, sub, name), exist_ok=True)
        stem = f"{name}_{k:04d}"
        image.save(os.path.join(args.dest, "rgb", name, stem + ".jpg"), quality=90)
        Image.fromarray(knowledge_map(image)).save(os.path.join(args.dest, "depth", name, stem + ".png"))
    print(f"make_loader_fixture: {args.count} images of {WIDTH}x{HEIGHT} from {len(photos)} photographs -> {args.dest}")


if __name__ == "__main__":
    main()
