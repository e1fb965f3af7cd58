// Resizing a pre-trained relative-position-bias table to a fine-tuning window (Swin v1) or patch grid (ViT), by one
// of the two upstream algorithms (docs/weights.md, "Resizing relative-position-bias tables"):
//  * geo (default): microsoft/SimMIM utils.py `remap_pretrained_keys_swin` / `remap_pretrained_keys_vit` and
//    MIM-Depth-Estimation `rpe_interpolation='geo'`: the source offsets are spread on a geometric progression and a
//    cubic interpolating spline through them (scipy `interp2d(kind='cubic')`) is read at the integer target offsets;
//    offsets 0 and ±1 keep their pre-trained values.
//  * bicubic: microsoft/Swin-Transformer utils.py `load_pretrained`: F.interpolate(bicubic, align_corners=False).
#pragma once

#include <torch/types.h>

#include <vector>

namespace sgmim::io {

enum class PositionBiasResize { geo, bicubic };

/// The side S of a square table of `rows` = S² rows, or −1 when `rows` is not a square.
int64_t square_table_side(int64_t rows);

/// The source offsets of the geo resampling of a (2w−1)-sided table (`src_size`) to a `dst_size`-sided one: −d_n..−d_1,
/// 0, d_1..d_n with d_k = 1 + q + … + q^(k−1), n = src_size/2, and q ∈ [1.01, 1.5] bisected (to 1e-6) so that d_n
/// reaches dst_size/2 (SimMIM's `geometric_progression` search, the last midpoint kept).
std::vector<double> geo_source_offsets(int64_t src_size, int64_t dst_size);

/// The linear map [queries.size(), nodes.size()] (float64) that takes values at `nodes` (increasing) to the cubic
/// interpolating spline with not-a-knot ends (FITPACK's s = 0 knots: every node but the 2nd and the second-to-last),
/// read at `queries` clamped to [nodes.front(), nodes.back()] (FITPACK `bispev` clamps). Fewer than 4 nodes: the
/// polynomial through them.
torch::Tensor cubic_spline_matrix(const std::vector<double>& nodes, const std::vector<double>& queries);

/// A Swin table [S², heads] → [S'², heads] (S, S' the sides 2w−1). `target_rows` must be a square; the identity (a
/// copy) when the size is unchanged.
torch::Tensor interpolate_relative_position_bias_table(const torch::Tensor& table, int64_t target_rows,
                                                       PositionBiasResize mode = PositionBiasResize::geo);

/// The BEiT/SimMIM ViT table [(2g−1)² + 3, heads] (3 cls rows last): the grid part resized as above, the cls rows kept.
torch::Tensor interpolate_vit_relative_position_bias_table(const torch::Tensor& table, int64_t target_rows,
                                                           PositionBiasResize mode = PositionBiasResize::geo);

}  // namespace sgmim::io
