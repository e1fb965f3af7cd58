"""Both weights formats round-trip through the real libraries and our reader/writer with identical bytes
(issue 10 §C, docs/weights.md).

Python writes one tensor of every dtype that torch.save and safetensors share (and a strided view, which torch.save
stores with its base storage) with torch.save (an OrderedDict) and with safetensors.torch.save_file. Our
`sgmim-convert convert` then reads each and writes the other format. torch.load and safetensors.torch.load_file must
read back tensors with the same dtype, shape and bytes, and our .safetensors must equal the reference library's
file (written with our metadata, {"format": "pt"}) byte for byte: same header, same data order.

usage: python weights_round_trip.py CONVERT_BIN WORK_DIR
"""
import collections
import filecmp
import os
import shutil
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout[-3000:]}")
    return p.stdout


def same(a, b):
    return (a.dtype == b.dtype and a.shape == b.shape and
            a.contiguous().view(-1).view(torch.uint8).equal(b.contiguous().view(-1).view(torch.uint8)))


def main():
    convert, work = sys.argv[1:3]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 8, generator=g)
    tensors = collections.OrderedDict()
    for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        tensors[f"w.{str(dtype)[6:]}"] = (torch.randn(3, 5, generator=g) * 100).to(dtype)
    for dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        tensors[f"i.{str(dtype)[6:]}"] = torch.randint(-100 if dtype != torch.uint8 else 0, 100, (4, 3),
                                                       generator=g).to(dtype)
    tensors["b.bool"] = torch.rand(7, generator=g) > 0.5
    tensors["s.scalar"] = torch.tensor(3.25)
    tensors["v.transposed_view"] = base.t()[1:5]
    tensors["v.base"] = base
    pth, st = os.path.join(work, "ref.pth"), os.path.join(work, "ref.safetensors")
    torch.save(tensors, pth)
    # Our writer records {"format": "pt"} as the file's metadata, as transformers' save_pretrained does; the library
    # given the same metadata must write the same bytes.
    save_file({k: v.contiguous() for k, v in tensors.items()}, st, metadata={"format": "pt"})

    ours_st, ours_pth, back_st = (os.path.join(work, f) for f in ("ours.safetensors", "ours.pth", "back.safetensors"))
    run([convert, "convert", pth, ours_st])       # torch.save -> ours -> safetensors
    run([convert, "convert", st, ours_pth])       # safetensors -> ours -> torch.save
    run([convert, "convert", ours_pth, back_st])  # ours -> ours
    failed = []
    for label, loaded in (("safetensors.load_file(ours from .pth)", load_file(ours_st)),
                          ("torch.load(ours from .safetensors)", torch.load(ours_pth)),
                          ("safetensors.load_file(ours from our .pth)", load_file(back_st))):
        if list(sorted(loaded)) != list(sorted(tensors)):
            failed.append(f"{label}: keys {sorted(loaded)}")
            continue
        failed += [f"{label}: {k}" for k, v in tensors.items() if not same(v, loaded[k])]
    if not filecmp.cmp(ours_st, st, shallow=False):
        failed.append("our .safetensors differs from safetensors.torch.save_file's bytes")
    if failed:
        sys.exit("FAIL: " + "; ".join(failed))
    print(f"round trip: {len(tensors)} tensors, identical bytes both ways; our .safetensors equals the library's")


if __name__ == "__main__":
    main()
