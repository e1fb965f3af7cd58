#include "sgmim/data/shard_epoch_plan.h"

#include "sgmim/data/sample_seed.h"
#include "sgmim/error.h"

#include <numeric>
#include <random>
#include <string>

namespace sgmim::data {
namespace {

// A uniform draw in [0, n) from the engine's output: the modulo bias is below n / 2^64 (std::uniform_int_distribution
// is not specified bit for bit across standard libraries, this is).
int64_t draw(std::mt19937_64& rng, int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); }

// The seeds of the shard permutation and of stream s's buffer: sample_seed at indices no sample has.
uint64_t shard_order_seed(uint64_t seed, int64_t epoch) { return sample_seed(seed, epoch, -1); }
uint64_t stream_seed(uint64_t seed, int64_t epoch, int64_t stream) { return sample_seed(seed, epoch, -2 - stream); }

// webdataset's shuffle (filters._shuffle) reduced to its permutation: each read sample enters the buffer; once it
// holds K, a uniformly chosen one leaves; at the end the rest leave in random order. Returns output step → read step.
std::vector<int64_t> buffered_order(int64_t length, int64_t buffer, std::mt19937_64* rng) {
  std::vector<int64_t> out;
  out.reserve(static_cast<std::size_t>(length));
  if (!rng || buffer <= 1) {
    out.resize(static_cast<std::size_t>(length));
    std::iota(out.begin(), out.end(), int64_t{0});
    return out;
  }
  std::vector<int64_t> held;
  held.reserve(static_cast<std::size_t>(buffer));
  const auto release = [&] {
    const auto j = static_cast<std::size_t>(draw(*rng, static_cast<int64_t>(held.size())));
    out.push_back(held[j]);
    held[j] = held.back();
    held.pop_back();
  };
  for (int64_t u = 0; u < length; ++u) {
    held.push_back(u);
    if (static_cast<int64_t>(held.size()) >= buffer) release();
  }
  while (!held.empty()) release();
  return out;
}

}  // namespace

int64_t ShardEpochPlan::index_at(int64_t position) const {
  const auto [s, t] = locate(position, streams);
  const auto& plan = stream[static_cast<std::size_t>(s)];
  if (t >= static_cast<int64_t>(plan.read_step.size()))
    throw Error("shard plan: position " + std::to_string(position) + " is not in this rank's streams");
  return plan.index[static_cast<std::size_t>(plan.read_step[static_cast<std::size_t>(t)])];
}

std::vector<int64_t> ShardEpochPlan::rank_order(int64_t world_size, int64_t rank) const {
  std::vector<int64_t> order;
  order.reserve(static_cast<std::size_t>(positions / world_size));
  for (int64_t p = rank; p < positions; p += world_size) order.push_back(index_at(p));
  return order;
}

void check_shard_order(int64_t total, const ShardOrderOptions& options) {
  const int64_t S = options.streams, W = options.world_size;
  check_value(S >= 1, "data.shard_streams", std::to_string(S), "at least 1");
  check_value(W >= 1 && options.rank >= 0 && options.rank < W, "dist.world_size", std::to_string(W),
              "at least 1, with the rank below it");
  check_value(S % W == 0, "data.shard_streams", std::to_string(S),
              "a multiple of the world size " + std::to_string(W) +
                  " (each process reads whole streams of the shards; docs/datasets.md §12.3)");
  check_value(S <= total, "data.shard_streams", std::to_string(S),
              "at most the " + std::to_string(total) + " samples of the shards");
  check_value(options.shuffle_buffer >= 1, "data.shuffle_buffer", std::to_string(options.shuffle_buffer),
              "at least 1 (1: no shuffle buffer)");
  check_value(options.global_batch >= 1 && options.global_batch <= total, "data.batch_size",
              std::to_string(options.global_batch / W) + " per process",
              "a global batch (batch × world size = " + std::to_string(options.global_batch) + ") of at most the " +
                  std::to_string(total) + " samples of the shards");
}

ShardEpochPlan plan_shard_epoch(const std::vector<int64_t>& shard_samples, const ShardOrderOptions& options,
                                int64_t epoch) {
  const int64_t total = std::accumulate(shard_samples.begin(), shard_samples.end(), int64_t{0});
  check_shard_order(total, options);
  const int64_t S = options.streams, W = options.world_size;

  // The shards end to end, in a permuted order.
  std::vector<int64_t> shards(shard_samples.size()), first_index(shard_samples.size());
  std::iota(shards.begin(), shards.end(), int64_t{0});
  std::exclusive_scan(shard_samples.begin(), shard_samples.end(), first_index.begin(), int64_t{0});
  if (options.shuffle) {
    std::mt19937_64 rng(shard_order_seed(options.seed, epoch));
    for (int64_t i = static_cast<int64_t>(shards.size()) - 1; i > 0; --i)
      std::swap(shards[static_cast<std::size_t>(i)], shards[static_cast<std::size_t>(draw(rng, i + 1))]);
  }

  ShardEpochPlan plan;
  plan.streams = S;
  plan.positions = total / options.global_batch * options.global_batch;
  plan.stream.resize(static_cast<std::size_t>(S));
  // Stream s reads samples [begin_s, begin_s + length_s) of the laid-out sequence.
  const int64_t base = total / S, longer = total % S;
  std::size_t at_shard = 0;  // the laid-out shard holding `cursor`
  int64_t shard_begin = 0;   // its first laid-out sample
  int64_t cursor = 0;
  for (int64_t s = 0; s < S; ++s) {
    const int64_t length = base + (s < longer ? 1 : 0);
    const int64_t end = cursor + length;
    const bool mine = s % W == options.rank;
    StreamPlan& stream = plan.stream[static_cast<std::size_t>(s)];
    while (cursor < end) {
      while (shard_begin + shard_samples[static_cast<std::size_t>(shards[at_shard])] <= cursor) {
        shard_begin += shard_samples[static_cast<std::size_t>(shards[at_shard])];
        ++at_shard;
      }
      const int64_t shard = shards[at_shard];
      const int64_t first = cursor - shard_begin;
      const int64_t count = std::min(end, shard_begin + shard_samples[static_cast<std::size_t>(shard)]) - cursor;
      if (mine) {
        stream.segments.push_back({shard, first, count});
        for (int64_t k = 0; k < count; ++k) stream.index.push_back(first_index[static_cast<std::size_t>(shard)] + first + k);
      }
      cursor += count;
    }
    if (!mine) continue;
    std::mt19937_64 rng(stream_seed(options.seed, epoch, s));
    stream.read_step = buffered_order(length, options.shuffle_buffer, options.shuffle ? &rng : nullptr);
    stream.output_step.assign(static_cast<std::size_t>(length), 0);
    for (int64_t t = 0; t < length; ++t)
      stream.output_step[static_cast<std::size_t>(stream.read_step[static_cast<std::size_t>(t)])] = t;
  }
  return plan;
}

}  // namespace sgmim::data
