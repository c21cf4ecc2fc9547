#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "data/data_test_util.h"
#include "nosync/data/dataset.h"
#include "nosync/data/idx.h"
#include "nosync/data/paths.h"
#include "nosync/data/synthetic.h"
#include "support/test_support.h"

namespace nosync::data {
namespace {

using nosync::testing::expect_user_error;
using nosync::testing::gzip;
using nosync::testing::idx_images;
using nosync::testing::idx_labels;
using nosync::testing::TempDir;
using nosync::testing::test_pixel;
using nosync::testing::write_bytes;

DataOptions synthetic_options() {
  DataOptions o;
  o.format = "synthetic";
  o.synthetic_train = 300;
  o.synthetic_test = 80;
  o.synthetic_classes = 3;
  o.synthetic_size = 6;
  o.synthetic_seed = 11;
  o.val_size = 50;
  return o;
}

TEST(SplitsTest, SyntheticSizesAndDisjointValidation) {
  DataOptions o = synthetic_options();
  Splits s = load_splits(o);
  EXPECT_EQ(s.train.size(), 250);
  EXPECT_EQ(s.val.size(), 50);
  EXPECT_EQ(s.test.size(), 80);
  EXPECT_EQ(s.train.shape(), (Shape{1, 6, 6}));
  EXPECT_EQ(s.val.num_classes, 3);
  // val = the last 50 samples of the training set, train = the rest: disjoint by position.
  SyntheticSets full = make_synthetic(300, 80, 3, 6, 11);
  EXPECT_TRUE(torch::equal(s.train.inputs, full.train.inputs.slice(0, 0, 250)));
  EXPECT_TRUE(torch::equal(s.val.inputs, full.train.inputs.slice(0, 250, 300)));
  EXPECT_TRUE(torch::equal(s.val.labels, full.train.labels.slice(0, 250, 300)));
  EXPECT_TRUE(torch::equal(s.test.inputs, full.test.inputs));
  // Splits share no storage with each other.
  EXPECT_NE(s.train.inputs.data_ptr(), s.val.inputs.data_ptr());
  s.val.inputs.fill_(0);
  EXPECT_TRUE(torch::equal(s.train.inputs, full.train.inputs.slice(0, 0, 250)));
}

TEST(SplitsTest, Limits) {
  DataOptions o = synthetic_options();
  o.train_limit = 100;
  o.test_limit = 30;
  Splits s = load_splits(o);
  EXPECT_EQ(s.train.size(), 100);
  EXPECT_EQ(s.val.size(), 50);
  EXPECT_EQ(s.test.size(), 30);
  SyntheticSets full = make_synthetic(300, 80, 3, 6, 11);
  EXPECT_TRUE(torch::equal(s.train.labels, full.train.labels.slice(0, 0, 100)));
  EXPECT_TRUE(torch::equal(s.val.labels, full.train.labels.slice(0, 250, 300)));  // val unaffected by the limit
  EXPECT_TRUE(torch::equal(s.test.labels, full.test.labels.slice(0, 0, 30)));
  o.val_size = 0;
  o.train_limit = 0;
  o.test_limit = 0;
  s = load_splits(o);
  EXPECT_EQ(s.train.size(), 300);
  EXPECT_EQ(s.val.size(), 0);
  EXPECT_EQ(s.val.shape(), (Shape{1, 6, 6}));
}

TEST(SplitsTest, BadOptionsNameTheKey) {
  DataOptions o = synthetic_options();
  o.val_size = 300;
  expect_user_error([&] { load_splits(o); }, {"data.val_size = 300", "300 samples"});
  o.val_size = -1;
  expect_user_error([&] { load_splits(o); }, {"data.val_size"});
  o = synthetic_options();
  o.train_limit = 251;
  expect_user_error([&] { load_splits(o); }, {"data.train_limit = 251", "250"});
  o.train_limit = -5;
  expect_user_error([&] { load_splits(o); }, {"data.train_limit"});
  o = synthetic_options();
  o.test_limit = 81;
  expect_user_error([&] { load_splits(o); }, {"data.test_limit = 81", "80"});
  o = synthetic_options();
  o.format = "mnist";
  expect_user_error([&] { load_splits(o); }, {"data.format", "mnist"});
  o = synthetic_options();
  o.augment_crop = -1;
  expect_user_error([&] { load_splits(o); }, {"data.augment_crop"});
  o = synthetic_options();
  o.synthetic_classes = 0;
  expect_user_error([&] { load_splits(o); }, {"data.synthetic_classes"});
}

TEST(SplitsTest, NormalizationFromTrainingSplit) {
  DataOptions o = synthetic_options();
  Splits s = load_splits(o);
  ASSERT_EQ(s.norm.mean.size(), 1u);
  const auto x = s.train.inputs.to(torch::kFloat64) / 255.0;
  EXPECT_NEAR(s.norm.mean[0], x.mean().item<double>(), 1e-5);
  EXPECT_NEAR(s.norm.std[0], x.std(/*unbiased=*/false).item<double>(), 1e-5);
  o.normalize = false;
  s = load_splits(o);
  EXPECT_EQ(s.norm.mean, std::vector<float>{0.0f});
  EXPECT_EQ(s.norm.std, std::vector<float>{1.0f});
  // Constant images: std falls back to 1 rather than dividing by zero.
  Dataset flat;
  flat.inputs = torch::full({4, 2, 3, 3}, 51, torch::kUInt8);
  flat.labels = torch::zeros({4}, torch::kInt64);
  Normalization n = Normalization::from(flat);
  EXPECT_NEAR(n.mean[1], 0.2f, 1e-6);
  EXPECT_EQ(n.std[1], 1.0f);
}

TEST(SplitsTest, IdxFromDirectory) {
  TempDir dir;
  std::vector<uint8_t> train_labels, test_labels;
  for (int i = 0; i < 40; ++i) train_labels.push_back(static_cast<uint8_t>(i % 10));
  for (int i = 0; i < 12; ++i) test_labels.push_back(static_cast<uint8_t>((i * 3) % 10));
  write_bytes(dir.file("train-images-idx3-ubyte.gz"), gzip(idx_images(40, 5, 5, test_pixel)));
  write_bytes(dir.file("train-labels-idx1-ubyte.gz"), gzip(idx_labels(train_labels)));
  write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_images(12, 5, 5, test_pixel));
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_labels(test_labels));
  DataOptions o;
  o.dir = dir.path();
  o.val_size = 10;
  Splits s = load_splits(o);
  EXPECT_EQ(s.train.size(), 30);
  EXPECT_EQ(s.val.size(), 10);
  EXPECT_EQ(s.test.size(), 12);
  EXPECT_EQ(s.val.labels[0].item<int64_t>(), 0);  // sample 30
  EXPECT_EQ(s.val.inputs[0][0][0][0].item<uint8_t>(), test_pixel(30, 0, 0));
  // Test images of another shape are refused.
  write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_images(12, 4, 5, test_pixel));
  expect_user_error([&] { load_splits(o); }, {"1x5x5", "1x4x5", "t10k-images-idx3-ubyte"});
  o.dir = dir.file("missing");
  expect_user_error([&] { load_splits(o); }, {dir.file("missing")});
}

TEST(SplitsTest, SliceCopies) {
  SyntheticSets s = make_synthetic(20, 5, 3, 4, 1);
  Dataset part = s.train.slice(5, 9);
  EXPECT_EQ(part.size(), 4);
  EXPECT_TRUE(part.inputs.is_contiguous());
  EXPECT_TRUE(torch::equal(part.labels, s.train.labels.slice(0, 5, 9)));
  part.inputs.fill_(0);
  EXPECT_FALSE(torch::equal(part.inputs, s.train.inputs.slice(0, 5, 9)));
  EXPECT_EQ(s.train.slice(3, 3).size(), 0);
}

// The real, packaged Fashion-MNIST.
TEST(SplitsTest, RealFashionMnist) {
  ASSERT_TRUE(std::filesystem::exists(kDefaultDataDir)) << kDefaultDataDir << " missing: run scripts/install-deps.sh";
  const auto start = std::chrono::steady_clock::now();
  Splits s = load_splits(DataOptions{});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "    Fashion-MNIST load_splits (default options): " << seconds << " s\n";
  EXPECT_EQ(s.train.size(), 55000);
  EXPECT_EQ(s.val.size(), 5000);
  EXPECT_EQ(s.test.size(), 10000);
  EXPECT_EQ(s.train.shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(s.train.num_classes, 10);
  EXPECT_EQ(s.train.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(s.train.labels.max().item<int64_t>(), 9);
  // Known statistics of Fashion-MNIST's training images: mean ~0.286, std ~0.353.
  EXPECT_NEAR(s.norm.mean[0], 0.286, 0.01);
  EXPECT_NEAR(s.norm.std[0], 0.353, 0.01);

  const auto t0 = std::chrono::steady_clock::now();
  Dataset train = read_idx_split(kDefaultDataDir, "train");
  Dataset test = read_idx_split(kDefaultDataDir, "t10k");
  const double raw = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "    Fashion-MNIST read_idx_split train + t10k: " << raw << " s\n";
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.inputs.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  // Balanced: 6000 training and 1000 test images per class.
  EXPECT_TRUE(torch::equal(train.labels.bincount(), torch::full({10}, 6000, torch::kInt64)));
  EXPECT_TRUE(torch::equal(test.labels.bincount(), torch::full({10}, 1000, torch::kInt64)));
  EXPECT_LT(seconds, 5.0);  // generous bound; expected well under 2 s
}

}  // namespace
}  // namespace nosync::data
