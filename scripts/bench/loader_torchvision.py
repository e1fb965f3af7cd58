#!/usr/bin/env python3
"""The torchvision/PIL counterpart of `sgmim-bench loader` (src/bench/loader_benchmark.cpp): the same work per sample
over the same MultiMAE-layout tree (<root>/rgb/<class>/<stem>.jpg + <root>/depth/<class>/<stem>.png), timed the same
way, printed as the same JSON fields.

Per sample, as sgmim's pipeline (docs/method.md §1.2; data/joint_transform.h): PIL decode of the JPEG to RGB, PIL decode
of the 16-bit PNG map read as value / 65536 (MultiMAE), one RandomResizedCrop box (torchvision's get_params, scale
[0.67, 1], ratio [3/4, 4/3]) applied to both, bilinear antialiased resize to size² (PIL for the image, the tensor path
for the float map), one horizontal flip (p = 0.5) of both, to_tensor + ImageNet normalisation of the image; batches
collated by DataLoader's default_collate. Masks are not drawn (sgmim-bench loader draws none either).

Configurations: --workers 0 runs in the main process with torch.set_num_threads(1) (one thread); N > 0 uses N worker
processes (DataLoader sets one torch thread in each), persistent, so process start-up is paid before timing. Each run
is one epoch (shuffled, drop_last) whose first --warmup batches are untimed.

Usage: python loader_torchvision.py --root FIXTURE [--workers 0,2] [--batch 32] [--images 0] [--repeats 3] [--json]
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.transforms import InterpolationMode, RandomResizedCrop

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageKnowledgeFolder(torch.utils.data.Dataset):
    """ImageFolder over <root>/rgb, each image paired with <root>/depth/<class>/<stem>.png."""

    def __init__(self, root, size, scale=(0.67, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), hflip=0.5):
        self.folder = torchvision.datasets.ImageFolder(os.path.join(root, "rgb"))
        self.rgb_root = os.path.join(root, "rgb")
        self.depth_root = os.path.join(root, "depth")
        self.size, self.scale, self.ratio, self.hflip = size, scale, ratio, hflip

    def __len__(self):
        return len(self.folder.samples)

    def map_path(self, image_path):
        relative = os.path.relpath(image_path, self.rgb_root)
        return os.path.join(self.depth_root, os.path.splitext(relative)[0] + ".png")

    def __getitem__(self, index):
        path, _ = self.folder.samples[index]
        with open(path, "rb") as f:
            image = Image.open(f).convert("RGB")
        with open(self.map_path(path), "rb") as f:
            raw = np.array(Image.open(f))  # mode I;16 (or I) → uint16 / int32 values
        if raw.ndim != 2:
            raise ValueError(f"{self.map_path(path)}: expected a single-channel 16-bit map")
        knowledge = torch.from_numpy(raw.astype(np.float32) / 65536.0).unsqueeze(0)  # [1, H, W]
        i, j, h, w = RandomResizedCrop.get_params(image, self.scale, self.ratio)
        out = [self.size, self.size]
        image = TF.resized_crop(image, i, j, h, w, out, InterpolationMode.BILINEAR, antialias=True)
        knowledge = TF.resized_crop(knowledge, i, j, h, w, out, InterpolationMode.BILINEAR, antialias=True)
        if torch.rand(1).item() < self.hflip:
            image = TF.hflip(image)
            knowledge = TF.hflip(knowledge)
        image = TF.normalize(TF.to_tensor(image), IMAGENET_MEAN, IMAGENET_STD)
        return image, knowledge


def time_run(loader, warmup, batches):
    iterator = iter(loader)
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    elapsed = time.perf_counter() - start
    del iterator
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="fixture root holding rgb/ and depth/")
    parser.add_argument("--workers", default="0", help="comma-separated worker counts, one configuration each")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--images", type=int, default=0, help="timed images per run; 0: one epoch less the warm-up")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration, interleaved; median counts")
    parser.add_argument("--warmup", type=int, default=1, help="untimed batches at the start of each run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(1)  # the main process: one thread (workers get one each from DataLoader)
    torch.manual_seed(args.seed)
    dataset = ImageKnowledgeFolder(args.root, args.size)
    workers = [int(w) for w in args.workers.split(",")]
    per_epoch = len(dataset) // args.batch
    batches = -(-args.images // args.batch) if args.images > 0 else per_epoch - args.warmup
    if batches < 1 or batches > per_epoch - args.warmup:
        sys.exit(f"loader_torchvision: --images {args.images}: at most {(per_epoch - args.warmup) * args.batch}")
    loaders = [
        torch.utils.data.DataLoader(dataset, batch_size=args.batch, shuffle=True, drop_last=True, num_workers=w,
                                    persistent_workers=w > 0, prefetch_factor=2 if w > 0 else None)
        for w in workers
    ]
    for loader in loaders:  # start the persistent workers (and touch the files) before timing
        time_run(loader, 0, 1)
    seconds = [[] for _ in workers]
    for _ in range(args.repeats):
        for c, loader in enumerate(loaders):
            seconds[c].append(time_run(loader, args.warmup, batches))
    images = batches * args.batch
    configs = []
    for w, s in zip(workers, seconds):
        median = statistics.median(s)
        configs.append({"workers": w, "median_s": median, "min_s": min(s), "max_s": max(s), "run_seconds": s,
                        "images_per_s": images / median})
    result = {"pipeline": "torchvision", "root": args.root, "dataset_images": len(dataset), "images": images,
              "batch": args.batch, "size": args.size, "threads_per_worker": 1, "repeats": args.repeats,
              "configs": configs, "torch": torch.__version__, "torchvision": torchvision.__version__,
              "pillow": Image.__version__}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"torchvision {torchvision.__version__} (torch {torch.__version__}, Pillow {Image.__version__})  "
              f"{args.root}  {len(dataset)} images  batch {args.batch}  size {args.size}  "
              f"{images} timed images x {args.repeats} runs")
        for c in configs:
            print(f"workers {c['workers']}  median {c['median_s']:.3f} s  min {c['min_s']:.3f} s  "
                  f"max {c['max_s']:.3f} s  {c['images_per_s']:.1f} img/s")


if __name__ == "__main__":
    main()
