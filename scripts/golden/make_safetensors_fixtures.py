#!/usr/bin/env python3
"""Writes tests/fixtures/safetensors/every_dtype.safetensors for tests/io/safetensors_test.cpp, built by hand with
struct and json from the format's definition (huggingface/safetensors README "Format"), since the `safetensors`
package is not in Debian:

  8 bytes: N, the header length, unsigned little-endian
  N bytes: a JSON object {name: {"dtype", "shape", "data_offsets": [begin, end]}} with an optional "__metadata__"
           {str: str}, compact, padded with spaces to a multiple of 8 (as the reference writer does)
  rest:    the tensors' bytes, little-endian, row-major, offsets relative to the end of the header

The tensor order is the reference writer's (huggingface/safetensors safetensors/src/tensor.rs `prepare`): by dtype in
the order of DTYPE_ORDER below (larger items first), then by name. The values are computed here by torch and
serialised by numpy's tobytes(), independently of the C++. With the `safetensors` package (the 2.x lane's venv),
`safetensors.torch.save(tensors, metadata)` gives the same bytes.

Run with Debian's torch 1.13:  /usr/bin/python3 scripts/golden/make_safetensors_fixtures.py tests/fixtures/safetensors
"""
import json
import os
import struct
import sys

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

r = torch.arange(6, dtype=torch.float64).reshape(2, 3)
halves = (r - 2) * 0.5  # -1, -0.5, 0, 0.5, 1, 1.5: exact in every float type
tensors = [  # (name, safetensors dtype, tensor); the C++ test builds the same list in the same order
    ("u8", "U8", (r * 50).to(torch.uint8)),
    ("bool", "BOOL", (torch.arange(6).reshape(2, 3) % 2) == 0),
    ("f16", "F16", halves.to(torch.float16)),
    ("f32", "F32", halves.to(torch.float32)),
    ("i8", "I8", ((r - 3) * 37).to(torch.int8)),
    ("bf16", "BF16", halves.to(torch.bfloat16)),
    ("f64", "F64", halves),
    ("i16", "I16", ((r - 3) * 1001).to(torch.int16)),
    ("i32", "I32", ((r - 3) * 100003).to(torch.int32)),
    ("i64", "I64", (torch.arange(6, dtype=torch.int64).reshape(2, 3) - 3) * 1000000000007),
    ("scalar", "F32", torch.tensor(2.5, dtype=torch.float32)),
    ("empty", "F32", torch.zeros(0, 4, dtype=torch.float32)),
]


def raw(t):
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: its bit patterns as int16
        t = t.view(torch.int16)
    return t.contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


DTYPE_ORDER = ["U64", "I64", "F64", "F32", "U32", "I32", "BF16", "F16", "U16", "I16", "F8_E4M3", "F8_E5M2", "I8", "U8",
               "BOOL"]
ordered = sorted(tensors, key=lambda e: (DTYPE_ORDER.index(e[1]), e[0]))
header = {"__metadata__": {"format": "pt", "written_by": "make_safetensors_fixtures.py"}}
data = b""
for name, dtype, t in ordered:
    b = raw(t)
    header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(b)]}
    data += b
text = json.dumps(header, separators=(",", ":")).encode("utf-8")
text += b" " * ((8 - len(text) % 8) % 8)
with open(os.path.join(out, "every_dtype.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
print(len(text), len(data), [e[0] for e in ordered])
