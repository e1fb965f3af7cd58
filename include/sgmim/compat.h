// Version differences between Debian's LibTorch 1.13 (CPU) and LibTorch 2.x (CUDA) in one place:
// fused attention (SDPA), autocast names, zero_grad, c10::optional, the newer dtypes and a 1.13 oneDNN defect.
// See docs/platform.md §2. Never test TORCH_VERSION_PATCH (Debian reports 0).
#pragma once

#include <torch/version.h>

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/nn/module.h>

#include <optional>

#define SGMIM_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// The public scaled_dot_product_attention with an explicit `scale` argument exists from 2.1.
#if SGMIM_TORCH_AT_LEAST(2, 1)
#define SGMIM_HAS_FUSED_ATTENTION 1
#else
#define SGMIM_HAS_FUSED_ATTENTION 0
#endif

// The float8 dtypes (Float8_e5m2, Float8_e4m3fn) exist from 2.1; the wide unsigned ones (UInt16, UInt32, UInt64)
// from 2.3. The safetensors reader and writer (io/safetensors.h) map them when present.
#if SGMIM_TORCH_AT_LEAST(2, 1)
#define SGMIM_HAS_FLOAT8_DTYPES 1
#else
#define SGMIM_HAS_FLOAT8_DTYPES 0
#endif
#if SGMIM_TORCH_AT_LEAST(2, 3)
#define SGMIM_HAS_WIDE_UNSIGNED_DTYPES 1
#else
#define SGMIM_HAS_WIDE_UNSIGNED_DTYPES 0
#endif

namespace sgmim::compat {

/// True when this LibTorch offers the fused `scaled_dot_product_attention`.
constexpr bool has_fused_attention() { return SGMIM_HAS_FUSED_ATTENTION != 0; }

/// LibTorch 1.13's oneDNN (MKLDNN) path gives the emulated sparse knowledge branch non-reproducible, sometimes
/// non-finite gradients inside a full SG-MIM backward on the CPU; 2.x does not (docs/method.md §1.9 "Known issue").
/// Where true, training with that branch on the CPU switches MKLDNN off.
constexpr bool mkldnn_breaks_sparse_branch_gradients() { return !SGMIM_TORCH_AT_LEAST(2, 0); }

/// LibTorch 1.13's TCPStore client cannot talk to the agent store of a torch 2.x torchrun: it blocks in its
/// constructor past its own timeout (docs/distributed.md "Waiting and timeouts").
constexpr bool store_client_predates_torch2() { return !SGMIM_TORCH_AT_LEAST(2, 0); }
inline const char* libtorch_version() { return TORCH_VERSION; }

/// bf16 autocast on the CPU: LibTorch 2.x runs a whole Swin / ViT step under it (its CPU LayerNorm takes a bf16 input
/// with fp32 weights, its matmuls use the CPU's bf16 instructions); 1.13 does not, so train.precision = bf16 on the
/// CPU is an error there (docs/configs.md, train.precision).
constexpr bool has_cpu_bf16_autocast() { return SGMIM_TORCH_AT_LEAST(2, 0); }

/// ATen's fused AdamW for CPU tensors (Python's torch.optim.AdamW(fused=True) on the CPU; LibTorch >= 2.4): one
/// vectorised pass per parameter. engine::FusedAdamW takes it where it exists and its own loop otherwise.
constexpr bool has_cpu_fused_adamw() { return SGMIM_TORCH_AT_LEAST(2, 4); }

/// One AdamW step of ATen's fused kernel: `steps` holds each parameter's step count after this step (float scalars),
/// as torch/optim/adam.py _fused_adamw passes them. An error where has_cpu_fused_adamw() is false.
inline void fused_adamw(at::TensorList params, at::TensorList grads, at::TensorList exp_avgs,
                        at::TensorList exp_avg_sqs, at::TensorList steps, double lr, double beta1, double beta2,
                        double weight_decay, double eps) {
#if SGMIM_TORCH_AT_LEAST(2, 4)
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, lr, beta1, beta2, weight_decay, eps,
                    /*amsgrad=*/false, /*maximize=*/false);
#else
  (void)params; (void)grads; (void)exp_avgs; (void)exp_avg_sqs; (void)steps;
  (void)lr; (void)beta1; (void)beta2; (void)weight_decay; (void)eps;
  TORCH_CHECK(false, "ATen's fused AdamW needs LibTorch >= 2.4; this build has ", TORCH_VERSION);
#endif
}

/// Whether bf16 autocast can run on `device` with this LibTorch (CUDA always; the CPU with 2.x).
inline bool bf16_autocast_runs_on(const c10::Device& device) { return device.is_cuda() || has_cpu_bf16_autocast(); }

/// `c10::optional` is its own class in 1.13 and an alias of std::optional in 2.x.
template <typename T>
using optional = c10::optional<T>;

/// softmax(q·kᵀ·scale + bias)·v through the fused kernel. `bias` is additive and may be undefined.
/// Only valid when has_fused_attention(); callers fall back to the explicit path otherwise.
inline at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& bias, double scale) {
#if SGMIM_HAS_FUSED_ATTENTION
  c10::optional<at::Tensor> mask;
  if (bias.defined()) mask = bias.to(q.scalar_type());
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale);
#else
  (void)q; (void)k; (void)v; (void)bias; (void)scale;
  TORCH_CHECK(false, "fused attention needs LibTorch >= 2.1; this build has ", TORCH_VERSION);
#endif
}

/// Clears gradients so that they are undefined afterwards (valid in 1.13 and 2.x).
inline void zero_grad(torch::nn::Module& module) { module.zero_grad(/*set_to_none=*/true); }

/// RAII autocast region, mirroring Python's torch.autocast.__enter__/__exit__.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, c10::ScalarType dtype, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false;
  bool prev_enabled_ = false;
  c10::ScalarType prev_dtype_ = c10::ScalarType::Float;
};

inline AutocastGuard::AutocastGuard(c10::DeviceType device, c10::ScalarType dtype, bool enabled)
    : device_(device), active_(enabled) {
  if (!active_) return;
#if SGMIM_TORCH_AT_LEAST(2, 4)
  prev_enabled_ = at::autocast::is_autocast_enabled(device_);
  prev_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::set_autocast_dtype(device_, dtype);
#else
  if (device_ == c10::DeviceType::CUDA) {
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    prev_enabled_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
  at::autocast::increment_nesting();
}

inline AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if SGMIM_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device_, prev_enabled_);
  at::autocast::set_autocast_dtype(device_, prev_dtype_);
#else
  if (device_ == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
  } else {
    at::autocast::set_cpu_enabled(prev_enabled_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
  }
#endif
}

}  // namespace sgmim::compat
