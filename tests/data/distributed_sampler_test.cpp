// PyTorch DistributedSampler semantics (distributed_sampler.h): one shared order per epoch, padded from its start to
// a multiple of the world size (or cut with drop_last), rank r taking every world-th index from r.
#include "sgmim/data/distributed_sampler.h"

#include "data/data_fixtures.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

// The shared order rebuilt from all ranks: order[k] = rank (k mod world)'s index k / world.
std::vector<int64_t> shared_order(int64_t n, int64_t world, bool shuffle, uint64_t seed, bool drop_last,
                                  int64_t epoch) {
  std::vector<std::vector<int64_t>> per_rank;
  for (int64_t r = 0; r < world; ++r)
    per_rank.push_back(DistributedSampler(n, {world, r, shuffle, seed, drop_last}).indices(epoch));
  std::vector<int64_t> order;
  for (std::size_t k = 0; k < per_rank[0].size() * static_cast<std::size_t>(world); ++k) {
    const auto& mine = per_rank[k % static_cast<std::size_t>(world)];
    EXPECT_EQ(mine.size(), per_rank[0].size());  // every rank gets the same count
    order.push_back(mine[k / static_cast<std::size_t>(world)]);
  }
  return order;
}

bool is_permutation_of_range(std::vector<int64_t> v, int64_t n) {
  std::sort(v.begin(), v.end());
  std::vector<int64_t> range(static_cast<std::size_t>(n));
  std::iota(range.begin(), range.end(), 0);
  return v == range;
}

}  // namespace

TEST(DistributedSampler, RanksCoverTheDatasetAndPadFromTheStart) {
  const int64_t n = 10, world = 3;
  const DistributedSampler rank0(n, {world, 0, true, 7, false});
  EXPECT_EQ(rank0.num_samples(), 4);  // ceil(10 / 3)
  EXPECT_EQ(rank0.total_size(), 12);
  const auto order = shared_order(n, world, true, 7, false, 0);
  ASSERT_EQ(order.size(), 12u);
  // The first N entries are a permutation (so no index is on two ranks before the padding) ...
  EXPECT_TRUE(is_permutation_of_range({order.begin(), order.begin() + n}, n));
  // ... and the padding repeats the order's start.
  EXPECT_EQ(order[10], order[0]);
  EXPECT_EQ(order[11], order[1]);
}

TEST(DistributedSampler, PaddingLongerThanTheDatasetCycles) {
  const auto order = shared_order(2, 5, true, 1, false, 3);
  ASSERT_EQ(order.size(), 5u);
  EXPECT_TRUE(is_permutation_of_range({order[0], order[1]}, 2));
  EXPECT_EQ(order[2], order[0]);
  EXPECT_EQ(order[3], order[1]);
  EXPECT_EQ(order[4], order[0]);
}

TEST(DistributedSampler, DropLastCutsTheTail) {
  const int64_t n = 10, world = 3;
  const DistributedSampler rank1(n, {world, 1, true, 7, true});
  EXPECT_EQ(rank1.num_samples(), 3);  // PyTorch: ceil((10 − 3) / 3)
  const auto order = shared_order(n, world, true, 7, true, 0);
  ASSERT_EQ(order.size(), 9u);
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), 9u);  // all distinct
  // The kept part is the start of the same order as without drop_last.
  const auto padded = shared_order(n, world, true, 7, false, 0);
  EXPECT_TRUE(std::equal(order.begin(), order.end(), padded.begin()));
}

TEST(DistributedSampler, OrderDependsOnSeedPlusEpochOnly) {
  const DistributedSampler s(100, {2, 1, true, 5, false});
  EXPECT_EQ(s.indices(3), s.indices(3));
  EXPECT_EQ(s.indices(3), DistributedSampler(100, {2, 1, true, 5, false}).indices(3));
  EXPECT_NE(s.indices(3), s.indices(4));
  EXPECT_NE(s.indices(0), DistributedSampler(100, {2, 1, true, 6, false}).indices(0));
  // seed + epoch is what seeds the order (as in PyTorch): seed 5 epoch 1 = seed 6 epoch 0.
  EXPECT_EQ(s.indices(1), DistributedSampler(100, {2, 1, true, 6, false}).indices(0));
  // Different epochs still cover everything.
  EXPECT_TRUE(is_permutation_of_range(shared_order(100, 2, true, 5, false, 9), 100));
}

TEST(DistributedSampler, WithoutShuffleRanksInterleaveTheNaturalOrder) {
  EXPECT_EQ(DistributedSampler(7, {2, 0, false, 0, false}).indices(4), (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(DistributedSampler(7, {2, 1, false, 0, false}).indices(4), (std::vector<int64_t>{1, 3, 5, 0}));
  EXPECT_EQ(DistributedSampler(7, {1, 0, false, 0, false}).indices(0), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(DistributedSampler, InvalidWorldsAreErrors) {
  EXPECT_EQ(error_of([] { DistributedSampler s(10, {2, 2, true, 0, false}); }).key(), "dist.rank");
  EXPECT_EQ(error_of([] { DistributedSampler s(10, {0, 0, true, 0, false}); }).key(), "dist.world_size");
  error_of([] { DistributedSampler s(0, {1, 0, true, 0, false}); });
  error_of([] { DistributedSampler s(2, {3, 0, true, 0, true}); });  // nothing left per rank
}
