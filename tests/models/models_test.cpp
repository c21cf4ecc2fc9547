// Model registry: output shapes, PyTorch parameter names, sizes, bad options.
#include <gtest/gtest.h>

#include "nosync/models/ops.h"
#include "nosync/models/registry.h"
#include "nosync/util/error.h"

namespace nosync::models {
namespace {

std::vector<std::string> state_names(const NetImpl& net) {
  std::vector<std::string> names;
  for (const auto& p : net.named_parameters()) names.push_back(p.key());
  for (const auto& b : net.named_buffers()) names.push_back(b.key());
  return names;
}

TEST(Models, CnnIsTheReferenceNetwork) {
  torch::manual_seed(0);
  auto net = build_model({"cnn", 1.0, 0}, {1, 28, 28}, 10);
  EXPECT_EQ(state_names(*net), (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                                         "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  // 1->32 conv3x3, 32->64 conv3x3, 64*7*7 -> 128, 128 -> 10
  EXPECT_EQ(parameter_count(*net), 320 + 18496 + 401536 + 1290);
  EXPECT_EQ(net->forward(torch::zeros({5, 1, 28, 28})).sizes(), (std::vector<int64_t>{5, 10}));
}

TEST(Models, MlpNamesAndDepth) {
  auto net = build_model({"mlp", 0.5, 3}, {1, 8, 8}, 4);
  EXPECT_EQ(state_names(*net),
            (std::vector<std::string>{"hidden.0.weight", "hidden.0.bias", "hidden.1.weight", "hidden.1.bias",
                                      "hidden.2.weight", "hidden.2.bias", "out.weight", "out.bias"}));
  EXPECT_EQ(net->forward(torch::zeros({2, 1, 8, 8})).sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(parameter_count(*net), (64 * 128 + 128) + 2 * (128 * 128 + 128) + (128 * 4 + 4));
}

TEST(Models, ResNet20) {
  auto net = build_model({"resnet", 1.0, 0}, {3, 32, 32}, 10);
  const auto names = state_names(*net);
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_TRUE(has("conv1.weight"));
  EXPECT_TRUE(has("bn1.running_mean"));
  EXPECT_TRUE(has("bn1.num_batches_tracked"));
  EXPECT_TRUE(has("layer1.2.conv2.weight"));
  EXPECT_TRUE(has("layer2.0.downsample.0.weight"));
  EXPECT_TRUE(has("layer3.0.downsample.1.running_var"));
  EXPECT_FALSE(has("layer1.0.downsample.0.weight"));  // same shape: identity shortcut
  EXPECT_FALSE(has("layer3.3.conv1.weight"));         // depth 3 = 3 blocks per stage
  EXPECT_TRUE(has("fc.weight"));
  // 19 weighted conv layers + fc = ResNet-20, plus two 1x1 projection shortcuts.
  int convs = 0;
  for (const auto& n : names) convs += n.find("conv") != std::string::npos && n.find("weight") != std::string::npos;
  EXPECT_EQ(convs, 19);
  EXPECT_EQ(net->forward(torch::zeros({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 10}));
  // Works on 28x28 single-channel input as well.
  auto gray = build_model({"resnet", 0.5, 1}, {1, 28, 28}, 10);
  EXPECT_EQ(gray->forward(torch::zeros({1, 1, 28, 28})).sizes(), (std::vector<int64_t>{1, 10}));
}

TEST(Models, WidthScalesChannels) {
  auto net = build_model({"cnn", 2.0, 3}, {3, 32, 32}, 10);
  auto params = net->named_parameters();
  EXPECT_EQ(params["conv1.weight"].size(0), 64);
  EXPECT_EQ(params["conv3.weight"].size(0), 256);
  EXPECT_EQ(params["fc1.weight"].sizes(), (std::vector<int64_t>{256, 256 * 4 * 4}));
}

TEST(Models, SameSeedSameInit) {
  torch::manual_seed(3);
  auto a = build_model({"cnn", 1.0, 0}, {1, 28, 28}, 10);
  torch::manual_seed(3);
  auto b = build_model({"cnn", 1.0, 0}, {1, 28, 28}, 10);
  for (size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_TRUE(a->parameters()[i].equal(b->parameters()[i]));
}

TEST(Models, BadOptionsAreUserErrors) {
  EXPECT_THROW(build_model({"vgg", 1.0, 0}, {1, 28, 28}, 10), UserError);
  EXPECT_THROW(build_model({"cnn", 1.0, 6}, {1, 28, 28}, 10), UserError);  // 28 >> 6 == 0
  EXPECT_THROW(build_model({"cnn", -1.0, 0}, {1, 28, 28}, 10), UserError);
}

TEST(Models, AClassifierOnTextIsAUserError) {
  data::Dataset text;
  text.task = data::Task::language_model;
  text.inputs = torch::zeros({4, 8}, torch::kUInt8);
  text.labels = torch::zeros({4, 8}, torch::kLong);
  text.num_classes = 256;
  text.source = "corpus.txt";
  for (const char* name : {"mlp", "cnn", "resnet"}) {
    try {
      build_model_for({name, 1.0, 0}, text);
      ADD_FAILURE() << name << " accepted text";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("is a classifier, but corpus.txt is text"), std::string::npos) << e.what();
    }
  }
  data::Dataset images = text;
  images.task = data::Task::classification;
  images.inputs = torch::zeros({4, 1, 8, 8}, torch::kUInt8);
  images.labels = torch::zeros({4}, torch::kLong);
  images.num_classes = 10;
  EXPECT_NE(build_model_for({"cnn", 1.0, 0}, images), nullptr);
}

}  // namespace
}  // namespace nosync::models

// The fused ReLU + max-pool matches ATen's unfused pair in value and gradient.
namespace nosync::models {
namespace {

void check_fused_pool(torch::ScalarType dtype, int64_t h, int64_t w) {
  torch::manual_seed(3);
  auto base = torch::randn({3, 5, h, w});
  base.select(1, 2).zero_();                              // whole windows <= 0: no gradient
  base.narrow(2, 0, 2).narrow(3, 0, 2).select(1, 0).fill_(0.5);  // ties: the first element wins
  auto x_ref = base.to(dtype).contiguous().clone().requires_grad_();
  auto x_cl = base.to(dtype).contiguous(at::MemoryFormat::ChannelsLast).clone(at::MemoryFormat::ChannelsLast).requires_grad_();
  auto y_ref = torch::max_pool2d(torch::relu(x_ref), 2);
  auto y = relu_max_pool2x2(x_cl);
  EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::equal(y.contiguous(), y_ref)) << "values differ for " << h << "x" << w;
  auto g = torch::randn(y_ref.sizes()).to(dtype);
  y_ref.backward(g);
  y.backward(g);
  const auto diff = (x_cl.grad().contiguous().to(torch::kFloat) - x_ref.grad().to(torch::kFloat)).abs();
  EXPECT_TRUE(torch::equal(x_cl.grad().contiguous(), x_ref.grad()))
      << "gradients differ for " << h << "x" << w << " at " << diff.argmax().item<int64_t>() << " by "
      << diff.max().item<float>();
}

TEST(FusedOps, ReluMaxPoolMatchesATenFloat) {
  check_fused_pool(torch::kFloat, 8, 8);
  check_fused_pool(torch::kFloat, 7, 9);  // odd: the last row / column is dropped
}

TEST(FusedOps, ReluMaxPoolMatchesATenBFloat16) {
  check_fused_pool(torch::kBFloat16, 6, 6);
  check_fused_pool(torch::kBFloat16, 5, 4);
}

TEST(FusedOps, ReluMaxPoolFallsBackForContiguousInput) {
  auto x = torch::randn({2, 3, 4, 4});
  EXPECT_TRUE(torch::equal(relu_max_pool2x2(x), torch::max_pool2d(torch::relu(x), 2)));
}

}  // namespace
}  // namespace nosync::models

namespace nosync::models {
namespace {

TEST(Flops, CnnCountedByHand) {
  auto net = build_model({"cnn", 1.0, 0}, {1, 28, 28}, 10);
  // conv1 32x1x3x3 on 28x28, conv2 64x32x3x3 on 14x14, fc1 3136->128, fc2 128->10; 2 per MAC.
  const std::vector<double> expected = {2.0 * 288 * 784, 2.0 * 18432 * 196, 2.0 * 3136 * 128, 2.0 * 128 * 10};
  EXPECT_EQ(net->layer_flops({1, 28, 28}), expected);
  const double forward = expected[0] + expected[1] + expected[2] + expected[3];
  EXPECT_DOUBLE_EQ(training_flops_per_sample(*net, {1, 28, 28}), 3 * forward - expected[0]);
}

TEST(Flops, ResNetStridesAndProjections) {
  auto net = build_model({"resnet", 1.0, 1}, {3, 32, 32}, 10);
  const auto f = net->layer_flops({3, 32, 32});
  // conv1 + 3 blocks x 2 convs + 2 projections + fc
  ASSERT_EQ(f.size(), 1u + 6 + 2 + 1);
  EXPECT_DOUBLE_EQ(f[0], 2.0 * 16 * 3 * 9 * 32 * 32);
  EXPECT_DOUBLE_EQ(f[3], 2.0 * 32 * 16 * 9 * 16 * 16);  // stage 2, conv1: stride 2
  EXPECT_DOUBLE_EQ(f[5], 2.0 * 32 * 16 * 16 * 16);      // its 1x1 projection
  EXPECT_DOUBLE_EQ(f.back(), 2.0 * 64 * 10);
}

}  // namespace
}  // namespace nosync::models
