#include <gtest/gtest.h>

#include <limits>

#include "data/data_test_util.h"
#include "nosync/data/dataset.h"
#include "nosync/data/loader.h"
#include "nosync/data/tensors.h"
#include "nosync/util/tensor_file.h"
#include "support/test_support.h"

namespace nosync::data {
namespace {

using nosync::testing::expect_user_error;
using nosync::testing::TempDir;
using nosync::testing::write_bytes;

util::TensorList features_file(int64_t n_train, int64_t n_test, int64_t d, int64_t classes) {
  torch::manual_seed(3);
  return {{"train_x", torch::randn({n_train, d}, torch::kDouble) * 3 + 1},
          {"train_y", torch::arange(n_train) % classes},
          {"test_x", torch::randn({n_test, d}, torch::kDouble)},
          {"test_y", torch::arange(n_test) % classes}};
}

void replace(util::TensorList& list, const std::string& key, torch::Tensor t) {
  for (auto& [name, value] : list)
    if (name == key) value = t;
}

TEST(TensorsTest, FeatureFileBecomesFloatSplitsWithClassesFromTheLabels) {
  TempDir dir;
  util::save_tensors(dir.file("d.pt"), features_file(40, 10, 5, 12));
  DataOptions o;
  o.format = "tensors";
  o.path = dir.file("d.pt");
  o.val_size = 8;
  const Splits s = load_splits(o);
  EXPECT_EQ(s.train.size(), 32);
  EXPECT_EQ(s.val.size(), 8);
  EXPECT_EQ(s.test.size(), 10);
  EXPECT_EQ(s.train.inputs.scalar_type(), torch::kFloat);
  EXPECT_EQ(s.train.num_classes, 12);  // from the labels: more than 10 classes work
  EXPECT_EQ(s.train.shape(), (Shape{1, 1, 5}));
  // Per-feature normalization: the training split's features become mean 0, std 1.
  ASSERT_EQ(s.norm.mean.size(), 5u);
  const torch::Tensor f = normalized_features(s.train, s.norm);
  EXPECT_LT(f.mean(0).abs().max().item<double>(), 1e-5);
  EXPECT_LT((f.std(0, false) - 1).abs().max().item<double>(), 1e-4);
  LoaderOptions lo;
  lo.batch_size = 4;
  BatchLoader loader(s.train, s.norm, lo);
  EXPECT_EQ(loader.next().x.sizes(), (std::vector<int64_t>{4, 5}));
}

TEST(TensorsTest, ImagesAndAValidationSplitFromTheFile) {
  TempDir dir;
  util::TensorList t = {{"train_x", torch::randint(0, 256, {20, 6, 6}).to(torch::kUInt8)},
                        {"train_y", torch::arange(20) % 3},
                        {"val_x", torch::randint(0, 256, {7, 6, 6}).to(torch::kUInt8)},
                        {"val_y", torch::arange(7) % 3},
                        {"test_x", torch::randint(0, 256, {5, 6, 6}).to(torch::kUInt8)},
                        {"test_y", torch::arange(5).to(torch::kInt32) % 3}};
  util::save_tensors(dir.file("img.pt"), t);
  DataOptions o;
  o.format = "tensors";
  o.path = dir.file("img.pt");
  const Splits s = load_splits(o);  // data.val_size (5000 by default) is not used: the file has val_*
  EXPECT_EQ(s.train.size(), 20);
  EXPECT_EQ(s.val.size(), 7);
  EXPECT_EQ(s.train.inputs.sizes(), (std::vector<int64_t>{20, 1, 6, 6}));  // N x H x W: one channel
  EXPECT_TRUE(torch::equal(s.val.inputs.squeeze(1), t[2].second));
  EXPECT_EQ(s.test.labels.scalar_type(), torch::kInt64);
}

TEST(TensorsTest, EveryBadFileIsAUserErrorNamingFileAndKey) {
  TempDir dir;
  auto refused = [&](util::TensorList list, const std::vector<std::string>& needles) {
    util::save_tensors(dir.file("bad.pt"), list);
    std::vector<std::string> all = needles;
    all.push_back("bad.pt");
    expect_user_error([&] { read_tensor_file(dir.file("bad.pt")); }, all);
  };
  auto base = [] { return features_file(12, 6, 3, 2); };
  {
    auto l = base();
    l.pop_back();
    refused(l, {"no key 'test_y'"});
  }
  {
    auto l = base();
    replace(l, "train_y", torch::zeros({12}, torch::kFloat));
    refused(l, {"train_y", "integer class labels", "Float"});
  }
  {
    auto l = base();
    replace(l, "train_y", torch::zeros({11}, torch::kLong));
    refused(l, {"train_y", "11 labels for 12 samples"});
  }
  {
    auto l = base();
    replace(l, "test_y", torch::full({6}, -1, torch::kLong));
    refused(l, {"test_y", "negative"});
  }
  {
    auto l = base();
    replace(l, "train_x", torch::full({12, 3}, std::numeric_limits<double>::quiet_NaN()));
    refused(l, {"train_x", "NaN"});
  }
  {
    auto l = base();
    replace(l, "train_x", torch::zeros({12, 3, 2, 2, 2}));
    refused(l, {"train_x", "N x C x H x W or features N x D", "[12, 3, 2, 2, 2]"});
  }
  {
    auto l = base();
    replace(l, "test_x", torch::zeros({6, 4}));
    util::save_tensors(dir.file("bad.pt"), l);
    DataOptions o;
    o.format = "tensors";
    o.path = dir.file("bad.pt");
    o.val_size = 2;
    expect_user_error([&] { load_splits(o); }, {"samples of 3", "has 4", "same shape"});
  }
  {
    auto l = base();
    l.push_back({"val_x", torch::zeros({2, 3})});
    refused(l, {"val_x without val_y"});
  }
  {
    auto l = base();
    l.push_back({"labels", torch::zeros({2})});
    refused(l, {"unknown key 'labels'"});
  }
  {
    auto l = base();
    replace(l, "train_y", torch::zeros({12}, torch::kLong));
    replace(l, "test_y", torch::zeros({6}, torch::kLong));
    refused(l, {"1 class(es)"});
  }
  {  // an empty test set: refused for every command (load_splits), not reported as 0 %
    auto l = base();
    replace(l, "test_x", torch::zeros({0, 3}));
    replace(l, "test_y", torch::zeros({0}, torch::kLong));
    util::save_tensors(dir.file("bad.pt"), l);
    DataOptions o;
    o.format = "tensors";
    o.path = dir.file("bad.pt");
    o.val_size = 2;
    expect_user_error([&] { load_splits(o); }, {"the test set is empty"});
  }
  write_bytes(dir.file("bad.pt"), {'n', 'o', 't', ' ', 'a', ' ', 'z', 'i', 'p'});
  expect_user_error([&] { read_tensor_file(dir.file("bad.pt")); }, {"bad.pt", "cannot read tensors"});
  expect_user_error([&] { read_tensor_file(dir.file("none.pt")); }, {"none.pt"});
  expect_user_error([&] { read_tensor_file(""); }, {"data.path is empty"});
}

}  // namespace
}  // namespace nosync::data
