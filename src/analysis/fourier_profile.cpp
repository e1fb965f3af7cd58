#include "sgmim/analysis/fourier_profile.h"

#include "sgmim/error.h"

#include <torch/fft.h>
#include <torch/torch.h>

#include <vector>

namespace sgmim::analysis {
namespace {

void check_maps(const torch::Tensor& maps) {
  if (!maps.defined() || maps.dim() != 4 || maps.size(2) != maps.size(3) || maps.size(2) < 1)
    throw Error("Fourier profile: expected square feature maps [B, C, n, n], got " +
                (maps.defined() ? c10::str(maps.sizes()) : "an undefined tensor"));
}

// Sum over images and channels of the shifted log amplitude, [n, n] float64.
torch::Tensor shifted_log_amplitude_sum(const torch::Tensor& maps) {
  const auto n = maps.size(2);
  auto amplitude = torch::fft::fft2(maps.to(torch::kFloat64)).abs();
  auto log_amplitude = (amplitude + kAmplitudeFloor).log();
  // The reference's shift: roll by ⌊n/2⌋ on both axes, so frequency 0 lands at index ⌊n/2⌋.
  log_amplitude = torch::roll(log_amplitude, {n / 2, n / 2}, {2, 3});
  return log_amplitude.sum(std::vector<int64_t>{0, 1});
}

torch::Tensor half_diagonal_relative(const torch::Tensor& mean_log_amplitude) {
  const auto n = mean_log_amplitude.size(0);
  auto profile = mean_log_amplitude.diagonal().slice(0, n / 2).clone();
  return profile - profile[0];
}

}  // namespace

torch::Tensor relative_log_amplitude(const torch::Tensor& maps) {
  check_maps(maps);
  const auto count = maps.size(0) * maps.size(1);
  if (count == 0) throw Error("Fourier profile: no feature map (batch or channel count is 0)");
  return half_diagonal_relative(shifted_log_amplitude_sum(maps) / static_cast<double>(count));
}

void LogAmplitudeAccumulator::add(const torch::Tensor& maps) {
  check_maps(maps);
  torch::NoGradGuard no_grad;
  auto sum = shifted_log_amplitude_sum(maps.detach().cpu());
  if (sum_.defined() && !sum_.sizes().equals(sum.sizes()))
    throw Error(c10::str("Fourier profile: maps of ", maps.size(2), "x", maps.size(3), " added to an accumulator of ",
                         sum_.size(0), "x", sum_.size(1), " maps"));
  sum_ = sum_.defined() ? sum_ + sum : sum;
  count_ += maps.size(0) * maps.size(1);
}

torch::Tensor LogAmplitudeAccumulator::profile() const {
  if (count_ == 0) throw Error("Fourier profile: no feature map was added");
  return half_diagonal_relative(sum_ / static_cast<double>(count_));
}

}  // namespace sgmim::analysis
