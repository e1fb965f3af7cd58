#!/usr/bin/env python3
"""How much of the synthetic knowledge map is explained by cues the image shows directly? (docs/experiments.md §4)

Reads an ImageFolder + MultiMAE knowledge tree (rgb/<class>/<name>.JPEG, depth/<class>/<name>.png) as the transfer
experiment generates it, and reports over all pixels of all images:
  - R² of a least-squares fit of the knowledge value on the pixel's row (the ground-plane prior), on its RGB colour,
    and on both (with per-feature quadratic terms);
  - the Pearson correlation between the image's and the knowledge map's gradient magnitudes (do their edges
    coincide?).
Needs numpy and Pillow (the torch 2.x venv of scripts/setup-torch2.sh has both).
Usage: knowledge_structure.py <data/pretrain folder> [max images]
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def gradient_magnitude(a):
    gy, gx = np.gradient(a.astype(np.float64))
    return np.hypot(gx, gy)


def r2(features, target):
    x = np.concatenate([features, np.ones((features.shape[0], 1))], axis=1)
    coef, *_ = np.linalg.lstsq(x, target, rcond=None)
    residual = target - x @ coef
    return 1.0 - residual.var() / target.var()


def main():
    root = Path(sys.argv[1])
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    images = sorted((root / "rgb").glob("*/*.JPEG"))[:limit]
    if not images:
        sys.exit(f"knowledge_structure: no rgb/<class>/*.JPEG under {root}")
    rows, colours, values, edge_corr = [], [], [], []
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
        k_path = root / "depth" / path.parent.name / (path.stem + ".png")
        k = np.asarray(Image.open(k_path), dtype=np.float64)
        k = (k - k.min()) / max(k.max() - k.min(), 1e-9)
        h, w = k.shape
        rows.append(np.repeat(np.arange(h, dtype=np.float64) / (h - 1), w))
        colours.append(rgb.reshape(-1, 3))
        values.append(k.reshape(-1))
        gi, gk = gradient_magnitude(rgb.mean(axis=2)).ravel(), gradient_magnitude(k).ravel()
        if gi.std() > 0 and gk.std() > 0:
            edge_corr.append(np.corrcoef(gi, gk)[0, 1])
    row = np.concatenate(rows)[:, None]
    rgb = np.concatenate(colours)
    k = np.concatenate(values)
    feats_row = np.concatenate([row, row**2], axis=1)
    feats_rgb = np.concatenate([rgb, rgb**2], axis=1)
    print(f"images: {len(images)} from {root}")
    print(f"R2 of the knowledge on the row (quadratic):          {r2(feats_row, k):.3f}")
    print(f"R2 of the knowledge on the RGB colour (quadratic):   {r2(feats_rgb, k):.3f}")
    print(f"R2 of the knowledge on row and colour:               {r2(np.concatenate([feats_row, feats_rgb], 1), k):.3f}")
    print(f"edge correlation |grad image| vs |grad knowledge|:   {np.mean(edge_corr):.3f} "
          f"(± {np.std(edge_corr):.3f} over images)")


if __name__ == "__main__":
    main()
