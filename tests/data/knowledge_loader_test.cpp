// The threaded loader (knowledge_loader.h): batches depend only on (seed, epoch, index), not on the number of
// workers nor on the world size; resuming mid-epoch; bad-sample policies; clean shutdown mid-epoch.
#include "sgmim/data/knowledge_loader.h"
#include "sgmim/data/sample_seed.h"

#include "data/data_fixtures.h"
#include "sgmim/masking/mask_generator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

constexpr int64_t kCount = 12;  // samples of the shared synthetic dataset
constexpr int64_t kSize = 32;   // output side: 8×8 token masks with model patch 4

std::shared_ptr<const SyntheticKnowledgeDataset> synthetic() {
  static const auto dataset = [] {
    SyntheticKnowledgeOptions o;
    o.count = kCount;
    o.seed = 21;
    o.transform.size = kSize;
    return std::make_shared<const SyntheticKnowledgeDataset>(o);
  }();
  return dataset;
}

const sgmim::masking::MaskGenerator& mask_generator() {
  static const sgmim::masking::MaskGenerator generator({kSize, 8, 4, 0.6});
  return generator;
}

// SG-MIM's selective masking: the knowledge is visible exactly where the image is masked.
std::pair<at::Tensor, at::Tensor> selective_masks(at::Generator g) {
  auto image_mask = mask_generator().sample(g).unsqueeze(0);
  return {image_mask, 1 - image_mask};
}

LoaderOptions options(int64_t batch, int64_t workers) {
  LoaderOptions o;
  o.batch_size = batch;
  o.num_workers = workers;
  o.prefetch = 2;
  o.seed = 7;
  return o;
}

// The loader of these tests: SG-MIM's selective masks drawn for every sample unless a test gives other masks.
class TestLoader : public KnowledgeLoader {
 public:
  TestLoader(std::shared_ptr<const KnowledgeDataset> dataset, LoaderOptions o, SampleMasks masks = selective_masks)
      : KnowledgeLoader(std::move(dataset), std::move(o), KnowledgeCollate{std::move(masks)}) {}
};

std::vector<Batch> epoch_batches(KnowledgeLoader& loader, int64_t epoch, int64_t first_batch = 0) {
  loader.start_epoch(epoch, first_batch);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  EXPECT_FALSE(loader.next().has_value());  // stays at the end
  return out;
}

bool same_batch(const Batch& a, const Batch& b) {
  return torch::equal(a.image, b.image) && torch::equal(a.knowledge, b.knowledge) &&
         torch::equal(a.image_mask, b.image_mask) && torch::equal(a.knowledge_mask, b.knowledge_mask) &&
         torch::equal(a.indices, b.indices);
}

// Counts get() calls of a wrapped dataset.
class CountingDataset : public KnowledgeDataset {
 public:
  explicit CountingDataset(std::shared_ptr<const KnowledgeDataset> inner) : inner_(std::move(inner)) {}
  int64_t size() const override { return inner_->size(); }
  KnowledgeSample get(int64_t index, uint64_t seed) const override {
    ++calls;
    return inner_->get(index, seed);
  }
  std::string describe(int64_t index) const override { return inner_->describe(index); }
  mutable std::atomic<int64_t> calls{0};

 private:
  std::shared_ptr<const KnowledgeDataset> inner_;
};

// A tiny on-disk imagefolder-knowledge split of 8 images, read without shuffling.
struct DiskFixture {
  ScratchDir dir;
  std::shared_ptr<const ImageFolderKnowledgeDataset> dataset;
  DiskFixture() {
    write_knowledge_split(dir / "train", 8);
    ImageFolderKnowledgeOptions o;
    o.root = (dir / "train").string();
    o.transform.size = 16;
    dataset = std::make_shared<const ImageFolderKnowledgeDataset>(o);
  }
  LoaderOptions loader_options(BadSamplePolicy policy) const {
    LoaderOptions o;
    o.batch_size = 2;
    o.num_workers = 2;
    o.shuffle = false;
    o.on_bad_sample = policy;
    return o;
  }
};

std::vector<int64_t> indices_of(const Batch& b) {
  return {b.indices.data_ptr<int64_t>(), b.indices.data_ptr<int64_t>() + b.indices.numel()};
}

}  // namespace

TEST(KnowledgeLoader, BatchesHoldTheSamplesOfTheirSeeds) {
  TestLoader loader(synthetic(), options(4, 2));
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  const auto batches = epoch_batches(loader, 2);
  ASSERT_EQ(batches.size(), 3u);
  std::vector<int64_t> seen;
  for (const auto& b : batches) {
    ASSERT_EQ(b.image.sizes(), (torch::IntArrayRef{4, 3, kSize, kSize}));
    ASSERT_EQ(b.knowledge.sizes(), (torch::IntArrayRef{4, 1, kSize, kSize}));
    ASSERT_EQ(b.image_mask.sizes(), (torch::IntArrayRef{4, 8, 8}));
    ASSERT_EQ(b.image_mask.scalar_type(), torch::kLong);
    ASSERT_EQ(b.knowledge_mask.scalar_type(), torch::kLong);
    EXPECT_TRUE(torch::equal(b.image_mask + b.knowledge_mask, torch::ones_like(b.image_mask)));
    for (int64_t m = 0; m < 4; ++m) {
      const int64_t index = b.indices[m].item<int64_t>();
      seen.push_back(index);
      const uint64_t seed = sample_seed(7, 2, index);
      const auto expected = synthetic()->get(index, seed);
      EXPECT_TRUE(torch::equal(b.image[m], expected.image));
      EXPECT_TRUE(torch::equal(b.knowledge[m], expected.knowledge));
      const auto mask = mask_generator().sample(at::detail::createCPUGenerator(mask_seed(seed)));
      EXPECT_TRUE(torch::equal(b.image_mask[m], mask));
      EXPECT_EQ(b.image_mask[m].sum().item<int64_t>(), 10 * 4);  // ceil(16·0.6) patches of 2×2 tokens
    }
  }
  std::sort(seen.begin(), seen.end());
  for (int64_t i = 0; i < kCount; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
  // Samples differ from each other, and so do their masks.
  EXPECT_FALSE(torch::equal(batches[0].image_mask[0], batches[0].image_mask[1]));
  EXPECT_NE(sample_seed(7, 2, 0), sample_seed(7, 3, 0));
  EXPECT_NE(sample_seed(7, 2, 0), sample_seed(8, 2, 0));
  EXPECT_NE(mask_seed(sample_seed(7, 2, 0)), sample_seed(7, 2, 0));
}

TEST(KnowledgeLoader, SameBatchesForAnyNumberOfWorkers) {
  for (int64_t epoch : {0, 1}) {
    TestLoader inline_loader(synthetic(), options(4, 0));
    const auto reference = epoch_batches(inline_loader, epoch);
    ASSERT_EQ(reference.size(), 3u);
    for (int64_t workers : {1, 3}) {
      auto o = options(4, workers);
      o.prefetch = 1;
      TestLoader loader(synthetic(), o);
      const auto batches = epoch_batches(loader, epoch);
      ASSERT_EQ(batches.size(), reference.size());
      for (std::size_t k = 0; k < batches.size(); ++k)
        EXPECT_TRUE(same_batch(batches[k], reference[k])) << "workers " << workers << " batch " << k;
    }
  }
  // Epochs differ.
  TestLoader loader(synthetic(), options(4, 2));
  const auto e0 = epoch_batches(loader, 0), e1 = epoch_batches(loader, 1);
  EXPECT_FALSE(torch::equal(e0[0].indices, e1[0].indices));
}

TEST(KnowledgeLoader, TwoRanksTogetherEqualOneRankWithTheDoubleBatch) {
  TestLoader single(synthetic(), options(4, 2));
  const auto whole = epoch_batches(single, 5);
  std::vector<std::vector<Batch>> ranks;
  for (int64_t r = 0; r < 2; ++r) {
    auto o = options(2, 2);
    o.world_size = 2;
    o.rank = r;
    TestLoader loader(synthetic(), o);
    EXPECT_EQ(loader.batches_per_epoch(), 3);
    ranks.push_back(epoch_batches(loader, 5));
  }
  ASSERT_EQ(whole.size(), 3u);
  for (std::size_t k = 0; k < whole.size(); ++k) {
    ASSERT_EQ(ranks[0][k].indices.numel(), 2);
    // The sampler interleaves the shared order: global sample 2m + r of a batch is rank r's sample m.
    for (int64_t m = 0; m < 2; ++m)
      for (int64_t r = 0; r < 2; ++r) {
        const auto& part = ranks[static_cast<std::size_t>(r)][k];
        const int64_t g = 2 * m + r;
        EXPECT_EQ(part.indices[m].item<int64_t>(), whole[k].indices[g].item<int64_t>());
        EXPECT_TRUE(torch::equal(part.image[m], whole[k].image[g]));
        EXPECT_TRUE(torch::equal(part.knowledge[m], whole[k].knowledge[g]));
        EXPECT_TRUE(torch::equal(part.image_mask[m], whole[k].image_mask[g]));
      }
  }
}

TEST(KnowledgeLoader, ResumingMidEpochEqualsSkippingAndDecodesNothingBefore) {
  TestLoader full(synthetic(), options(4, 2));
  const auto all = epoch_batches(full, 3);
  auto counting = std::make_shared<CountingDataset>(synthetic());
  TestLoader resumed(counting, options(4, 2));
  const auto rest = epoch_batches(resumed, 3, 2);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_TRUE(same_batch(rest[0], all[2]));
  EXPECT_EQ(counting->calls.load(), 4);  // only batch 2 was decoded
  EXPECT_TRUE(epoch_batches(resumed, 3, 3).empty());
  EXPECT_EQ(sgmim::data::test_support::error_of([&] { resumed.start_epoch(3, 4); }).key(), "first_batch");
}

TEST(KnowledgeLoader, LastPartialBatchWithoutDropLast) {
  auto o = options(5, 2);
  o.drop_last = false;
  TestLoader loader(synthetic(), o);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  const auto batches = epoch_batches(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].image.size(0), 2);
  o.drop_last = true;
  EXPECT_EQ(TestLoader(synthetic(), o).batches_per_epoch(), 2);
}

TEST(KnowledgeLoader, DestructionMidEpochJoinsTheWorkers) {
  for (int64_t workers : {1, 3}) {
    auto o = options(2, workers);
    o.prefetch = 1;
    {
      TestLoader loader(synthetic(), o);
      loader.start_epoch(0);
      ASSERT_TRUE(loader.next().has_value());
    }  // workers blocked on full queues must be woken and joined
    {
      TestLoader loader(synthetic(), o);
      loader.start_epoch(0);  // destroyed before any next()
    }
    {
      TestLoader loader(synthetic(), o);
      loader.start_epoch(0);
      ASSERT_TRUE(loader.next().has_value());
      loader.start_epoch(1);  // restarting mid-epoch stops the old workers
      EXPECT_EQ(epoch_batches(loader, 1).size(), 6u);
    }
  }
}

TEST(KnowledgeLoader, InvalidUseIsAnError) {
  auto o = options(100, 1);
  EXPECT_EQ(error_of([&] { TestLoader l(synthetic(), o); }).key(), "data.batch_size");
  o = options(4, 1);
  o.prefetch = 0;
  EXPECT_EQ(error_of([&] { TestLoader l(synthetic(), o); }).key(), "data.prefetch");
  o = options(4, -1);
  EXPECT_EQ(error_of([&] { TestLoader l(synthetic(), o); }).key(), "data.num_workers");
  error_of([&] { TestLoader l(nullptr, options(4, 1)); });
  TestLoader loader(synthetic(), options(4, 1));
  error_of([&] { loader.next(); });  // before start_epoch
}

TEST(KnowledgeLoader, WithoutMaskFunctionMasksAreUndefined) {
  auto o = options(4, 1);
  TestLoader loader(synthetic(), o, /*masks=*/nullptr);
  const auto batches = epoch_batches(loader, 0);
  ASSERT_FALSE(batches.empty());
  EXPECT_FALSE(batches[0].image_mask.defined());
  EXPECT_FALSE(batches[0].knowledge_mask.defined());
  o.pin_memory = true;  // ignored without CUDA; must not fail either way
  TestLoader pinned(synthetic(), o, nullptr);
  EXPECT_EQ(epoch_batches(pinned, 0).size(), batches.size());
}

// A dataset that supplies its own masks (a reference's): mask i is filled with i % 2 and its complement.
class OwnMasksDataset : public KnowledgeDataset {
 public:
  explicit OwnMasksDataset(std::shared_ptr<const KnowledgeDataset> inner) : inner_(std::move(inner)) {}
  int64_t size() const override { return inner_->size(); }
  KnowledgeSample get(int64_t index, uint64_t seed) const override {
    auto s = inner_->get(index, seed);
    s.image_mask = torch::full({1, 4, 4}, index % 2, torch::kLong);
    s.knowledge_mask = 1 - s.image_mask;
    return s;
  }
  std::string describe(int64_t index) const override { return inner_->describe(index); }

 private:
  std::shared_ptr<const KnowledgeDataset> inner_;
};

TEST(KnowledgeLoader, MasksASampleSuppliesAreUsedInsteadOfDrawnOnes) {
  auto o = options(4, 1);  // sample_masks set: the samples' own masks take precedence
  TestLoader loader(std::make_shared<OwnMasksDataset>(synthetic()), o);
  const auto batches = epoch_batches(loader, 0);
  ASSERT_FALSE(batches.empty());
  for (const auto& b : batches) {
    ASSERT_EQ(b.image_mask.sizes(), (std::vector<int64_t>{b.indices.size(0), 4, 4}));
    for (int64_t i = 0; i < b.indices.size(0); ++i) {
      const int64_t expected = b.indices[i].item<int64_t>() % 2;
      EXPECT_TRUE(torch::equal(b.image_mask[i], torch::full({4, 4}, expected, torch::kLong)));
      EXPECT_TRUE(torch::equal(b.knowledge_mask[i], torch::full({4, 4}, 1 - expected, torch::kLong)));
    }
  }
}

TEST(KnowledgeLoader, ErrorPolicyRethrowsTheErrorNamingTheFile) {
  DiskFixture f;
  const std::string bad_image = f.dataset->image_path(2);  // batch 1 (no shuffle, batch 2)
  truncate_file(bad_image, 0.5);
  TestLoader loader(f.dataset, f.loader_options(BadSamplePolicy::error));
  loader.start_epoch(0);
  ASSERT_TRUE(loader.next().has_value());
  auto e = error_of([&] { loader.next(); });
  EXPECT_EQ(e.file(), bad_image);
  EXPECT_NE(std::string(e.what()).find(bad_image), std::string::npos) << e.what();
  EXPECT_EQ(error_of([&] { loader.next(); }).file(), bad_image);  // and again, no hang

  // A missing map is reported with the map's path.
  fs::remove(f.dataset->knowledge_path(5));
  write_bytes(bad_image, read_bytes(f.dataset->image_path(3)));  // repair the image
  loader.start_epoch(1);
  ASSERT_TRUE(loader.next().has_value());
  ASSERT_TRUE(loader.next().has_value());
  e = error_of([&] { loader.next(); });
  EXPECT_EQ(e.file(), f.dataset->knowledge_path(5));
  EXPECT_EQ(loader.bad_samples(), 0);
}

TEST(KnowledgeLoader, SkipPolicySubstitutesCountsAndLogsOnce) {
  DiskFixture f;
  const std::string bad_image = f.dataset->image_path(2);
  truncate_file(bad_image, 0.5);
  fs::remove(f.dataset->knowledge_path(7));  // the last index: its substitute wraps around to 0
  auto o = f.loader_options(BadSamplePolicy::skip);

  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  std::vector<std::vector<Batch>> epochs;
  {
    TestLoader loader(f.dataset, o);
    epochs.push_back(epoch_batches(loader, 0));
    EXPECT_EQ(loader.bad_samples(), 2);
    epochs.push_back(epoch_batches(loader, 1));
    EXPECT_EQ(loader.bad_samples(), 4);  // counted every time, logged once
    EXPECT_EQ(loader.skipped_files(), (std::vector<std::string>{bad_image, f.dataset->image_path(7)}));
  }
  const std::string logged = ::testing::internal::GetCapturedStdout() + ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(count_of(logged, bad_image), 1) << logged;
  EXPECT_EQ(count_of(logged, f.dataset->knowledge_path(7)), 1) << logged;

  for (const auto& batches : epochs) {
    ASSERT_EQ(batches.size(), 4u);
    EXPECT_EQ(indices_of(batches[0]), (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(indices_of(batches[1]), (std::vector<int64_t>{3, 3}));  // 2 → 3
    EXPECT_EQ(indices_of(batches[3]), (std::vector<int64_t>{6, 0}));  // 7 → 0
    for (const auto& b : batches) EXPECT_EQ(b.image.size(0), 2);      // shapes never change
  }
  // The substitute is sample 3 itself, with its own seed.
  EXPECT_TRUE(torch::equal(epochs[0][1].image[0], epochs[0][1].image[1]));
  EXPECT_TRUE(torch::equal(epochs[0][1].image[0], f.dataset->get(3, sample_seed(0, 0, 3)).image));

  // Same result with a single worker and inline decoding.
  o.num_workers = 0;
  TestLoader inline_loader(f.dataset, o);
  const auto again = epoch_batches(inline_loader, 0);
  for (std::size_t k = 0; k < again.size(); ++k)
    EXPECT_TRUE(torch::equal(again[k].image, epochs[0][k].image) &&
                torch::equal(again[k].indices, epochs[0][k].indices));
}

TEST(KnowledgeLoader, EverySampleBadIsAnErrorUnderSkip) {
  DiskFixture f;
  for (int64_t i = 0; i < f.dataset->size(); ++i) fs::remove(f.dataset->knowledge_path(i));
  for (int64_t workers : {0, 2}) {
    auto o = f.loader_options(BadSamplePolicy::skip);
    o.num_workers = workers;
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    {
      TestLoader loader(f.dataset, o);
      loader.start_epoch(0);
      const auto e = error_of([&] { loader.next(); });
      EXPECT_NE(std::string(e.what()).find("every one of the 8 samples"), std::string::npos) << e.what();
    }
    ::testing::internal::GetCapturedStdout();
    ::testing::internal::GetCapturedStderr();
  }
}
