// The depth loader (depth_loader.h) and the prefetch pool under it (prefetch_pool.h): batches independent of the
// number of workers, evaluation shards without padding, resume = skip, errors in order; the sampler's unpadded mode.
#include "sgmim/data/depth_loader.h"
#include "sgmim/data/sample_seed.h"

#include "data/depth_fixtures.h"
#include "sgmim/data/prefetch_pool.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

// An NYU tree of 12 training frames (3 scenes) and 7 test frames at 64×48.
struct NyuFixture {
  ScratchDir dir;
  NyuFixture() { write_nyu(dir.path(), {64, 48}, /*count=*/12, /*val=*/7); }

  std::shared_ptr<const DepthDataset> train() const {
    NyuOptions o;
    o.data_path = dir.path().string();
    o.train = true;
    o.augment.crop_h = 32;
    o.augment.crop_w = 40;
    o.augment.cutdepth_max_depth = 10.0;
    return std::make_shared<const NyuDepthDataset>(o);
  }
  std::shared_ptr<const DepthDataset> test() const {
    NyuOptions o;
    o.data_path = dir.path().string();
    return std::make_shared<const NyuDepthDataset>(o);
  }
};

LoaderOptions train_options(int64_t batch, int64_t workers) {
  LoaderOptions o;
  o.batch_size = batch;
  o.num_workers = workers;
  o.seed = 11;
  return o;
}

std::vector<DepthBatch> epoch_batches(DepthLoader& loader, int64_t epoch, int64_t first_batch = 0) {
  loader.start_epoch(epoch, first_batch);
  std::vector<DepthBatch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  EXPECT_FALSE(loader.next().has_value());
  return out;
}

void expect_same(const std::vector<DepthBatch>& a, const std::vector<DepthBatch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_TRUE(torch::equal(a[k].indices, b[k].indices)) << "batch " << k;
    EXPECT_TRUE(torch::equal(a[k].image, b[k].image)) << "batch " << k;
    EXPECT_TRUE(torch::equal(a[k].depth, b[k].depth)) << "batch " << k;
    EXPECT_TRUE(torch::equal(a[k].has_gt, b[k].has_gt)) << "batch " << k;
  }
}

std::vector<int64_t> indices_of(const std::vector<DepthBatch>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches)
    for (int64_t i = 0; i < b.indices.size(0); ++i) out.push_back(b.indices[i].item<int64_t>());
  return out;
}

}  // namespace

TEST(DepthLoaderTest, BatchesAreTheSameForOneAndThreeWorkers) {
  NyuFixture f;
  const auto data = f.train();
  DepthLoader one(data, train_options(4, 1)), three(data, train_options(4, 3)), inline_(data, train_options(4, 0));
  EXPECT_EQ(one.batches_per_epoch(), 3);
  for (int64_t epoch : {0, 1}) {
    const auto a = epoch_batches(one, epoch), b = epoch_batches(three, epoch), c = epoch_batches(inline_, epoch);
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[0].image.sizes(), (std::vector<int64_t>{4, 3, 32, 40}));
    EXPECT_EQ(a[0].depth.sizes(), (std::vector<int64_t>{4, 1, 32, 40}));
    EXPECT_EQ(a[0].has_gt.scalar_type(), torch::kBool);
    expect_same(a, b);
    expect_same(a, c);
    // Each sample is the dataset's get() with sample_seed(seed, epoch, index) at its position in the epoch's order.
    const int64_t index = a[1].indices[2].item<int64_t>();
    const DepthSample s = data->get(index, sample_seed(11, epoch, index), /*position=*/1 * 4 + 2);
    EXPECT_TRUE(torch::equal(a[1].image[2], s.image));
    EXPECT_TRUE(torch::equal(a[1].depth[2], s.depth));
  }
  // Shuffled: a permutation of all 12 frames, different between epochs.
  const auto e0 = indices_of(epoch_batches(one, 0)), e1 = indices_of(epoch_batches(one, 1));
  EXPECT_EQ(std::set<int64_t>(e0.begin(), e0.end()).size(), 12u);
  EXPECT_NE(e0, e1);
}

// CutDepth (issue 9 item 9): as the reference's per-worker counter (MIM-Depth-Estimation dataset/base_dataset.py
// `self.count % 4`, reset every epoch), every 4th sample of the epoch's order gets the strip, whatever its dataset
// index: 6 in each batch of 24, and other frames in each epoch; two processes cut the same frames as one. A sample got CutDepth exactly when it differs from the
// same frame and seed drawn at a position that is not a multiple of 4 (every other random choice is the same, and
// the crop is the whole frame, so a strip cannot be cropped away).
TEST(DepthLoaderTest, CutDepthFallsOnEveryFourthPositionOfEachEpochsOrder) {
  ScratchDir dir;
  write_nyu(dir.path(), {64, 48}, /*count=*/48, /*val=*/1);
  NyuOptions o;
  o.data_path = dir.path().string();
  o.train = true;
  o.augment.crop_h = 48;
  o.augment.crop_w = 64;
  o.augment.cutdepth_max_depth = 10.0;
  const auto data = std::make_shared<const NyuDepthDataset>(o);
  ASSERT_EQ(data->size(), 48);
  DepthLoader loader(data, train_options(/*batch=*/24, /*workers=*/2));
  std::vector<std::set<int64_t>> cut_frames;
  for (int64_t epoch : {0, 1}) {
    const auto batches = epoch_batches(loader, epoch);
    ASSERT_EQ(batches.size(), 2u);
    std::set<int64_t> cut;
    for (std::size_t k = 0; k < batches.size(); ++k) {
      int64_t in_batch = 0;
      for (int64_t i = 0; i < 24; ++i) {
        const int64_t position = static_cast<int64_t>(k) * 24 + i;
        const int64_t index = batches[k].indices[i].item<int64_t>();
        const DepthSample plain = data->get(index, sample_seed(11, epoch, index), /*position=*/1);
        const bool has_strip = !torch::equal(batches[k].image[i], plain.image);
        EXPECT_EQ(has_strip, position % 4 == 0) << "epoch " << epoch << " position " << position << " frame " << index;
        EXPECT_TRUE(torch::equal(batches[k].depth[i], plain.depth));  // the strip only touches the image
        if (has_strip) {
          ++in_batch;
          cut.insert(index);
        }
      }
      EXPECT_EQ(in_batch, 6) << "epoch " << epoch << " batch " << k;
    }
    cut_frames.push_back(cut);
  }
  EXPECT_EQ(cut_frames[0].size(), 12u);
  EXPECT_NE(cut_frames[0], cut_frames[1]);  // the shuffle moves CutDepth onto other frames

  // Two ranks of batch 12 cut exactly the frames one process of batch 24 cuts: the position is that of the order the
  // ranks share (rank r's p-th sample is its r + 2p-th), so n processes train on the same samples as one.
  for (int64_t epoch : {0, 1}) {
    std::set<int64_t> cut;
    for (int64_t rank = 0; rank < 2; ++rank) {
      LoaderOptions ro = train_options(/*batch=*/12, /*workers=*/1);
      ro.world_size = 2;
      ro.rank = rank;
      DepthLoader ranked(data, ro);
      const auto batches = epoch_batches(ranked, epoch);
      for (const auto& b : batches)
        for (int64_t i = 0; i < b.indices.size(0); ++i) {
          const int64_t index = b.indices[i].item<int64_t>();
          if (!torch::equal(b.image[i], data->get(index, sample_seed(11, epoch, index), /*position=*/1).image))
            cut.insert(index);
        }
    }
    EXPECT_EQ(cut, cut_frames[static_cast<size_t>(epoch)]) << "epoch " << epoch;
  }
}

TEST(DepthLoaderTest, ResumeMidEpochEqualsSkipping) {
  NyuFixture f;
  DepthLoader loader(f.train(), train_options(3, 2));
  const auto full = epoch_batches(loader, 2);
  ASSERT_EQ(full.size(), 4u);
  const auto resumed = epoch_batches(loader, 2, /*first_batch=*/2);
  expect_same({full.begin() + 2, full.end()}, resumed);
  EXPECT_TRUE(epoch_batches(loader, 2, 4).empty());
  EXPECT_THROW(loader.start_epoch(2, 5), sgmim::Error);
}

// Evaluation: rank r of 3 gets r, r+3, …; the union over the ranks is the dataset once, with uneven counts.
TEST(DepthLoaderTest, EvaluationShardsHaveNoPaddingAndNoDuplicates) {
  NyuFixture f;
  const auto test = f.test();
  ASSERT_EQ(test->size(), 7);
  std::vector<int64_t> all;
  std::vector<int64_t> counts;
  for (int64_t rank = 0; rank < 3; ++rank) {
    DepthLoader loader(test, LoaderOptions::for_evaluation(/*batch=*/2, /*world=*/3, rank, /*workers=*/2));
    const auto batches = epoch_batches(loader, 0);
    const auto mine = indices_of(batches);
    std::vector<int64_t> want;
    for (int64_t i = rank; i < 7; i += 3) want.push_back(i);
    EXPECT_EQ(mine, want) << "rank " << rank;
    EXPECT_EQ(batches.front().image.sizes(), (std::vector<int64_t>{2, 3, 48, 64}));  // full test frames
    counts.push_back(static_cast<int64_t>(mine.size()));
    all.insert(all.end(), mine.begin(), mine.end());
  }
  EXPECT_EQ(counts, (std::vector<int64_t>{3, 2, 2}));
  std::sort(all.begin(), all.end());
  std::vector<int64_t> every(7);
  for (int64_t i = 0; i < 7; ++i) every[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(all, every);
  // With more ranks than frames, the extra ranks simply have nothing.
  DepthLoader empty(test, LoaderOptions::for_evaluation(2, /*world=*/9, /*rank=*/8));
  EXPECT_EQ(empty.batches_per_epoch(), 0);
  EXPECT_TRUE(epoch_batches(empty, 0).empty());
  // The training default pads instead: every rank has ceil(7/3) = 3 samples.
  LoaderOptions padded = train_options(3, 0);
  padded.world_size = 3;
  padded.rank = 2;
  EXPECT_EQ(DepthLoader(test, padded).sampler().num_samples(), 3);
}

TEST(DepthLoaderTest, KittiTestFramesWithoutGtAreFlagged) {
  ScratchDir dir;
  write_kitti(dir.path(), {96, 64}, /*count=*/4, /*val=*/4);
  KittiOptions o;
  o.data_path = (dir / "raw_data").string();
  o.gt_path = (dir / "data_depth_annotated").string();
  o.list_file = (dir / "train_test_inputs/eigen_test_files_with_gt.txt").string();
  o.kb_crop = false;  // the tiny fixture is smaller than the KB crop
  DepthLoader loader(std::make_shared<const KittiDepthDataset>(o), LoaderOptions::for_evaluation(4));
  const auto batches = epoch_batches(loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_TRUE(torch::equal(batches[0].has_gt, torch::tensor({false, true, true, true})));
  EXPECT_EQ(batches[0].depth[0].abs().sum().item<float>(), 0.0f);
  EXPECT_GT(batches[0].depth[1].sum().item<float>(), 0.0f);
}

TEST(DepthLoaderTest, AWorkerErrorIsRethrownNamingTheFile) {
  NyuFixture f;
  const auto test = f.test();
  const std::string gt = std::static_pointer_cast<const NyuDepthDataset>(test)->depth_path(4);
  fs::remove(gt);
  DepthLoader loader(test, LoaderOptions::for_evaluation(2, 1, 0, /*workers=*/3));
  loader.start_epoch(0);
  ASSERT_TRUE(loader.next().has_value());  // indices 0, 1
  ASSERT_TRUE(loader.next().has_value());  // 2, 3
  for (int attempt = 0; attempt < 2; ++attempt) {  // 4 is missing: rethrown, and again
    const auto e = error_of([&] { loader.next(); });
    EXPECT_NE(std::string(e.what()).find(gt), std::string::npos) << e.what();
  }
  loader.start_epoch(0, 3);  // a new start clears the error; batch 3 (index 6) is fine
  EXPECT_TRUE(loader.next().has_value());
}

TEST(DistributedSamplerTest, UnpaddedRanksTakeEveryWorldthPositionOnce) {
  for (bool shuffle : {false, true}) {
    std::vector<int64_t> all;
    for (int64_t rank = 0; rank < 4; ++rank) {
      DistributedSamplerOptions o{4, rank, shuffle, 3, false, /*pad=*/false};
      DistributedSampler s(10, o);
      const auto mine = s.indices(5);
      EXPECT_EQ(static_cast<int64_t>(mine.size()), s.num_samples());
      EXPECT_EQ(s.num_samples(), rank < 2 ? 3 : 2);
      EXPECT_EQ(s.total_size(), 10);
      all.insert(all.end(), mine.begin(), mine.end());
      // Unpadded rank r is the padded rank r without its padding tail.
      DistributedSamplerOptions p = o;
      p.pad = true;
      const auto padded = DistributedSampler(10, p).indices(5);
      EXPECT_TRUE(std::equal(mine.begin(), mine.end(), padded.begin()));
    }
    std::sort(all.begin(), all.end());
    for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PrefetchPool

TEST(PrefetchPoolTest, DeliversInOrderWhateverTheTiming) {
  for (int64_t workers : {0, 1, 3}) {
    PrefetchPool<int64_t> pool;
    pool.start(2, 20, workers, 2, [](int64_t k, const std::atomic<bool>&) {
      std::this_thread::sleep_for(std::chrono::microseconds((k * 7919) % 13 * 100));  // scrambled durations
      return k * k;
    });
    for (int64_t k = 2; k < 20; ++k) {
      const auto v = pool.next();
      ASSERT_TRUE(v.has_value());
      EXPECT_EQ(*v, k * k) << workers << " workers";
    }
    EXPECT_FALSE(pool.next().has_value());
  }
}

TEST(PrefetchPoolTest, AnErrorArrivesAtItsPositionAndStaysUntilRestart) {
  PrefetchPool<int> pool;
  pool.start(0, 10, 3, 1, [](int64_t k, const std::atomic<bool>&) {
    if (k == 5) throw std::runtime_error("job 5 failed");
    return static_cast<int>(k);
  });
  for (int k = 0; k < 5; ++k) EXPECT_EQ(pool.next().value(), k);
  EXPECT_THROW(pool.next(), std::runtime_error);
  EXPECT_THROW(pool.next(), std::runtime_error);
  pool.start(6, 8, 2, 1, [](int64_t k, const std::atomic<bool>&) { return static_cast<int>(k); });
  EXPECT_EQ(pool.next().value(), 6);
  EXPECT_EQ(pool.next().value(), 7);
  EXPECT_FALSE(pool.next().has_value());
}

TEST(PrefetchPoolTest, StopAbandonsLongJobsAndBoundsPrefetch) {
  std::atomic<int> made{0};
  {
    PrefetchPool<int> pool;
    pool.start(0, 1000, 2, 3, [&](int64_t k, const std::atomic<bool>& stop) {
      ++made;
      for (int i = 0; i < 1000 && !stop; ++i) std::this_thread::sleep_for(std::chrono::microseconds(50));
      return static_cast<int>(k);
    });
    EXPECT_EQ(pool.next().value(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_LE(made.load(), 2 * 3 + 2 + 1);  // at most `prefetch` ahead per worker (+ one in flight each)
    pool.stop();
    EXPECT_THROW(pool.next(), std::logic_error);
  }  // the destructor of a stopped pool is fine too
  PrefetchPool<int> never_started;
  EXPECT_FALSE(never_started.started());
  EXPECT_THROW(never_started.next(), std::logic_error);
}
