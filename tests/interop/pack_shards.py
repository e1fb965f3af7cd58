"""The `webdataset` package reads sgmim-pack's shards (issue 23, docs/datasets.md §12.2) and yields, per
sample, the key and the exact bytes of each member, in torchvision ImageFolder order.

A MultiMAE split is written with PIL: JPEGs in three classes, a PNG named .JPEG (as ImageNet has), a stem with dots,
16-bit PNG maps (one 8-bit), knowledge.json, and one truncated JPEG that sgmim-pack must leave out and report. It is
packed twice, --knowledge-encoding npy and png, three samples per shard. webdataset.WebDataset (no decoding, no
shuffling) then iterates the shard list of the index in brace notation and, for every sample, the __key__ must be
<class>/<stem with '.' as %2E>, the order torchvision.datasets.ImageFolder's (less the bad file), .jpg/.png the
SHA-256 of the source image, .cls the class index, .depth.png the SHA-256 of the source map, and .depth.npy
(numpy.load) the map's values (an 8-bit map's v as 256·v, the same value / 65536).

usage: python pack_shards.py PACK_BIN WORK_DIR
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import webdataset as wds
from PIL import Image

CLASSES = ["n01", "n02", "n03"]


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout[-3000:]}")
    return p.stdout


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write_split(root, rng):
    """The tree; returns the truncated image's path."""
    for k, klass in enumerate(CLASSES):
        os.makedirs(os.path.join(root, "rgb", klass), exist_ok=True)
        os.makedirs(os.path.join(root, "depth", klass), exist_ok=True)
        for i in range(4):
            stem = f"{klass}_{i}" if (k, i) != (1, 2) else f"{klass}_{i}.v2"
            h, w = 24 + 4 * i, 32 + 6 * k
            rgb = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            fmt = "PNG" if (k, i) == (0, 1) else "JPEG"  # a PNG named .JPEG
            rgb.save(os.path.join(root, "rgb", klass, stem + ".JPEG"), format=fmt)
            if (k, i) == (2, 0):  # an 8-bit map
                depth = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))
            else:
                depth = Image.fromarray(rng.integers(0, 65536, (h, w), dtype=np.uint16))
            depth.save(os.path.join(root, "depth", klass, stem + ".png"))
    with open(os.path.join(root, "depth", "knowledge.json"), "w") as f:
        json.dump({"kind": "inverse_depth"}, f)
    bad = os.path.join(root, "rgb", "n03", "n03_3.JPEG")
    data = open(bad, "rb").read()
    open(bad, "wb").write(data[: len(data) // 2])
    return bad


def expected_samples(root, bad):
    """(key, image, map, class) in torchvision ImageFolder order, the bad file left out."""
    from torchvision.datasets import ImageFolder

    folder = ImageFolder(os.path.join(root, "rgb"), loader=lambda p: p)
    samples = []
    for path, target in folder.samples:
        if path == bad:
            continue
        klass = os.path.basename(os.path.dirname(path))
        stem = os.path.splitext(os.path.basename(path))[0]
        key = klass + "/" + stem.replace("%", "%25").replace(".", "%2E")
        samples.append((key, path, os.path.join(root, "depth", klass, stem + ".png"), target))
    return samples, folder.classes


def check(out, encoding, expected, classes):
    index = json.load(open(os.path.join(out, "train.index.json")))
    assert index["classes"] == classes, index["classes"]
    assert index["knowledge"] == {"encoding": encoding, "kind": "inverse_depth"}, index["knowledge"]
    files = [s["file"] for s in index["shards"]]
    assert files == [f"train-{j:06d}.tar" for j in range(len(files))], files
    assert sum(s["samples"] for s in index["shards"]) == len(expected)
    urls = os.path.join(out, f"train-{{000000..{len(files) - 1:06d}}}.tar")
    dataset = wds.WebDataset(urls, shardshuffle=False)
    got = list(dataset)
    assert [s["__key__"] for s in got] == [e[0] for e in expected], [s["__key__"] for s in got]
    for sample, (key, image, depth, target) in zip(got, expected):
        source = open(image, "rb").read()
        kind = "png" if source.startswith(b"\x89PNG") else "jpg"
        map_member = "depth." + encoding
        assert set(sample) - {"__key__", "__url__", "__local_path__"} == {kind, map_member, "cls"}, (key, set(sample))
        assert sha(sample[kind]) == sha(source), key
        assert sample["cls"] == str(target).encode(), (key, sample["cls"])
        if encoding == "png":
            assert sha(sample[map_member]) == sha(open(depth, "rb").read()), key
        else:
            values = np.load(io.BytesIO(sample[map_member]))
            source_map = np.array(Image.open(depth))
            want = source_map.astype(np.uint16) * (256 if source_map.dtype == np.uint8 else 1)
            assert values.dtype == np.dtype("<u2") and values.shape == want.shape, (key, values.dtype, values.shape)
            assert np.array_equal(values, want), key
    return len(got), len(files)


def main():
    binary, work = sys.argv[1:3]
    shutil.rmtree(work, ignore_errors=True)
    root = os.path.join(work, "split")
    bad = write_split(root, np.random.default_rng(0))
    expected, classes = expected_samples(root, bad)
    for encoding in ("npy", "png"):
        out = os.path.join(work, "shards-" + encoding)
        log = run([binary, "--images", root, "--out", out, "--knowledge-encoding", encoding, "--shard-samples", "3"])
        report = open(os.path.join(out, "train.bad.txt")).read()
        assert report.startswith(bad + "\t") and report.count("\n") == 1, report
        samples, shards = check(out, encoding, expected, classes)
        print(f"{encoding}: webdataset read {samples} samples from {shards} shards with the source bytes; "
              f"the bad file was reported ({log.strip().splitlines()[-2]})")
    print("OK")


if __name__ == "__main__":
    main()
