#include "sgmim/distributed/process_group.h"

#include "sgmim/compat.h"
#include "sgmim/distributed/rendezvous_watch.h"
#include "sgmim/error.h"
#include "sgmim/log.h"
#include "sgmim/text.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

// LibTorch 2.x: Gloo and NCCL derive from c10d::Backend; in 1.13 they are c10d::ProcessGroups themselves.
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

// Gloo needs its own headers (libgloo-dev on Debian); pip wheels may not ship them. src/distributed/sources.cmake
// sets SGMIM_WITH_GLOO when they were found; the __has_include checks keep a wrong guess a soft failure.
#if defined(SGMIM_WITH_GLOO) && defined(USE_C10D_GLOO) && \
    __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>) && __has_include(<gloo/algorithm.h>)
#define SGMIM_HAS_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#else
#define SGMIM_HAS_GLOO 0
#endif

// NCCL only in CUDA builds with nccl.h on the include path (SGMIM_WITH_NCCL, sources.cmake).
#if defined(SGMIM_WITH_CUDA) && defined(SGMIM_WITH_NCCL) && defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define SGMIM_HAS_NCCL 1
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#else
#define SGMIM_HAS_NCCL 0
#endif

#include <cstdlib>
#include <cstdint>
#include <string>
#include <vector>

namespace sgmim::distributed {

namespace {

#if TORCH_VERSION_MAJOR >= 2
using BackendPtr = c10::intrusive_ptr<c10d::Backend>;
#else
using BackendPtr = c10::intrusive_ptr<c10d::ProcessGroup>;
#endif

constexpr int64_t kMiB = 1024 * 1024;
// Byte offsets inside a broadcast bucket are aligned so that every slice can be viewed as its own dtype.
constexpr int64_t kBroadcastAlign = 16;

std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

int64_t bucket_bytes(double mb, const std::string& key) {
  check_value(mb > 0, key, std::to_string(mb), "expected a positive size in MiB");
  return std::max<int64_t>(1, static_cast<int64_t>(mb * static_cast<double>(kMiB)));
}

/// FNV-1a over the layout (count, dtype, shape of each tensor) so that ranks can compare it in one int64.
int64_t layout_signature(const std::vector<torch::Tensor>& tensors) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](int64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= static_cast<uint64_t>(v >> (8 * b)) & 0xffu;
      h *= 1099511628211ull;
    }
  };
  mix(static_cast<int64_t>(tensors.size()));
  for (const auto& t : tensors) {
    mix(static_cast<int64_t>(t.scalar_type()));
    mix(t.dim());
    for (const int64_t s : t.sizes()) mix(s);
  }
  return static_cast<int64_t>(h);
}

}  // namespace

struct ProcessGroup::Impl {
  /// Throws sgmim::Error for a bucket size that is not positive.
  Impl(int rank, int world, int local_rank, const ProcessGroupOptions& options)
      : rank(rank), world(world), local_rank(local_rank), options(options) {
    bucket_bytes(options.bucket_mb, "dist.bucket_mb");
  }

  int rank = 0;
  int world = 1;
  int local_rank = 0;
  std::string backend_name = "none";
  torch::Device device = torch::kCPU;
  ProcessGroupOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  BackendPtr backend;
#if SGMIM_HAS_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  bool is_shut_down = false;
  /// Collectives go through the backend: a world of several, or one with options.single_rank_backend.
  bool collective = false;
  bool failed = false;  ///< a collective threw: the backend may have threads blocked on a dead peer

  std::string prefix() const { return "rank " + std::to_string(rank) + ": "; }

  [[noreturn]] void fail(const std::string& collective, const std::exception& e) {
    failed = true;
    throw Error(prefix() + "collective " + collective + " failed (timeout " +
                std::to_string(options.timeout.count() / 1000) + " s): " + message_of(e));
  }

  /// The backend of a live multi-process world, or an Error after shutdown.
  BackendPtr& live(const char* collective) {
    if (is_shut_down || !backend)
      throw Error(prefix() + "collective " + std::string(collective) + " called after shutdown()");
    return backend;
  }

  /// Gloo cannot reduce every dtype (no bfloat16, bool or int16); the sgmim rule is fp32 for half types on Gloo.
  torch::ScalarType reduce_dtype(torch::ScalarType t) const {
    if (t == torch::kBool || t == torch::kInt16) return torch::kInt32;
    if (backend_name == "gloo" && (t == torch::kHalf || t == torch::kBFloat16)) return torch::kFloat32;
    return t;
  }

  /// Waits with the timeout (Gloo; for NCCL wait() only orders the current stream and the NCCL watchdog enforces
  /// the timeout) and turns any failure into an sgmim::Error.
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& collective) {
    try {
      if (backend_name == "nccl")
        work->wait();
      else
        work->wait(options.timeout);
    } catch (const std::exception& e) {
      fail(collective, e);
    }
  }

  c10::intrusive_ptr<c10d::Work> allreduce(torch::Tensor& flat, c10d::ReduceOp::RedOpType op, const char* collective) {
    auto& b = live(collective);
    try {
      std::vector<at::Tensor> tensors{flat};
      c10d::AllreduceOptions opts;
      opts.reduceOp = op;
      opts.timeout = options.timeout;
      return b->allreduce(tensors, opts);
    } catch (const std::exception& e) {
      fail(collective, e);
    }
  }

  c10::intrusive_ptr<c10d::Work> broadcast(torch::Tensor& flat, int root, const char* collective) {
    auto& b = live(collective);
    try {
      std::vector<at::Tensor> tensors{flat};
      c10d::BroadcastOptions opts;
      opts.rootRank = root;
      opts.rootTensor = 0;
      opts.timeout = options.timeout;
      return b->broadcast(tensors, opts);
    } catch (const std::exception& e) {
      fail(collective, e);
    }
  }

  /// MIN over the ranks of a 0/1 flag; the .item() blocks the host, so this is also a barrier.
  bool min_flag(bool flag, const char* collective) {
    auto t = torch::full({1}, flag ? 1 : 0, torch::TensorOptions().dtype(torch::kInt32).device(device));
    wait(allreduce(t, c10d::ReduceOp::MIN, collective), collective);
    return t.item<int32_t>() == 1;
  }

  /// Creates the backend `name` (already checked by choose_backend) over the store `s`.
  void connect(const c10::intrusive_ptr<c10d::Store>& s, const std::string& name, const std::string& gloo_host);
};

namespace {

/// auto → nccl when this build has NCCL and a GPU is visible, else gloo. Checked before any rendezvous, so that a
/// wrong setting fails at once instead of after peers have been waited for.
std::string choose_backend(const std::string& requested) {
  std::string name = requested;
  if (requested == "auto") name = (SGMIM_HAS_NCCL && torch::cuda::is_available()) ? "nccl" : "gloo";
  if (name != "gloo" && name != "nccl") raise_invalid_value("dist.backend", requested, "expected auto, gloo or nccl");
  if (name == "gloo" && !SGMIM_HAS_GLOO)
    raise_invalid_value("dist.backend", requested,
                        "this LibTorch build has no Gloo headers (libgloo-dev / USE_C10D_GLOO); use nccl on GPUs");
  if (name == "nccl" && !SGMIM_HAS_NCCL)
    raise_invalid_value("dist.backend", requested, "this build has no NCCL (CPU LibTorch, or nccl.h not found)");
  if (name == "nccl" && !torch::cuda::is_available())
    raise_invalid_value("dist.backend", requested, "nccl needs a visible CUDA device");
  return name;
}

#if SGMIM_HAS_GLOO
/// The Gloo transport devices: an explicit host, GLOO_SOCKET_IFNAME (comma-separated interfaces, as in PyTorch),
/// else the address that resolves from this machine's host name (loopback as Gloo's own fallback).
std::vector<std::shared_ptr<gloo::transport::Device>> gloo_devices(const std::string& host) {
  std::vector<std::shared_ptr<gloo::transport::Device>> devices;
  if (!host.empty()) {
    devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
    return devices;
  }
  if (const char* names = std::getenv("GLOO_SOCKET_IFNAME"); names != nullptr && *names != '\0') {
    for (const std::string& name : text::split(names, ','))
      if (!name.empty()) devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
    if (!devices.empty()) return devices;
  }
  devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  return devices;
}
#endif

}  // namespace

void ProcessGroup::Impl::connect(const c10::intrusive_ptr<c10d::Store>& s, const std::string& name,
                                 const std::string& gloo_host) {
  store = s;
  if (name == "gloo") {
#if SGMIM_HAS_GLOO
    auto opts = c10d::ProcessGroupGloo::Options::create(options.timeout);
    opts->devices = gloo_devices(gloo_host);
    backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, opts);
    backend_name = "gloo";
    device = torch::kCPU;
#endif
  } else if (name == "nccl") {
#if SGMIM_HAS_NCCL
    TORCH_CHECK(local_rank < static_cast<int>(torch::cuda::device_count()), "local rank ", local_rank,
                " has no GPU: only ", torch::cuda::device_count(), " are visible");
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(local_rank));
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = options.timeout;
    nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, opts);
    backend = nccl;
    backend_name = "nccl";
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
#endif
  }
  (void)gloo_host;
  TORCH_CHECK(backend, "backend ", name, " is not compiled in");  // choose_backend() rules this out
}

ProcessGroup::ProcessGroup(const DistEnv& env, const ProcessGroupOptions& options)
    : impl_(std::make_unique<Impl>(env.rank, env.world_size, env.local_rank, options)) {
  auto& s = *impl_;
  check_value(options.timeout.count() > 0, "dist.timeout_s", std::to_string(options.timeout.count()) + " ms",
              "expected a positive timeout");
  if (env.world_size <= 1) return;  // a world of one: every method is a no-op
  const std::string backend = choose_backend(options.backend);

  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  RendezvousWatchOptions watch_options;
  watch_options.timeout = options.rendezvous_timeout;
  watch_options.first_notice = options.rendezvous_first_notice;
  RendezvousWatch watch(env, watch_options);
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(env.master_port);
    // torchrun's agent already serves the store (TORCHELASTIC_USE_AGENT_STORE): then rank 0 is a client too.
    o.isServer = env.rank == 0 && !env.use_agent_store;
    o.numWorkers = static_cast<std::size_t>(env.world_size);
    o.waitWorkers = true;
    o.timeout = std::min(options.timeout, options.rendezvous_timeout);
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
    // Keys of a restarted attempt must not meet the previous attempt's on a long-lived agent store.
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("sgmim/attempt_" + std::to_string(env.restart_count), tcp);
    // Single node: bind Gloo to the master's (local) address; several nodes: each binds its own (gloo_devices).
    std::string host = options.gloo_hostname;
    if (host.empty() && env.local_world_size >= env.world_size) host = env.master_addr;
    s.connect(prefixed, backend, host);
    tcp->setTimeout(options.timeout);  // after the meeting, the store serves at the collectives' pace
    s.collective = true;
    watch.done();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(s.prefix() + "rendezvous with " + where + " (" + store_owner(env) + ", " + env.source +
                ", timeout " + std::to_string(std::min(options.timeout, options.rendezvous_timeout).count() / 1000) +
                " s) failed: " + message_of(e) + "; " + rendezvous_hint(env));
  }
  if (s.rank == 0)
    log::info("distributed: " + to_string(env) + ", backend " + s.backend_name + ", timeout " +
              std::to_string(options.timeout.count() / 1000) + " s");
}

ProcessGroup::ProcessGroup(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size,
                           const ProcessGroupOptions& options)
    : impl_(std::make_unique<Impl>(rank, world_size, rank, options)) {
  auto& s = *impl_;
  check_value(world_size >= 1 && rank >= 0 && rank < world_size, "rank", std::to_string(rank),
              "expected a rank below the world size " + std::to_string(world_size));
  if (world_size <= 1 && !options.single_rank_backend) return;
  const std::string backend = choose_backend(options.backend);
  try {
    s.connect(store, backend, options.gloo_hostname);
    s.collective = true;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(s.prefix() + "rendezvous through the given store failed: " + message_of(e));
  }
}

ProcessGroup::~ProcessGroup() {
  if (impl_) shutdown();
}
ProcessGroup::ProcessGroup(ProcessGroup&&) noexcept = default;
ProcessGroup& ProcessGroup::operator=(ProcessGroup&& other) noexcept {
  if (this != &other) {
    if (impl_) shutdown();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

int ProcessGroup::rank() const { return impl_->rank; }
int ProcessGroup::world_size() const { return impl_->world; }
int ProcessGroup::local_rank() const { return impl_->local_rank; }
const std::string& ProcessGroup::backend_name() const { return impl_->backend_name; }
torch::Device ProcessGroup::device() const { return impl_->device; }

void ProcessGroup::broadcast_parameters(const std::vector<torch::Tensor>& tensors, int root) {
  auto& s = *impl_;
  if (!s.collective) return;
  check_value(root >= 0 && root < s.world, "root", std::to_string(root), "expected a rank of the world");
  for (size_t i = 0; i < tensors.size(); ++i)
    TORCH_CHECK(tensors[i].defined(), "broadcast_parameters: tensor ", i, " is undefined");
  torch::NoGradGuard no_grad;  // copy_ into leaves that require grad

  // Same layout everywhere, or the byte streams below would be reinterpreted silently.
  auto signature = torch::full({1}, layout_signature(tensors), torch::TensorOptions().dtype(torch::kInt64).device(s.device));
  const int64_t mine = signature.item<int64_t>();
  s.wait(s.broadcast(signature, root, "broadcast (layout check)"), "broadcast (layout check)");
  const bool same = s.min_flag(signature.item<int64_t>() == mine, "all-reduce (layout check)");
  if (!same)
    throw Error(s.prefix() + "broadcast_parameters: the " + std::to_string(tensors.size()) +
                " tensors differ in shape or dtype from rank " + std::to_string(root) + "'s (on at least one rank)");

  // Byte buckets: any dtype (bfloat16, bool, int64 buffers) travels bitwise through one uint8 broadcast.
  struct Bucket {
    std::vector<size_t> members;
    std::vector<int64_t> offsets;
    int64_t bytes = 0;
    torch::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  const int64_t cap = bucket_bytes(s.options.broadcast_bucket_mb, "broadcast_bucket_mb");
  std::vector<Bucket> buckets(1);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int64_t nbytes = tensors[i].numel() * static_cast<int64_t>(tensors[i].element_size());
    if (buckets.back().bytes > 0 && buckets.back().bytes + nbytes > cap) buckets.emplace_back();
    auto& b = buckets.back();
    b.members.push_back(i);
    b.offsets.push_back(b.bytes);
    b.bytes += (nbytes + kBroadcastAlign - 1) / kBroadcastAlign * kBroadcastAlign;
  }
  const bool is_root = s.rank == root;
  for (auto& b : buckets) {
    if (b.bytes == 0) continue;
    b.flat = torch::empty({b.bytes}, torch::TensorOptions().dtype(torch::kUInt8).device(s.device));
    if (is_root) {
      for (size_t k = 0; k < b.members.size(); ++k) {
        const auto& t = tensors[b.members[k]];
        if (t.numel() == 0) continue;
        auto bytes = t.contiguous().view({-1}).view(torch::kUInt8);
        b.flat.narrow(0, b.offsets[k], bytes.numel()).copy_(bytes);
      }
    }
    b.work = s.broadcast(b.flat, root, "broadcast");
  }
  for (auto& b : buckets) {
    if (!b.work) continue;
    s.wait(b.work, "broadcast");
    if (is_root) continue;
    for (size_t k = 0; k < b.members.size(); ++k) {
      auto& t = const_cast<torch::Tensor&>(tensors[b.members[k]]);
      if (t.numel() == 0) continue;
      const int64_t nbytes = t.numel() * static_cast<int64_t>(t.element_size());
      t.copy_(b.flat.narrow(0, b.offsets[k], nbytes).view(t.scalar_type()).view(t.sizes()));
    }
  }
}

void ProcessGroup::allreduce_gradients(const std::vector<torch::Tensor>& params) {
  auto& s = *impl_;
  if (!s.collective) return;
  torch::NoGradGuard no_grad;
  const int64_t first_cap = bucket_bytes(s.options.first_bucket_mb, "first_bucket_mb");
  const int64_t cap = bucket_bytes(s.options.bucket_mb, "dist.bucket_mb");

  // Buckets as DDP assigns them (reducer.cpp, compute_bucket_assignment_by_size): reverse registration order, since
  // backward produces the last layers' gradients first; one open bucket per dtype, the first one small.
  struct Bucket {
    torch::ScalarType dtype = torch::kFloat32;
    std::vector<size_t> members;  // indices into params
    int64_t numel = 0;
    torch::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  struct Open {
    torch::ScalarType dtype = torch::kFloat32;
    int bucket = -1;
    bool first = true;
  };
  std::vector<Bucket> buckets;
  std::vector<Open> open;
  std::vector<int> slot(params.size(), -1);  // index in the usage count below
  int n_slots = 0;
  bool any_undefined = false;
  for (size_t r = params.size(); r-- > 0;) {
    const auto& p = params[r];
    if (!p.defined() || !p.requires_grad()) continue;
    if (p.device() != s.device)
      throw Error(s.prefix() + "allreduce_gradients: parameter " + std::to_string(r) + " is on " + p.device().str() +
                  " but the " + s.backend_name + " backend communicates on " + s.device.str());
    slot[r] = n_slots++;
    any_undefined = any_undefined || !p.grad().defined();
    const auto dtype = s.reduce_dtype(p.scalar_type());
    auto it = std::find_if(open.begin(), open.end(), [&](const Open& o) { return o.dtype == dtype; });
    if (it == open.end()) {
      open.emplace_back();
      open.back().dtype = dtype;
      it = std::prev(open.end());
    }
    if (it->bucket < 0) {
      it->bucket = static_cast<int>(buckets.size());
      buckets.emplace_back();
      buckets.back().dtype = dtype;
    }
    auto& b = buckets[it->bucket];
    b.members.push_back(r);
    b.numel += p.numel();
    if (b.numel * static_cast<int64_t>(c10::elementSize(dtype)) >= (it->first ? first_cap : cap)) {
      it->bucket = -1;
      it->first = false;
    }
  }
  if (n_slots == 0) return;  // the same on every rank: the parameter list is

  // How many ranks hold each gradient: one that is undefined everywhere (an unused branch) stays undefined, as in
  // DDP, instead of becoming a zero that weight decay and momentum would act on.
  auto usage = torch::zeros({n_slots}, torch::kInt32);
  {
    auto u = usage.accessor<int32_t, 1>();
    for (size_t r = 0; r < params.size(); ++r)
      if (slot[r] >= 0 && params[r].grad().defined()) u[slot[r]] = 1;
  }
  usage = usage.to(s.device);
  auto usage_work = s.allreduce(usage, c10d::ReduceOp::SUM, "all-reduce (gradient usage)");

  for (auto& b : buckets) {
    b.flat = torch::empty({b.numel}, torch::TensorOptions().dtype(b.dtype).device(s.device));
    int64_t offset = 0;
    for (const size_t r : b.members) {
      const auto& p = params[r];
      auto slice = b.flat.narrow(0, offset, p.numel());
      if (p.grad().defined())
        slice.copy_(p.grad().reshape({-1}));
      else
        slice.zero_();
      offset += p.numel();
    }
    b.work = s.allreduce(b.flat, c10d::ReduceOp::SUM, "all-reduce (gradients)");
  }

  s.wait(usage_work, "all-reduce (gradient usage)");
  for (auto& b : buckets) s.wait(b.work, "all-reduce (gradients)");
  // Read back only when needed: for NCCL this copy waits for the all-reduces to finish.
  torch::Tensor used;
  if (any_undefined) used = usage.to(torch::kCPU);

  for (auto& b : buckets) {
    b.flat.div_(s.world);  // SUM then ÷ world: Gloo has no AVG
    int64_t offset = 0;
    for (const size_t r : b.members) {
      auto& p = const_cast<torch::Tensor&>(params[r]);
      auto mean = b.flat.narrow(0, offset, p.numel()).view(p.sizes());
      offset += p.numel();
      if (p.grad().defined()) {
        p.mutable_grad().copy_(mean);
      } else if (used[slot[r]].item<int32_t>() > 0) {
        p.mutable_grad() = mean.to(p.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
      }
    }
  }
}

void ProcessGroup::allreduce_sum(torch::Tensor& tensor) {
  auto& s = *impl_;
  if (!s.collective) return;
  TORCH_CHECK(tensor.defined(), "allreduce_sum: undefined tensor");
  torch::NoGradGuard no_grad;
  auto buffer = tensor.to(s.device, s.reduce_dtype(tensor.scalar_type())).contiguous();
  s.wait(s.allreduce(buffer, c10d::ReduceOp::SUM, "all-reduce (sum)"), "all-reduce (sum)");
  if (!buffer.is_same(tensor)) tensor.copy_(buffer);
}

void ProcessGroup::barrier() {
  auto& s = *impl_;
  if (!s.collective) return;
  // An all-reduce plus .item() blocks the host on both backends (NCCL's own barrier only orders streams).
  s.min_flag(true, "barrier");
}

bool ProcessGroup::all_ranks_agree(bool local_flag) {
  auto& s = *impl_;
  if (!s.collective) return local_flag;
  return s.min_flag(local_flag, "all_ranks_agree");
}

void ProcessGroup::shutdown() {
  auto& s = *impl_;
  if (s.is_shut_down) return;
  s.is_shut_down = true;
  if (s.failed) {
    // Joining Gloo's worker threads could wait for a peer that is gone; the process is exiting anyway.
    (void)s.backend.release();
#if SGMIM_HAS_NCCL
    (void)s.nccl.release();
#endif
    (void)s.store.release();
    return;
  }
  try {
#if SGMIM_HAS_NCCL && SGMIM_TORCH_AT_LEAST(2, 4)
    if (s.nccl) s.nccl->shutdown();
#endif
#if SGMIM_HAS_NCCL
    s.nccl.reset();
#endif
    s.backend.reset();
    s.store.reset();
  } catch (const std::exception& e) {
    log::warn(s.prefix() + "process group shutdown: " + message_of(e));
  }
}

}  // namespace sgmim::distributed
