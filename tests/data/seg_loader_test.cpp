// The segmentation loader (seg_loader.h): batches independent of the number of workers, two ranks together equal to
// one rank, whole-image evaluation shards, and the skip|error bad-sample policy naming the file.
#include "sgmim/data/seg_loader.h"
#include "sgmim/data/sample_seed.h"

#include "data/seg_fixtures.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

// A synthetic ADE20K tree of 12 training images at 64×48, cropped to 32×40 in training.
struct AdeFixture {
  ScratchDir dir;
  fs::path root;
  AdeFixture() { root = write_ade20k(dir.path(), {64, 48}, /*count=*/12, /*val=*/3); }

  std::shared_ptr<const Ade20kDataset> train() const {
    Ade20kOptions o;
    o.root = root.string();
    o.train = true;
    o.transform.scale = {64, 48};
    o.transform.crop_h = 32;
    o.transform.crop_w = 40;
    return std::make_shared<const Ade20kDataset>(o);
  }
};

LoaderOptions train_options(int64_t batch, int64_t workers) {
  LoaderOptions o;
  o.batch_size = batch;
  o.num_workers = workers;
  o.seed = 13;
  return o;
}

std::vector<SegBatch> epoch_batches(SegLoader& loader, int64_t epoch, int64_t first_batch = 0) {
  loader.start_epoch(epoch, first_batch);
  std::vector<SegBatch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  EXPECT_FALSE(loader.next().has_value());
  return out;
}

void expect_same(const std::vector<SegBatch>& a, const std::vector<SegBatch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_TRUE(torch::equal(a[k].indices, b[k].indices)) << "batch " << k;
    EXPECT_TRUE(torch::equal(a[k].image, b[k].image)) << "batch " << k;
    EXPECT_TRUE(torch::equal(a[k].label, b[k].label)) << "batch " << k;
  }
}

std::vector<int64_t> indices_of(const std::vector<SegBatch>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches)
    for (int64_t i = 0; i < b.indices.size(0); ++i) out.push_back(b.indices[i].item<int64_t>());
  return out;
}

}  // namespace

TEST(SegLoaderTest, BatchesAreTheSameForZeroOneAndThreeWorkers) {
  AdeFixture f;
  const auto data = f.train();
  SegLoader zero(data, train_options(4, 0)), one(data, train_options(4, 1)), three(data, train_options(4, 3));
  EXPECT_EQ(one.batches_per_epoch(), 3);
  for (int64_t epoch : {0, 1}) {
    const auto a = epoch_batches(one, epoch), b = epoch_batches(three, epoch), c = epoch_batches(zero, epoch);
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[0].image.sizes(), (std::vector<int64_t>{4, 3, 32, 40}));
    EXPECT_EQ(a[0].label.sizes(), (std::vector<int64_t>{4, 32, 40}));
    EXPECT_EQ(a[0].label.scalar_type(), torch::kLong);
    expect_same(a, b);
    expect_same(a, c);
    // Each sample is the dataset's get() with sample_seed(seed, epoch, index).
    const int64_t index = a[2].indices[1].item<int64_t>();
    const SegSample s = data->get(index, sample_seed(13, epoch, index));
    EXPECT_TRUE(torch::equal(a[2].image[1], s.image));
    EXPECT_TRUE(torch::equal(a[2].label[1], s.label));
  }
  const auto e0 = indices_of(epoch_batches(one, 0)), e1 = indices_of(epoch_batches(one, 1));
  EXPECT_EQ(std::set<int64_t>(e0.begin(), e0.end()).size(), 12u);
  EXPECT_NE(e0, e1);
  // Resuming at batch 1 gives the same later batches.
  const auto full = epoch_batches(three, 4), resumed = epoch_batches(three, 4, 1);
  expect_same({full.begin() + 1, full.end()}, resumed);
}

// With 2 ranks and batch b, rank r's sample m of batch k is the 1-rank (batch 2b) run's sample 2m + r of batch k.
TEST(SegLoaderTest, TwoRanksTogetherEqualOneRank) {
  AdeFixture f;
  const auto data = f.train();
  SegLoader single(data, train_options(6, 2));
  const auto whole = epoch_batches(single, 3);
  ASSERT_EQ(whole.size(), 2u);
  for (int64_t rank = 0; rank < 2; ++rank) {
    LoaderOptions o = train_options(3, rank == 0 ? 1 : 3);
    o.world_size = 2;
    o.rank = rank;
    SegLoader loader(data, o);
    const auto mine = epoch_batches(loader, 3);
    ASSERT_EQ(mine.size(), 2u);
    for (std::size_t k = 0; k < 2; ++k)
      for (int64_t m = 0; m < 3; ++m) {
        EXPECT_EQ(mine[k].indices[m].item<int64_t>(), whole[k].indices[2 * m + rank].item<int64_t>());
        EXPECT_TRUE(torch::equal(mine[k].image[m], whole[k].image[2 * m + rank])) << rank << " " << k << " " << m;
        EXPECT_TRUE(torch::equal(mine[k].label[m], whole[k].label[2 * m + rank]));
      }
  }
}

TEST(SegLoaderTest, EvaluationOfTheRealSampleIsWholeImagesOncePerRank) {
  Ade20kOptions o;
  o.root = ade20k_sample_dir().string();
  o.split = "validation";
  const auto data = std::make_shared<const Ade20kDataset>(o);
  std::vector<int64_t> all;
  const std::vector<std::vector<int64_t>> sizes{{683, 512}, {500, 364}, {400, 300}};
  for (int64_t rank = 0; rank < 2; ++rank) {
    SegLoader loader(data, LoaderOptions::for_evaluation(1, /*world=*/2, rank, /*workers=*/2));
    const auto batches = epoch_batches(loader, 0);
    ASSERT_EQ(batches.size(), rank == 0 ? 2u : 1u);
    for (const auto& b : batches) {
      const int64_t i = b.indices[0].item<int64_t>();
      EXPECT_EQ(i % 2, rank);
      EXPECT_EQ(b.image.sizes(), (std::vector<int64_t>{1, 3, sizes[i][1], sizes[i][0]}));
      EXPECT_EQ(b.label.sizes(), (std::vector<int64_t>{1, sizes[i][1], sizes[i][0]}));
      all.push_back(i);
    }
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<int64_t>{0, 1, 2}));
  // Different sizes in one batch: an error naming both images.
  SegLoader two(data, LoaderOptions::for_evaluation(2, 1, 0, 0));
  two.start_epoch(0);
  const std::string m = error_of([&] { two.next(); }).what();
  EXPECT_NE(m.find("ADE_val_00000001.jpg"), std::string::npos) << m;
  EXPECT_NE(m.find("ADE_val_00000002.jpg"), std::string::npos) << m;
}

TEST(SegLoaderTest, BadSamplesFollowThePolicy) {
  AdeFixture f;
  // Index 5: a label value of 151; index 8: a truncated JPEG.
  const auto probe = f.train();
  const std::string bad_png = probe->annotation_path(5), bad_jpg = probe->image_path(8);
  cv::Mat raw = cv::imread(bad_png, cv::IMREAD_UNCHANGED);
  raw.at<uint8_t>(0, 0) = 151;
  ASSERT_TRUE(cv::imwrite(bad_png, raw));
  truncate_file(bad_jpg, 0.5);
  const auto data = f.train();

  // error: the first bad file in order is named, and again on the next call.
  LoaderOptions e = train_options(4, 2);
  e.shuffle = false;
  SegLoader strict(data, e);
  strict.start_epoch(0);
  ASSERT_TRUE(strict.next().has_value());  // 0..3
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string m = error_of([&] { strict.next(); }).what();
    EXPECT_NE(m.find(fs::path(bad_png).filename().string()), std::string::npos) << m;
  }

  // skip: 5 → 6 and 8 → 9, counted each time, logged once.
  for (int64_t workers : {0, 3}) {
    LoaderOptions s = e;
    s.num_workers = workers;
    s.on_bad_sample = BadSamplePolicy::skip;
    SegLoader lenient(data, s);
    EXPECT_EQ(indices_of(epoch_batches(lenient, 0)), (std::vector<int64_t>{0, 1, 2, 3, 4, 6, 6, 7, 9, 9, 10, 11}));
    EXPECT_EQ(lenient.bad_samples(), 2);
    EXPECT_EQ(lenient.skipped_files(), (std::vector<std::string>{data->image_path(5), bad_jpg}));
    epoch_batches(lenient, 1);
    EXPECT_EQ(lenient.bad_samples(), 4);
    EXPECT_EQ(lenient.skipped_files().size(), 2u);
  }
}

// The evaluation mode of data::Loader (loader.h): a bad sample under skip is left out, not replaced (a substitute
// would be counted twice), a batch of bad samples only is not delivered, and max_samples cuts the set.
TEST(SegLoaderTest, EvaluationLeavesBadSamplesOutAndStopsAtMaxSamples) {
  AdeFixture f;
  const auto probe = f.train();
  truncate_file(probe->image_path(5), 0.5);
  truncate_file(probe->image_path(8), 0.5);
  const auto data = f.train();
  std::vector<int64_t> all;
  int64_t bad = 0;
  for (int64_t rank = 0; rank < 2; ++rank) {
    for (int64_t batch : {1, 2}) {
      LoaderOptions o = LoaderOptions::for_evaluation(batch, /*world=*/2, rank, /*workers=*/2);
      o.on_bad_sample = BadSamplePolicy::skip;
      o.max_samples = 10;
      SegLoader loader(data, o);
      const auto batches = epoch_batches(loader, 0);
      const auto mine = indices_of(batches);
      // rank 0: 0 2 4 6 8(bad); rank 1: 1 3 5(bad) 7 9.
      EXPECT_EQ(mine, rank == 0 ? (std::vector<int64_t>{0, 2, 4, 6}) : (std::vector<int64_t>{1, 3, 7, 9}));
      EXPECT_EQ(loader.bad_samples(), 1);
      if (batch == 1) {
        EXPECT_EQ(batches.size(), 4u);  // the bad sample's batch is not delivered
        all.insert(all.end(), mine.begin(), mine.end());
        bad += loader.bad_samples();
      }
    }
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<int64_t>{0, 1, 2, 3, 4, 6, 7, 9}));
  EXPECT_EQ(bad, 2);
  // The error policy names the file, as in training.
  SegLoader strict(data, LoaderOptions::for_evaluation(1, 1, 0, 0));
  strict.start_epoch(0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(strict.next().has_value());
  const std::string m = error_of([&] { strict.next(); }).what();
  EXPECT_NE(m.find(fs::path(probe->image_path(5)).filename().string()), std::string::npos) << m;
}
