#!/usr/bin/python3
"""Reference values for resizing relative-position-bias tables (tests/io/position_bias_resize_test.cpp).

Two algorithms, written here from their upstream descriptions so that the C++ port has an independent oracle:
  * geo: microsoft/SimMIM utils.py `remap_pretrained_keys_swin` / `remap_pretrained_keys_vit` (also
    SwinTransformer/MIM-Depth-Estimation with `rpe_interpolation='geo'`): source offsets on a geometric progression
    whose ratio q is found by bisection, then scipy.interpolate.interp2d(kind='cubic') evaluated at the integer target
    offsets -t..t, t = dst_size // 2;
  * bicubic: microsoft/Swin-Transformer utils.py `load_pretrained`: torch.nn.functional.interpolate(mode='bicubic',
    align_corners=False) of the [heads, S, S] planes (needs python3-torch).

The input table is a closed form, so the C++ test rebuilds it:  table[r, h] = sin(0.37 r + 1.1 h) + 0.01 r.
For a ViT table the 3 cls rows (the last ones) are kept unchanged.

Needs Debian 12's scipy 1.10 (interp2d is gone from scipy >= 1.14):
    apt-get install -y python3-scipy python3-torch
    /usr/bin/python3 scripts/golden/rpb_resize_reference.py
It prints the C++ header tests/io/rpb_resize_reference_values.h.
"""

import math

import numpy as np
from scipy import interpolate


def table(rows, heads):
    r = np.arange(rows, dtype=np.float64)[:, None]
    h = np.arange(heads, dtype=np.float64)[None, :]
    return (np.sin(0.37 * r + 1.1 * h) + 0.01 * r).astype(np.float32)


def geo_resize(t, dst_rows):
    """[S*S, heads] -> [D*D, heads] as SimMIM's remap_pretrained_keys_swin (float32 input, float32 output)."""
    src_size = int(t.shape[0] ** 0.5)
    dst_size = int(dst_rows ** 0.5)
    if src_size == dst_size:
        return t.copy()

    def geometric_progression(a, r, n):
        return a * (1.0 - r ** n) / (1.0 - r)

    left, right = 1.01, 1.5
    while right - left > 1e-6:
        q = (left + right) / 2.0
        gp = geometric_progression(1, q, src_size // 2)
        if gp > dst_size // 2:
            right = q
        else:
            left = q
    dis = []
    cur = 1
    for i in range(src_size // 2):
        dis.append(cur)
        cur += q ** (i + 1)
    r_ids = [-_ for _ in reversed(dis)]
    x = r_ids + [0] + dis
    y = r_ids + [0] + dis
    t_ = dst_size // 2.0
    dx = np.arange(-t_, t_ + 0.1, 1.0)
    dy = np.arange(-t_, t_ + 0.1, 1.0)
    out = []
    for i in range(t.shape[1]):
        z = t[:, i].reshape(src_size, src_size).astype(np.float32)
        f = interpolate.interp2d(x, y, z, kind='cubic')
        out.append(np.asarray(f(dx, dy), dtype=np.float32).reshape(-1, 1))
    return np.concatenate(out, axis=1), q, x


def bicubic_resize(t, dst_rows):
    import torch
    import torch.nn.functional as F
    src = int(t.shape[0] ** 0.5)
    dst = int(dst_rows ** 0.5)
    planes = torch.from_numpy(t).permute(1, 0).reshape(1, t.shape[1], src, src)
    out = F.interpolate(planes, size=(dst, dst), mode='bicubic', align_corners=False)
    return out.reshape(t.shape[1], dst * dst).permute(1, 0).contiguous().numpy()


def cxx_list(values):
    return "{" + ", ".join("%.8g" % v for v in values) + "}"


def sample(out, dst_size):
    """Head 0: the row of offset dy = 0, the row dy = -t (the first) and the main diagonal; the sum of every head."""
    centre = dst_size // 2
    grid = out[:, 0].reshape(dst_size, dst_size)
    return grid[centre, :], grid[0, :], np.diag(grid), out.astype(np.float64).sum(axis=0)


def main():
    cases = [
        # name, src side (2w-1), dst side, heads, vit
        ("swin_w6_to_w22", 11, 43, 2, False),   # SimMIM Swin-B 192 (window 6) -> MIM-Depth KITTI window 22
        ("swin_w6_to_w11", 11, 21, 2, False),   # ... its last stage, window 11
        ("swin_w6_to_w7", 11, 13, 2, False),    # -> ADE20K upernet window 7
        ("swin_w12_to_w7", 23, 13, 2, False),   # a shrink (window 12 -> 7)
        ("vit_g14_to_g22", 27, 43, 2, True),    # SimMIM ViT-B 224 (grid 14) -> KITTI 352 (grid 22)
        ("swin_w4_to_w8", 7, 15, 1, False),     # swin_test (window 4) -> window 8 (tests/io/encoder_transfer_test)
        ("vit_g4_to_g22", 7, 43, 2, True),      # vit_test (64 px, grid 4) -> KITTI 352 (grid 22)
    ]
    print("// Reference values of resized relative-position-bias tables, for tests/io/*. Generated, do not edit:")
    print("//   /usr/bin/python3 scripts/golden/rpb_resize_reference.py > tests/io/rpb_resize_reference_values.h")
    print("// Input: table[r, h] = sin(0.37 r + 1.1 h) + 0.01 r (a ViT table's 3 cls rows last). Head 0 samples.")
    print("#pragma once")
    print("")
    print("#include <cstdint>")
    print("#include <vector>")
    print("")
    print("namespace sgmim::test {")
    print("")
    print("struct RpbResizeReference {")
    print("  const char* name;")
    print("  int64_t src_side, dst_side, heads;")
    print("  bool vit;")
    print("  std::vector<double> geo_centre_row, geo_first_row, geo_diagonal, geo_sums, bicubic_centre_row, bicubic_sums;")
    print("};")
    print("")
    print("// clang-format off")
    print("inline const std::vector<RpbResizeReference>& rpb_resize_references() {")
    print("  static const std::vector<RpbResizeReference> cases{")
    for name, src, dst, heads, vit in cases:
        rows = src * src + (3 if vit else 0)
        t = table(rows, heads)
        grid_part = t[:src * src] if vit else t
        out, q, x = geo_resize(grid_part, dst * dst)
        print("// %s: q = %.9f, source offsets %s" % (name, q, ", ".join("%.6f" % v for v in x)))
        c, first, diag, sums = sample(out, dst)
        b = bicubic_resize(grid_part, dst * dst)
        bc, _, _, bsums = sample(b, dst)
        print('{"%s", %d, %d, %d, %s,' % (name, src, dst, heads, "true" if vit else "false"))
        for v in (c, first, diag, sums, bc):
            print(" %s," % cxx_list(v))
        print(" %s}," % cxx_list(bsums))
    print("  };")
    print("  return cases;")
    print("}")
    print("// clang-format on")
    print("")
    print("}  // namespace sgmim::test")


if __name__ == "__main__":
    main()
