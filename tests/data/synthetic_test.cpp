#include "nosync/data/synthetic.h"

#include <gtest/gtest.h>

#include "data/data_test_util.h"

namespace nosync::data {
namespace {

using nosync::testing::expect_user_error;

TEST(SyntheticTest, ShapesAndLabels) {
  SyntheticSets s = make_synthetic(200, 50, 4, 12, 7);
  EXPECT_EQ(s.train.inputs.sizes(), (std::vector<int64_t>{200, 1, 12, 12}));
  EXPECT_EQ(s.test.inputs.sizes(), (std::vector<int64_t>{50, 1, 12, 12}));
  EXPECT_EQ(s.train.inputs.scalar_type(), torch::kUInt8);
  EXPECT_EQ(s.train.labels.scalar_type(), torch::kInt64);
  EXPECT_EQ(s.train.num_classes, 4);
  EXPECT_EQ(s.test.num_classes, 4);
  EXPECT_GE(s.train.labels.min().item<int64_t>(), 0);
  EXPECT_LE(s.train.labels.max().item<int64_t>(), 3);
  EXPECT_GE(s.test.labels.min().item<int64_t>(), 0);
  EXPECT_LE(s.test.labels.max().item<int64_t>(), 3);
  // Every class appears.
  auto counts = s.train.labels.bincount();
  ASSERT_EQ(counts.numel(), 4);
  EXPECT_GT(counts.min().item<int64_t>(), 20);
}

TEST(SyntheticTest, DeterministicInSeedAndIndependentOfGlobalRng) {
  torch::manual_seed(1);
  SyntheticSets a = make_synthetic(300, 60, 5, 8, 42);
  torch::manual_seed(2);
  (void)torch::rand({10});
  SyntheticSets b = make_synthetic(300, 60, 5, 8, 42);
  EXPECT_TRUE(torch::equal(a.train.inputs, b.train.inputs));
  EXPECT_TRUE(torch::equal(a.train.labels, b.train.labels));
  EXPECT_TRUE(torch::equal(a.test.inputs, b.test.inputs));
  EXPECT_TRUE(torch::equal(a.test.labels, b.test.labels));
  SyntheticSets c = make_synthetic(300, 60, 5, 8, 43);
  EXPECT_FALSE(torch::equal(a.train.inputs, c.train.inputs));
  // The test set does not depend on how many training samples were drawn.
  SyntheticSets d = make_synthetic(100, 60, 5, 8, 42);
  EXPECT_TRUE(torch::equal(a.test.inputs, d.test.inputs));
  EXPECT_TRUE(torch::equal(a.train.inputs.slice(0, 0, 100), d.train.inputs));
}

TEST(SyntheticTest, RejectsBadParameters) {
  expect_user_error([] { make_synthetic(0, 10, 4, 12, 1); }, {"data.synthetic_train"});
  expect_user_error([] { make_synthetic(10, -1, 4, 12, 1); }, {"data.synthetic_test"});
  expect_user_error([] { make_synthetic(10, 10, 1, 12, 1); }, {"data.synthetic_classes"});
  expect_user_error([] { make_synthetic(10, 10, 4, 0, 1); }, {"data.synthetic_size"});
}

// The point of the set: a small MLP learns it to high accuracy, and the test set shares the
// training set's prototypes. Samples are noisy: a single pixel does not give the class away.
TEST(SyntheticTest, LearnableBySmallMlp) {
  SyntheticSets s = make_synthetic(2048, 512, 4, 12, 7);
  auto features = [](const Dataset& d) { return (d.inputs.to(torch::kFloat32) / 255.0 - 0.5).flatten(1); };
  torch::Tensor xtr = features(s.train), xte = features(s.test);
  torch::manual_seed(0);
  torch::nn::Sequential mlp(torch::nn::Linear(144, 32), torch::nn::ReLU(), torch::nn::Linear(32, 4));
  torch::optim::SGD opt(mlp->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (int64_t b = 0; b + 64 <= 2048; b += 64) {
      opt.zero_grad();
      auto loss = torch::cross_entropy_loss(mlp->forward(xtr.slice(0, b, b + 64)), s.train.labels.slice(0, b, b + 64));
      loss.backward();
      opt.step();
    }
  }
  torch::NoGradGuard ng;
  const double acc = mlp->forward(xte).argmax(1).eq(s.test.labels).to(torch::kFloat64).mean().item<double>();
  std::cout << "    synthetic test accuracy after 3 epochs: " << acc << "\n";
  EXPECT_GT(acc, 0.95);
  // Noisy: within one class, pixels vary a lot around the prototype.
  const auto class0 = s.train.inputs.index({s.train.labels.eq(0)}).to(torch::kFloat32);
  const double noise = class0.std(0).mean().item<double>();
  std::cout << "    within-class pixel std: " << noise << "\n";
  EXPECT_GT(noise, 30.0);
}

}  // namespace
}  // namespace nosync::data
