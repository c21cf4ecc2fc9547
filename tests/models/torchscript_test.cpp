// TorchScript modules from Python (models/torchscript.h): the Python state_dict names, parameters
// shared with the scripted code through train::flatten_parameters, train/eval, batch-norm
// re-estimation, bf16 autocast, and a trained module that Python reloads to the same logits.
// The modules come from tests/python/torchscript_models.py (Debian python3-torch).
#include <algorithm>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "nosync/data/dataset.h"
#include "nosync/models/torchscript.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/trainer.h"
#include "nosync/util/error.h"
#include "support/test_support.h"

namespace nosync::models {
namespace {

const data::Shape kImage{1, 28, 28};

class TorchScript : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string cmd = fmt::format("/usr/bin/python3 {}/tests/python/torchscript_models.py {}", NOSYNC_SOURCE_DIR,
                                        dir_->path());
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n(needs Debian python3-torch: scripts/install-deps.sh)";
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::shared_ptr<TorchScriptNetImpl> load(const std::string& name) {
    ModelOptions o;
    o.name = "torchscript";
    o.path = dir_->file(name + ".ts");
    return std::dynamic_pointer_cast<TorchScriptNetImpl>(build_model(o, kImage, 10));
  }
  static torch::Tensor scripted_forward(TorchScriptNetImpl& net, const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    return net.module().forward({x}).toTensor();
  }
  static testing::TempDir* dir_;
};
testing::TempDir* TorchScript::dir_ = nullptr;

TEST_F(TorchScript, ParametersAndBuffersHaveThePythonStateDictNames) {
  auto net = load("cnn_bn");
  ASSERT_TRUE(net);
  std::set<std::string> names;
  for (const auto& [name, tensor] : train::model_state(*net)) names.insert(name);
  std::set<std::string> expected = {"head.weight", "head.bias"};
  for (const std::string layer : {"features.0.", "features.4."})
    for (const std::string t : {"weight", "bias"}) expected.insert(layer + t);
  for (const std::string layer : {"features.1.", "features.5."})
    for (const std::string t : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"})
      expected.insert(layer + t);
  EXPECT_EQ(names, expected);
  EXPECT_EQ(parameter_count(*net), 16 * 9 + 16 + 2 * 16 + 32 * 16 * 9 + 32 + 2 * 32 + 32 * 49 * 10 + 10);
  EXPECT_TRUE(net->has_batchnorm());
  EXPECT_FALSE(load("mlp")->has_batchnorm());
}

TEST_F(TorchScript, FlatParametersStaySharedWithTheScriptedModule) {
  for (const bool channels_last : {false, true}) {
    auto net = load("cnn_bn");
    net->eval();
    auto [flat, grads] = train::flatten_parameters(*net, channels_last);
    const auto x = torch::randn({4, 1, 28, 28});
    const auto before = scripted_forward(*net, x);
    // The scripted module's own parameters now live inside the flat buffer.
    const auto* begin = flat.data_ptr<float>();
    for (const auto& p : net->module().parameters()) {
      const auto* at = p.data_ptr<float>();
      EXPECT_TRUE(at >= begin && at < begin + flat.numel());
    }
    {
      torch::NoGradGuard no_grad;
      flat.mul_(1.5);
    }
    const auto after = scripted_forward(*net, x);
    EXPECT_GT((after - before).abs().max().item<float>(), 1e-3) << "channels_last " << channels_last;
    // Gradients of the scripted forward land in the flat gradient buffer.
    net->train();
    net->logits(x).sum().backward();
    EXPECT_GT(grads.abs().sum().item<float>(), 0);
    EXPECT_EQ(grads.numel(), flat.numel());
  }
}

TEST_F(TorchScript, TrainAndEvalReachTheScriptedModule) {
  auto net = load("mlp");  // dropout 0.1
  const auto x = torch::randn({8, 1, 28, 28});
  torch::NoGradGuard no_grad;
  net->train();
  EXPECT_TRUE(net->module().is_training());
  EXPECT_GT((net->forward(x) - net->forward(x)).abs().max().item<float>(), 0);
  net->eval();
  EXPECT_FALSE(net->module().is_training());
  EXPECT_TRUE(net->forward(x).equal(net->forward(x)));
}

TEST_F(TorchScript, BatchNormAverageIsTheCumulativeAverageOfItsBatches) {
  auto net = load("cnn_bn");
  torch::nn::Module& module = *net;
  const auto w = module.named_parameters()["features.0.weight"];
  const auto b = module.named_parameters()["features.0.bias"];
  auto mean = module.named_buffers()["features.1.running_mean"];
  auto var = module.named_buffers()["features.1.running_var"];
  torch::NoGradGuard no_grad;
  net->train();
  net->forward(torch::randn({16, 1, 28, 28}));  // statistics away from their reset values
  std::vector<torch::Tensor> batches;
  for (int i = 0; i < 4; ++i) batches.push_back(torch::randn({16, 1, 28, 28}) * (1 + i) + i);
  net->begin_batchnorm_average();
  for (const auto& x : batches) net->forward(x);
  net->end_batchnorm_average();
  // The first batch norm sees the first convolution's output: its per-batch channel mean and
  // unbiased variance, averaged over the batches, are what the running statistics must hold.
  const std::vector<int64_t> dims = {0, 2, 3};  // all but the channel
  torch::Tensor want_mean = torch::zeros_like(mean), want_var = torch::zeros_like(var);
  for (const auto& x : batches) {
    const auto y = torch::conv2d(x, w, b, /*stride=*/1, /*padding=*/1);
    want_mean += y.mean(torch::IntArrayRef(dims)) / 4;
    want_var += y.var(torch::IntArrayRef(dims), /*unbiased=*/true) / 4;
  }
  EXPECT_LT((mean - want_mean).abs().max().item<float>(), 1e-4) << mean << want_mean;
  EXPECT_LT(((var - want_var) / want_var).abs().max().item<float>(), 1e-4);
  // Afterwards the layer's own momentum (0.1) applies again.
  const auto old_mean = mean.clone();
  const auto x = torch::randn({16, 1, 28, 28});
  net->forward(x);
  const auto batch_mean = torch::conv2d(x, w, b, /*stride=*/1, /*padding=*/1).mean(torch::IntArrayRef(dims));
  EXPECT_LT((mean - (0.9 * old_mean + 0.1 * batch_mean)).abs().max().item<float>(), 1e-5);
}

TEST_F(TorchScript, Bf16AutocastReachesTheScriptedCode) {
  auto net = load("cnn_bn");
  net->eval();
  const auto x = torch::randn({8, 1, 28, 28});
  torch::NoGradGuard no_grad;
  const auto fp32 = net->logits(x);
  net->set_compute({/*bf16=*/true, /*channels_last=*/false});
  const auto bf16 = net->logits(x);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);
  const float diff = (bf16 - fp32).abs().max().item<float>();
  EXPECT_GT(diff, 0) << "bf16 logits equal the fp32 ones: autocast did not reach the scripted code";
  EXPECT_LT(diff, 0.05 * std::max(1.0f, fp32.abs().max().item<float>()));
}

TEST_F(TorchScript, RefusesAModuleThatCannotRunUnderBf16) {
  testing::TempDir errors;
  const std::string cmd = fmt::format("/usr/bin/python3 {}/tests/python/torchscript_models.py {} errors",
                                      NOSYNC_SOURCE_DIR, errors.path());
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ModelOptions o;
  o.name = "torchscript";
  o.path = errors.file("not_bf16.ts");
  auto net = build_model(o, kImage, 10);  // fine in float32
  net->set_compute({/*bf16=*/true, false});
  try {
    check_forward(*net, kImage, 10, "model.path: not_bf16.ts");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("under train.precision = bf16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[B, 1, 28, 28]"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

// Trained by nosync's own Trainer (flat SGD, channels-last views, batch norm re-estimated), the
// module's weights load strictly into the user's nn.Module and the saved TorchScript module
// loads with torch.jit.load; both give the logits nosync computed (tests/python/check_torchscript_interop.py).
TEST_F(TorchScript, TrainedModuleReloadsInPythonWithTheSameLogits) {
  data::DataOptions d;
  d.train_limit = 1200;
  d.val_size = 200;
  d.test_limit = 100;
  const auto splits = data::load_splits(d);
  train::TrainOptions t;
  t.lr = 0.05;
  t.batch_size = 32;
  t.threads = 1;
  t.precision = "fp32";  // Python computes in float32
  torch::manual_seed(3);
  auto net = load("cnn_bn");
  data::LoaderOptions lo;
  lo.batch_size = 32;
  train::Trainer trainer(net, t, splits.train, splits.norm, lo, 20);
  for (int i = 0; i < 20; ++i) trainer.step();
  train::reestimate_batchnorm(*net, splits, 5, 4);
  net->eval();
  const auto input = torch::randn({6, 1, 28, 28});
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = net->logits(input);
  }
  testing::TempDir out;
  train::save_tensors(out.file("model.pt"), train::model_state(*net));
  train::save_tensors(out.file("io.pt"), {{"input", input}, {"logits", logits}});
  net->save(out.file("model.ts"));
  const std::string cmd =
      fmt::format("/usr/bin/python3 {}/tests/python/check_torchscript_interop.py {} {} {} {} 1e-4", NOSYNC_SOURCE_DIR,
                  "cnn_bn", out.file("model.pt"), out.file("model.ts"), out.file("io.pt"));
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "failed: " << cmd;
}

}  // namespace
}  // namespace nosync::models
