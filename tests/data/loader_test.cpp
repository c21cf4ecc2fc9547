#include "nosync/data/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "data/data_test_util.h"

namespace nosync::data {
namespace {

using nosync::testing::expect_user_error;

// n samples of 1 x 2 x 2 whose pixels encode the sample index (identity normalization gives
// x = byte / 255, so the index can be read back from a batch).
Dataset indexed_dataset(int64_t n) {
  Dataset ds;
  ds.inputs = torch::zeros({n, 1, 2, 2}, torch::kUInt8);
  ds.labels = torch::empty({n}, torch::kInt64);
  auto img = ds.inputs.accessor<uint8_t, 4>();
  for (int64_t i = 0; i < n; ++i) {
    img[i][0][0][0] = static_cast<uint8_t>(i & 0xff);
    img[i][0][0][1] = static_cast<uint8_t>(i >> 8);
    img[i][0][1][0] = 1;
    ds.labels[i] = i % 10;
  }
  ds.num_classes = 10;
  ds.source = "indexed";
  return ds;
}

std::vector<int64_t> batch_ids(const Batch& b) {
  std::vector<int64_t> ids;
  auto x = b.x.accessor<float, 4>();
  for (int64_t i = 0; i < b.x.size(0); ++i) {
    const int64_t id = std::lround(x[i][0][0][0] * 255) + 256 * std::lround(x[i][0][0][1] * 255);
    EXPECT_EQ(b.y[i].item<int64_t>(), id % 10);  // labels travel with their images
    ids.push_back(id);
  }
  return ids;
}

std::vector<int64_t> epoch_ids(BatchLoader& loader) {
  std::vector<int64_t> ids;
  for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    auto part = batch_ids(loader.next());
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

LoaderOptions options(int64_t batch, uint64_t seed, bool shuffle = true) {
  LoaderOptions o;
  o.batch_size = batch;
  o.seed = seed;
  o.shuffle = shuffle;
  return o;
}

TEST(LoaderTest, EverySampleOncePerEpoch) {
  Dataset ds = indexed_dataset(103);
  BatchLoader loader(ds, Normalization::identity(1), options(10, 5));
  EXPECT_EQ(loader.batches_per_epoch(), 10);  // the incomplete last batch is dropped
  std::vector<std::vector<int64_t>> epochs;
  for (int e = 0; e < 3; ++e) {
    EXPECT_EQ(loader.epoch(), e);
    auto ids = epoch_ids(loader);
    ASSERT_EQ(ids.size(), 100u);
    std::set<int64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), 100u) << "a sample repeated within epoch " << e;
    EXPECT_GE(*unique.begin(), 0);
    EXPECT_LT(*unique.rbegin(), 103);
    epochs.push_back(ids);
  }
  EXPECT_EQ(loader.position(), 30);
  EXPECT_NE(epochs[0], epochs[1]);  // a new shuffle every epoch
  EXPECT_NE(epochs[1], epochs[2]);
}

TEST(LoaderTest, SeedsDetermineOrder) {
  Dataset ds = indexed_dataset(64);
  BatchLoader a(ds, Normalization::identity(1), options(8, 1));
  BatchLoader b(ds, Normalization::identity(1), options(8, 1));
  BatchLoader c(ds, Normalization::identity(1), options(8, 2));
  const auto ea = epoch_ids(a), eb = epoch_ids(b), ec = epoch_ids(c);
  EXPECT_EQ(ea, eb);
  EXPECT_NE(ea, ec);
  // The global torch RNG (used for model init) has no influence.
  torch::manual_seed(99);
  BatchLoader d(ds, Normalization::identity(1), options(8, 1));
  EXPECT_EQ(epoch_ids(d), ea);
}

TEST(LoaderTest, NoShuffleIsIdentityOrder) {
  Dataset ds = indexed_dataset(25);
  BatchLoader loader(ds, Normalization::identity(1), options(5, 3, /*shuffle=*/false));
  for (int e = 0; e < 2; ++e) {
    auto ids = epoch_ids(loader);
    for (int64_t i = 0; i < 25; ++i) EXPECT_EQ(ids[i], i);
  }
}

TEST(LoaderTest, BuffersAreReused) {
  Dataset ds = indexed_dataset(40);
  BatchLoader loader(ds, Normalization::identity(1), options(10, 3));
  Batch first = loader.next();
  void* ptr = first.x.data_ptr();
  const auto kept = first.x.clone();
  Batch second = loader.next();
  EXPECT_EQ(second.x.data_ptr(), ptr);
  EXPECT_FALSE(torch::equal(first.x, kept));  // overwritten, as documented
}

TEST(LoaderTest, ShardsAreDisjointAndCover) {
  Dataset ds = indexed_dataset(90);
  std::vector<int64_t> all;
  for (int64_t shard = 0; shard < 3; ++shard) {
    LoaderOptions o = options(10, 7);
    o.shard_index = shard;
    o.shard_count = 3;
    BatchLoader loader(ds, Normalization::identity(1), o);
    EXPECT_EQ(loader.batches_per_epoch(), 3);
    for (int e = 0; e < 2; ++e) {
      auto ids = epoch_ids(loader);
      for (int64_t id : ids) EXPECT_EQ(id % 3, shard);
      std::set<int64_t> unique(ids.begin(), ids.end());
      EXPECT_EQ(unique.size(), 30u);
      if (e == 0) all.insert(all.end(), ids.begin(), ids.end());
    }
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 90u);
  for (int64_t i = 0; i < 90; ++i) EXPECT_EQ(all[i], i);
}

TEST(LoaderTest, BatchLargerThanShardIsUserError) {
  Dataset ds = indexed_dataset(30);
  expect_user_error([&] { BatchLoader(ds, Normalization::identity(1), options(31, 1)); },
                    {"train.batch_size = 31", "30 samples"});
  LoaderOptions o = options(11, 1);
  o.shard_count = 3;
  expect_user_error([&] { BatchLoader(ds, Normalization::identity(1), o); }, {"train.batch_size = 11", "10 samples"});
  expect_user_error([&] { BatchLoader(ds, Normalization::identity(1), options(0, 1)); }, {"train.batch_size = 0"});
  o = options(4, 1);
  o.augment_crop = 2;  // images are 2x2
  expect_user_error([&] { BatchLoader(ds, Normalization::identity(1), o); }, {"data.augment_crop = 2"});
}

// n random uint8 images of c x h x w (not from the global torch RNG).
Dataset random_images(int64_t n, int64_t c, int64_t h, int64_t w) {
  Dataset ds;
  ds.inputs = torch::empty({n, c, h, w}, torch::kUInt8);
  ds.labels = torch::empty({n}, torch::kInt64);
  std::mt19937_64 rng(n * 1000 + c * 100 + h * 10 + w);
  uint8_t* p = ds.inputs.data_ptr<uint8_t>();
  for (int64_t i = 0; i < ds.inputs.numel(); ++i) p[i] = static_cast<uint8_t>(rng() >> 56);
  for (int64_t i = 0; i < n; ++i) ds.labels[i] = static_cast<int64_t>(rng() % 10);
  ds.num_classes = 10;
  ds.source = "random";
  return ds;
}

TEST(LoaderTest, SeekReproducesSequentialBatchesWithAugmentation) {
  Dataset ds = random_images(70, 3, 8, 8);
  Normalization norm = Normalization::from(ds);
  LoaderOptions o = options(16, 21);
  o.augment_crop = 2;
  o.augment_flip = true;
  BatchLoader seq(ds, norm, o);
  ASSERT_EQ(seq.batches_per_epoch(), 4);
  std::vector<Batch> batches;
  for (int i = 0; i < 13; ++i) {  // more than three epochs
    Batch b = seq.next();
    batches.push_back({b.x.clone(), b.y.clone()});
  }
  BatchLoader jump(ds, norm, o);
  for (int64_t k : {7, 2, 12, 0, 4, 11, 5}) {
    jump.seek(k);
    EXPECT_EQ(jump.position(), k);
    Batch b = jump.next();
    EXPECT_TRUE(torch::equal(b.x, batches[k].x)) << "batch " << k;
    EXPECT_TRUE(torch::equal(b.y, batches[k].y)) << "batch " << k;
    EXPECT_EQ(jump.position(), k + 1);
  }
  // Augmentation changed something, and differs between epochs for the same sample order slot.
  LoaderOptions plain = o;
  plain.augment_crop = 0;
  plain.augment_flip = false;
  BatchLoader p(ds, norm, plain);
  EXPECT_FALSE(torch::equal(p.next().x, batches[0].x));
  EXPECT_TRUE(torch::equal(p.next().y, batches[1].y));  // same order with and without augmentation
}

// Each augmented sample is exactly some crop (offset in [-p, p]^2, black padding) of the
// original, optionally mirrored; over a batch both flips and several offsets occur.
TEST(LoaderTest, AugmentationIsCropAndFlip) {
  const int64_t h = 6, w = 7, pad = 2;
  Dataset ds = random_images(40, 2, h, w);
  Normalization norm = Normalization::from(ds);
  const torch::Tensor feats = normalized_features(ds, norm);
  LoaderOptions o = options(40, 3, /*shuffle=*/false);
  o.augment_crop = pad;
  o.augment_flip = true;
  BatchLoader loader(ds, norm, o);
  Batch b = loader.next();
  int flips = 0;
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (int64_t i = 0; i < 40; ++i) {
    bool matched = false;
    for (int flip = 0; flip < 2 && !matched; ++flip) {
      for (int64_t dy = -pad; dy <= pad && !matched; ++dy) {
        for (int64_t dx = -pad; dx <= pad && !matched; ++dx) {
          torch::Tensor expect = torch::empty({2, h, w});
          for (int64_t c = 0; c < 2; ++c) {
            const float black = -norm.mean[c] / norm.std[c];
            for (int64_t y = 0; y < h; ++y)
              for (int64_t x = 0; x < w; ++x) {
                const int64_t sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
                expect[c][y][x] = (sy < 0 || sy >= h || sx < 0 || sx >= w) ? black
                                                                           : feats[i][c][sy][sx].item<float>();
              }
          }
          if (torch::equal(expect, b.x[i])) {
            matched = true;
            flips += flip;
            offsets.insert({dy, dx});
          }
        }
      }
    }
    EXPECT_TRUE(matched) << "sample " << i << " is not a crop/flip of the original";
  }
  EXPECT_GT(flips, 5);
  EXPECT_LT(flips, 35);
  EXPECT_GT(offsets.size(), 5u);
}

TEST(LoaderTest, NormalizedFeaturesHaveZeroMeanUnitStd) {
  Dataset ds = random_images(500, 3, 8, 8);
  Normalization norm = Normalization::from(ds);
  ASSERT_EQ(norm.mean.size(), 3u);
  torch::Tensor f = normalized_features(ds, norm);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{500, 3, 8, 8}));
  EXPECT_EQ(f.scalar_type(), torch::kFloat32);
  for (int64_t c = 0; c < 3; ++c) {
    auto ch = f.select(1, c).to(torch::kFloat64);
    EXPECT_NEAR(ch.mean().item<double>(), 0.0, 1e-4) << c;
    EXPECT_NEAR(ch.std(false).item<double>(), 1.0, 1e-4) << c;
  }
  // Identity normalization is x / 255.
  torch::Tensor g = normalized_features(ds, Normalization::identity(3));
  EXPECT_TRUE(torch::allclose(g, ds.inputs.to(torch::kFloat32) / 255.0));
  // The loader's batches are rows of the normalized features.
  BatchLoader loader(ds, norm, options(500, 0, false));
  EXPECT_TRUE(torch::equal(loader.next().x, f));
}

// The prefetching loader yields exactly the batches of the plain one: in order, across epochs,
// with augmentation and shards, and after seeks that land behind or ahead of what the
// background thread has prepared.
TEST(LoaderTest, PrefetchYieldsThePlainStream) {
  Dataset ds = random_images(90, 3, 8, 8);
  Normalization norm = Normalization::from(ds);
  LoaderOptions o = options(8, 17);
  o.augment_crop = 2;
  o.augment_flip = true;
  o.shard_index = 1;
  o.shard_count = 2;
  BatchLoader plain(ds, norm, o);
  ASSERT_EQ(plain.batches_per_epoch(), 5);
  std::vector<Batch> expected;
  for (int i = 0; i < 23; ++i) {
    Batch b = plain.next();
    expected.push_back({b.x.clone(), b.y.clone()});
  }
  for (int64_t prefetch : {1, 2, 5}) {
    o.prefetch = prefetch;
    BatchLoader ahead(ds, norm, o);
    for (int64_t k = 0; k < 12; ++k) {
      Batch b = ahead.next();
      EXPECT_TRUE(torch::equal(b.x, expected[k].x)) << "prefetch " << prefetch << " batch " << k;
      EXPECT_TRUE(torch::equal(b.y, expected[k].y)) << "prefetch " << prefetch << " batch " << k;
      EXPECT_EQ(ahead.position(), k + 1);
    }
    for (int64_t k : {3, 20, 21, 0, 9, 9}) {  // resume-style seeks, backwards and forwards
      ahead.seek(k);
      EXPECT_EQ(ahead.position(), k);
      for (int64_t j = k; j < std::min<int64_t>(k + 3, 23); ++j) {
        Batch b = ahead.next();
        EXPECT_TRUE(torch::equal(b.x, expected[j].x)) << "prefetch " << prefetch << " seek " << k << " batch " << j;
        EXPECT_TRUE(torch::equal(b.y, expected[j].y)) << "prefetch " << prefetch << " seek " << k << " batch " << j;
      }
    }
  }
  // A loader that is never read shuts its thread down cleanly.
  o.prefetch = 3;
  { BatchLoader unused(ds, norm, o); }
}

TEST(LoaderTest, NegativePrefetchIsUserError) {
  Dataset ds = indexed_dataset(40);
  LoaderOptions o = options(10, 3);
  o.prefetch = -1;
  expect_user_error([&] { BatchLoader(ds, Normalization::identity(1), o); }, {"train.prefetch"});
}

TEST(LoaderTest, NextIsFast) {
  Dataset ds = random_images(4096, 3, 32, 32);
  LoaderOptions o = options(128, 1);
  o.augment_crop = 4;
  o.augment_flip = true;
  BatchLoader loader(ds, Normalization::from(ds), o);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 64; ++i) loader.next();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "    64 augmented 128x3x32x32 batches: " << ms << " ms (" << ms / 64 << " ms/batch)\n";
}

}  // namespace
}  // namespace nosync::data
