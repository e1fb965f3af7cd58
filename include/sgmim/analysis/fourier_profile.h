// The relative log amplitude of Fourier-transformed feature maps (docs/analysis.md), as the SG-MIM paper's Figure 3
// and its source, Park & Kim, "How do vision transformers work?" (ICLR 2022; xxxnell/how-do-vits-work,
// fourier_analysis.ipynb) define it: 2-D FFT of every channel, log of the amplitude (+1e-6), shifted so that the zero
// frequency sits at the centre, averaged over images and channels, then read along the half-diagonal from the centre
// and taken relative to the zero frequency.
#pragma once

#include <torch/types.h>

namespace sgmim::analysis {

/// Floor added to every amplitude before the logarithm (the reference's `f.abs() + 1e-6`).
inline constexpr double kAmplitudeFloor = 1e-6;

/// maps [B, C, n, n] (square; any floating dtype, computed in float64) → the profile [n - n/2] (float64):
/// entry k = mean_{b,c} log(|F(k,k)| + 1e-6) − mean_{b,c} log(|F(0,0)| + 1e-6), k = 0 … n−1−⌊n/2⌋, so entry 0 is 0
/// and the last entry is the "ΔLog amplitude" of the highest diagonal frequency the half-diagonal reaches (2π·k/n per
/// axis; for even n the Nyquist frequency π itself lies on the other half and is not included, as in the reference).
/// Throws sgmim::Error for a map that is not 4-D and square.
torch::Tensor relative_log_amplitude(const torch::Tensor& maps);

/// Accumulates the mean log amplitude over several batches of maps of the same shape, so that a profile over many
/// images needs one batch in memory at a time. profile() equals relative_log_amplitude() of all batches at once.
class LogAmplitudeAccumulator {
 public:
  void add(const torch::Tensor& maps);
  int64_t count() const { return count_; }  ///< maps (images × channels) seen
  /// Throws sgmim::Error when nothing was added.
  torch::Tensor profile() const;

 private:
  torch::Tensor sum_;  // [n, n] sum of shifted log amplitudes, float64
  int64_t count_ = 0;
};

}  // namespace sgmim::analysis
