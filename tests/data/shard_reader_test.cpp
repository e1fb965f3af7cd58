// Reading WebDataset shards (docs/datasets.md §12.3): the epoch plan (shard_epoch_plan.h), the streams and
// WebDatasetKnowledgeDataset under the one data::Loader. The shards are made here with io::TarWriter from a small
// imagefolder-knowledge tree, independently of sgmim-pack, and every sample is checked against the tree's own
// ImageFolderKnowledgeDataset.
#include "sgmim/data/knowledge_loader.h"
#include "sgmim/data/sample_seed.h"
#include "sgmim/data/shard_epoch_plan.h"
#include "sgmim/data/webdataset_knowledge_dataset.h"
#include "sgmim/io/tar_archive.h"

#include "data/data_fixtures.h"
#include "data/shard_fixtures.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <cstring>
#include <numeric>
#include <set>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

constexpr int64_t kSize = 32;

JointTransformOptions transform() {
  JointTransformOptions t;
  t.size = kSize;
  return t;
}

std::shared_ptr<const ImageFolderKnowledgeDataset> tree(const fs::path& root, int count) {
  write_knowledge_split(root, count);
  ImageFolderKnowledgeOptions o;
  o.root = root.string();
  o.transform = transform();
  return std::make_shared<const ImageFolderKnowledgeDataset>(o);
}

std::string pattern(const fs::path& out, std::size_t shards) {
  char last[16];
  std::snprintf(last, sizeof last, "%06zu", shards - 1);
  return (out / ("train-{000000.." + std::string(last) + "}.tar")).string();
}

std::shared_ptr<const WebDatasetKnowledgeDataset> shards(const fs::path& out, std::size_t count, int64_t streams = 4,
                                                         int64_t buffer = 3) {
  WebDatasetKnowledgeOptions o;
  o.shards = pattern(out, count);
  o.streams = streams;
  o.shuffle_buffer = buffer;
  o.transform = transform();
  return std::make_shared<const WebDatasetKnowledgeDataset>(o);
}

LoaderOptions options(int64_t batch, int64_t workers, int64_t world = 1, int64_t rank = 0) {
  LoaderOptions o;
  o.batch_size = batch;
  o.num_workers = workers;
  o.seed = 11;
  o.world_size = world;
  o.rank = rank;
  return o;
}

std::vector<Batch> epoch_of(KnowledgeLoader& loader, int64_t epoch, int64_t first = 0) {
  loader.start_epoch(epoch, first);
  std::vector<Batch> batches;
  while (auto b = loader.next()) batches.push_back(std::move(*b));
  return batches;
}

bool same(const Batch& a, const Batch& b) {
  return torch::equal(a.indices, b.indices) && torch::equal(a.image, b.image) && torch::equal(a.knowledge, b.knowledge);
}

const std::vector<int64_t> kUneven{5, 0, 7, 3, 9};  // 24 samples, one empty shard

}  // namespace

TEST(ShardEpochPlan, EverySampleAtMostOnceInWholeGlobalBatchesAndOneRankEqualsTwo) {
  for (const bool shuffle : {true, false}) {
    ShardOrderOptions o;
    o.streams = 4;
    o.shuffle_buffer = 3;
    o.shuffle = shuffle;
    o.seed = 5;
    o.global_batch = 10;
    const ShardEpochPlan one = plan_shard_epoch(kUneven, o, 2);
    EXPECT_EQ(one.positions, 20);  // floor(24 / 10) · 10
    const auto order = one.rank_order(1, 0);
    ASSERT_EQ(order.size(), 20u);
    EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), 20u);
    for (const int64_t i : order) EXPECT_TRUE(i >= 0 && i < 24);
    // Two ranks of a world of 2, interleaved, give the one-process order.
    for (int64_t r = 0; r < 2; ++r) {
      o.world_size = 2;
      o.rank = r;
      const auto part = plan_shard_epoch(kUneven, o, 2).rank_order(2, r);
      ASSERT_EQ(part.size(), 10u);
      for (std::size_t q = 0; q < part.size(); ++q) EXPECT_EQ(part[q], order[2 * q + static_cast<std::size_t>(r)]);
    }
    o.world_size = 1;
    o.rank = 0;
    // Streams: lengths 6 each, contiguous runs of samples, every shard at most once, the buffer bound.
    int64_t total = 0;
    for (const auto& stream : one.stream) {
      EXPECT_EQ(stream.index.size(), 6u);
      std::set<int64_t> seen;
      int64_t read = 0;
      for (const auto& seg : stream.segments) {
        EXPECT_TRUE(seen.insert(seg.shard).second);
        EXPECT_GT(seg.count, 0);
        EXPECT_LE(seg.first + seg.count, kUneven[static_cast<std::size_t>(seg.shard)]);
        read += seg.count;
      }
      EXPECT_EQ(read, 6);
      for (std::size_t t = 0; t < stream.read_step.size(); ++t) {
        EXPECT_EQ(stream.output_step[static_cast<std::size_t>(stream.read_step[t])], static_cast<int64_t>(t));
        EXPECT_LE(stream.read_step[t], static_cast<int64_t>(t) + 2) << "read at most K − 1 ahead";
        if (!shuffle) {
          EXPECT_EQ(stream.read_step[t], static_cast<int64_t>(t));
        }
      }
      total += read;
    }
    EXPECT_EQ(total, 24);
    if (shuffle) {
      EXPECT_NE(order, plan_shard_epoch(kUneven, o, 3).rank_order(1, 0)) << "each epoch its own order";
      EXPECT_EQ(order, plan_shard_epoch(kUneven, o, 2).rank_order(1, 0)) << "the same epoch, the same order";
    } else {
      EXPECT_EQ(order[0], 0);  // stream 0 starts at the first sample of the first shard
    }
  }
}

TEST(ShardEpochPlan, BadOptionsNameTheirKey) {
  ShardOrderOptions o;
  o.streams = 3;
  o.world_size = 2;
  o.global_batch = 2;
  EXPECT_EQ(error_of([&] { plan_shard_epoch(kUneven, o, 0); }).key(), "data.shard_streams");
  o.streams = 40;
  o.world_size = 1;
  EXPECT_EQ(error_of([&] { plan_shard_epoch(kUneven, o, 0); }).key(), "data.shard_streams");
  o.streams = 4;
  o.shuffle_buffer = 0;
  EXPECT_EQ(error_of([&] { plan_shard_epoch(kUneven, o, 0); }).key(), "data.shuffle_buffer");
  o.shuffle_buffer = 2;
  o.global_batch = 25;
  EXPECT_EQ(error_of([&] { plan_shard_epoch(kUneven, o, 0); }).key(), "data.batch_size");
}

TEST(WebDatasetKnowledge, EachSampleEqualsTheImageFolderSampleInBothEncodings) {
  ScratchDir dir;
  const auto source = tree(dir / "tree", 10);
  for (const auto encoding : {KnowledgeEncoding::png, KnowledgeEncoding::npy}) {
    const fs::path out = dir / ("shards-" + to_string(encoding));
    pack(*source, out, {4, 6}, encoding);
    const auto set = shards(out, 2);
    ASSERT_TRUE(set->index().has_value());
    EXPECT_EQ(set->size(), 10);
    for (int64_t i = 0; i < 10; ++i) {
      const uint64_t seed = sample_seed(3, 1, i);
      const auto a = set->get(i, seed), b = source->get(i, seed);
      EXPECT_TRUE(torch::equal(a.image, b.image)) << to_string(encoding) << " sample " << i;
      EXPECT_TRUE(torch::equal(a.knowledge, b.knowledge)) << to_string(encoding) << " sample " << i;
    }
  }
}

TEST(WebDatasetKnowledge, AnEpochDecodesTheOrderAndOpensEachShardOncePerStream) {
  ScratchDir dir;
  const auto source = tree(dir / "tree", 24);
  pack(*source, dir / "shards", kUneven, KnowledgeEncoding::npy);
  const auto set = shards(dir / "shards", kUneven.size());
  KnowledgeLoader loader(set, options(5, 2));
  EXPECT_EQ(loader.batches_per_epoch(), 4);  // floor(24 / 5)
  for (const int64_t epoch : {0, 1}) {
    const auto batches = epoch_of(loader, epoch);
    ASSERT_EQ(batches.size(), 4u);
    std::set<int64_t> seen;
    for (const auto& b : batches)
      for (int64_t m = 0; m < b.indices.numel(); ++m) {
        const int64_t i = b.indices[m].item<int64_t>();
        EXPECT_TRUE(seen.insert(i).second) << "sample " << i << " twice in epoch " << epoch;
        const auto expected = source->get(i, sample_seed(11, epoch, i));
        EXPECT_TRUE(torch::equal(b.image[m], expected.image));
        EXPECT_TRUE(torch::equal(b.knowledge[m], expected.knowledge));
      }
    const auto stats = set->read_stats();
    int64_t opens = 0;
    for (const auto& opened : stats.opened) {
      EXPECT_EQ(std::set<int64_t>(opened.begin(), opened.end()).size(), opened.size()) << "a shard opened twice";
      opens += static_cast<int64_t>(opened.size());
    }
    EXPECT_LE(opens, 4 + 4 - 1) << "the 4 non-empty shards, plus at most one split per stream boundary";
    EXPECT_EQ(stats.read, 20);  // the data of the 20 samples of the epoch, read once
    EXPECT_LE(stats.read + stats.skipped, 24);  // what lies past the last wanted sample is not even passed over
  }
}

TEST(WebDatasetKnowledge, BatchesDoNotDependOnWorkersAndTwoRanksEqualOne) {
  ScratchDir dir;
  const auto source = tree(dir / "tree", 24);
  pack(*source, dir / "shards", kUneven, KnowledgeEncoding::png);
  KnowledgeLoader single(shards(dir / "shards", kUneven.size()), options(6, 0));
  const auto whole = epoch_of(single, 4);
  KnowledgeLoader threaded(shards(dir / "shards", kUneven.size()), options(6, 3));
  const auto again = epoch_of(threaded, 4);
  ASSERT_EQ(whole.size(), 4u);
  ASSERT_EQ(again.size(), 4u);
  for (std::size_t k = 0; k < whole.size(); ++k) EXPECT_TRUE(same(whole[k], again[k]));
  std::vector<std::vector<Batch>> ranks;
  for (int64_t r = 0; r < 2; ++r) {
    const auto set = shards(dir / "shards", kUneven.size());
    KnowledgeLoader loader(set, options(3, 2, 2, r));
    ranks.push_back(epoch_of(loader, 4));
    for (std::size_t s = 0; s < set->read_stats().opened.size(); ++s)
      if (static_cast<int64_t>(s) % 2 != r) {
        EXPECT_TRUE(set->read_stats().opened[s].empty()) << "another's stream";
      }
  }
  for (std::size_t k = 0; k < whole.size(); ++k)
    for (int64_t m = 0; m < 3; ++m)
      for (int64_t r = 0; r < 2; ++r) {
        const auto& part = ranks[static_cast<std::size_t>(r)][k];
        const int64_t g = 2 * m + r;
        EXPECT_EQ(part.indices[m].item<int64_t>(), whole[k].indices[g].item<int64_t>());
        EXPECT_TRUE(torch::equal(part.image[m], whole[k].image[g]));
        EXPECT_TRUE(torch::equal(part.knowledge[m], whole[k].knowledge[g]));
      }
}

TEST(WebDatasetKnowledge, ResumingMidEpochIsExactAndReadsNothingBefore) {
  ScratchDir dir;
  const auto source = tree(dir / "tree", 24);
  pack(*source, dir / "shards", kUneven, KnowledgeEncoding::npy);
  KnowledgeLoader full(shards(dir / "shards", kUneven.size()), options(5, 2));
  const auto all = epoch_of(full, 1);
  const auto set = shards(dir / "shards", kUneven.size());
  KnowledgeLoader resumed(set, options(5, 2));
  const auto rest = epoch_of(resumed, 1, 3);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_TRUE(same(rest[0], all[3]));
  EXPECT_EQ(set->read_stats().read, 5) << "only the last batch's data was read";
}

TEST(WebDatasetKnowledge, ABadSampleIsLeftOutUnderSkipAndNamedUnderError) {
  ScratchDir dir;
  const auto source = tree(dir / "tree", 8);
  pack(*source, dir / "shards", {8}, KnowledgeEncoding::png);
  // Damage the image of sample 2: its JPEG bytes become "not an image" of the same length.
  const fs::path shard = dir / "shards" / "train-000000.tar";
  std::vector<char> members;
  {
    sgmim::io::TarReader reader(shard.string());
    sgmim::io::TarWriter writer((dir / "bad.tar").string());
    int n = 0;
    while (auto m = reader.next()) {
      if (n++ == 6) std::fill(m->data.begin(), m->data.end(), 'x');  // member 6 = sample 2's .jpg
      writer.add(m->name, m->data);
    }
    writer.finish();
  }
  fs::rename(dir / "bad.tar", shard);
  auto o = options(4, 1);
  o.shuffle = false;
  {
    KnowledgeLoader loader(shards(dir / "shards", 1, 1, 1), o);
    const auto e = error_of([&] { epoch_of(loader, 0); });
    EXPECT_NE(std::string(e.what()).find("train-000000.tar:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(".jpg"), std::string::npos) << e.what();
  }
  o.on_bad_sample = BadSamplePolicy::skip;
  KnowledgeLoader loader(shards(dir / "shards", 1, 1, 1), o);
  const auto batches = epoch_of(loader, 0);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].indices.numel(), 3);  // sample 2 left out
  EXPECT_EQ(batches[1].indices.numel(), 4);
  EXPECT_EQ(loader.bad_samples(), 1);
  for (int64_t m = 0; m < 3; ++m) EXPECT_NE(batches[0].indices[m].item<int64_t>(), 2);
}

TEST(WebDatasetKnowledge, AShortShardStopsTheLoaderUnderEveryPolicy) {
  ScratchDir dir;
  const auto source = tree(dir / "tree", 8);
  pack(*source, dir / "shards", {4, 4}, KnowledgeEncoding::png);
  // Shard 1 holds only its first 3 samples now (a set packed again without updating the index).
  {
    sgmim::io::TarReader reader((dir / "shards" / "train-000001.tar").string());
    sgmim::io::TarWriter writer((dir / "cut.tar").string());
    for (int n = 0; n < 9; ++n) {
      auto m = reader.next();
      writer.add(m->name, m->data);
    }
    writer.finish();
  }
  fs::rename(dir / "cut.tar", dir / "shards" / "train-000001.tar");
  auto o = options(4, 2);
  o.shuffle = false;
  o.on_bad_sample = BadSamplePolicy::skip;
  KnowledgeLoader loader(shards(dir / "shards", 2, 1, 1), o);
  const auto e = error_of([&] { epoch_of(loader, 0); });
  EXPECT_NE(std::string(e.what()).find("train-000001.tar' ends after 3 samples; its count says 4"), std::string::npos)
      << e.what();
}

TEST(WebDatasetKnowledge, WithoutAnIndexTheShardsAreCountedAndBadListsAreNamed) {
  ScratchDir dir;
  const auto source = tree(dir / "tree", 12);
  pack(*source, dir / "shards", {5, 7}, KnowledgeEncoding::npy, /*index=*/false);
  const auto set = shards(dir / "shards", 2);
  EXPECT_FALSE(set->index().has_value());
  EXPECT_EQ(set->shard_samples(), (std::vector<int64_t>{5, 7}));
  EXPECT_TRUE(torch::equal(set->get(6, 9).image, source->get(6, 9).image));
  EXPECT_EQ(set->describe(6), (dir / "shards" / "train-000001.tar").string() + " sample 1");

  WebDatasetKnowledgeOptions o;
  o.shards = pattern(dir / "shards", 3);  // train-000002.tar does not exist
  const auto missing = error_of([&] { WebDatasetKnowledgeDataset d(o); });
  EXPECT_EQ(missing.key(), "data.shards");
  EXPECT_NE(std::string(missing.what()).find("train-000002.tar"), std::string::npos);
  o.shards = (dir / "shards" / "train-{000000..000001}.tar").string();
  o.index = (dir / "other.index.json").string();
  ShardIndex other;
  other.shards = {{"train-000000.tar", 5, 1}};
  write_shard_index(other, *o.index);
  const auto unlisted = error_of([&] { WebDatasetKnowledgeDataset d(o); });
  EXPECT_NE(std::string(unlisted.what()).find("does not list the shard train-000001.tar"), std::string::npos)
      << unlisted.what();
}
