// Every model's state_dict loads in PyTorch (Debian python3-torch) with
// torch.load(weights_only=True) + load_state_dict(strict=True) and computes the same logits.
#include <cstdlib>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "nosync/models/registry.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/trainer.h"
#include "support/test_support.h"

namespace nosync::models {
namespace {

struct Case {
  std::string name;
  data::Shape shape;
  double width;
  int64_t depth;
  bool channels_last = false;  // weights as channels-last views of the flat buffer (Trainer)
};

// Keeps CTest's test names short (gtest would print the struct's bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class PythonInterop : public ::testing::TestWithParam<Case> {};

TEST_P(PythonInterop, LoadsStrictlyAndAgrees) {
  const Case& c = GetParam();
  torch::manual_seed(11);
  auto net = build_model({c.name, c.width, c.depth}, c.shape, 10);
  if (c.channels_last) train::flatten_parameters(*net, /*channels_last=*/true);
  // A few training-mode passes so batch-norm running statistics are not at their defaults.
  for (int i = 0; i < 3; ++i) net->forward(torch::randn({8, c.shape.channels, c.shape.height, c.shape.width}));
  net->eval();
  auto input = torch::randn({4, c.shape.channels, c.shape.height, c.shape.width});
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = net->forward(input);
  }
  testing::TempDir dir;
  train::save_tensors(dir.file("model.pt"), train::model_state(*net));
  train::save_tensors(dir.file("io.pt"), {{"input", input}, {"logits", logits}});
  const std::string cmd = fmt::format(
      "/usr/bin/python3 {}/tests/python/check_model_interop.py {} {} {} {} {} 10 {} {} {} {}", NOSYNC_SOURCE_DIR,
      NOSYNC_SOURCE_DIR, c.name, c.shape.channels, c.shape.height, c.shape.width, c.width, c.depth,
      dir.file("model.pt"), dir.file("io.pt"));
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "failed: " << cmd
                                         << "\n(needs Debian python3-torch: scripts/install-deps.sh)";
}

INSTANTIATE_TEST_SUITE_P(Models, PythonInterop,
                         ::testing::Values(Case{"mlp", {1, 28, 28}, 1.0, 0}, Case{"cnn", {1, 28, 28}, 1.0, 0},
                                           Case{"cnn", {3, 32, 32}, 0.5, 3}, Case{"resnet", {3, 32, 32}, 1.0, 0},
                                           Case{"cnn", {1, 28, 28}, 1.0, 0, true},
                                           Case{"resnet", {3, 32, 32}, 0.5, 0, true}),
                         [](const auto& info) {
                           return info.param.name + std::to_string(info.param.shape.channels) +
                                  (info.param.channels_last ? "cl" : "") + "_" + std::to_string(info.index);
                         });

}  // namespace
}  // namespace nosync::models

// gpt: token windows in, [B, T, V] logits out; the tied head is saved once (tok_emb.weight) and
// the twin loads strictly. A window shorter than the context checks the position slice too.
namespace nosync::models {
namespace {

TEST(PythonInterop, GptLoadsStrictlyAndAgrees) {
  torch::manual_seed(12);
  const int64_t context = 16, vocab = 256;
  ModelOptions options{"gpt"};
  options.layers = 2;
  options.heads = 4;
  options.embed = 32;
  auto net = build_model(options, {1, 1, context}, vocab);
  train::flatten_parameters(*net);  // as the Trainer holds it: views of one flat buffer
  net->eval();
  for (const int64_t time : {context, context - 5}) {
    auto input = torch::randint(0, vocab, {3, time}, torch::kInt64);
    torch::Tensor logits;
    {
      torch::NoGradGuard no_grad;
      logits = net->forward(input);
    }
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3, time, vocab}));
    testing::TempDir dir;
    train::save_tensors(dir.file("model.pt"), train::model_state(*net));
    train::save_tensors(dir.file("io.pt"), {{"input", input}, {"logits", logits}});
    const std::string cmd = fmt::format(
        "/usr/bin/python3 {}/tests/python/check_model_interop.py {} gpt 1 1 {} {} 1.0 0 {} {} {} {} {}",
        NOSYNC_SOURCE_DIR, NOSYNC_SOURCE_DIR, context, vocab, dir.file("model.pt"), dir.file("io.pt"), options.layers,
        options.heads, options.embed);
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "failed: " << cmd
                                           << "\n(needs Debian python3-torch: scripts/install-deps.sh)";
  }
}

}  // namespace
}  // namespace nosync::models
