// The gpt model: shapes, names, tied head, size formula, causality, gradients, bf16, FLOPs,
// and the model.* option checks.
#include <gtest/gtest.h>

#include "nosync/models/gpt.h"
#include "nosync/models/registry.h"
#include "nosync/train/trainer.h"
#include "nosync/util/error.h"

namespace nosync::models {
namespace {

ModelOptions gpt_options(int64_t layers, int64_t heads, int64_t embed) {
  ModelOptions o{"gpt"};
  o.layers = layers;
  o.heads = heads;
  o.embed = embed;
  return o;
}

Net small_gpt(int64_t context = 12, int64_t vocab = 256) {
  torch::manual_seed(5);
  return build_model(gpt_options(2, 2, 16), {1, 1, context}, vocab);
}

TEST(Gpt, ShapesForFullAndShorterWindows) {
  auto net = small_gpt();
  EXPECT_EQ(net->forward(torch::randint(0, 256, {3, 12}, torch::kInt64)).sizes(), (std::vector<int64_t>{3, 12, 256}));
  EXPECT_EQ(net->forward(torch::randint(0, 256, {2, 1}, torch::kInt64)).sizes(), (std::vector<int64_t>{2, 1, 256}));
}

TEST(Gpt, NamesAreThoseOfThePythonTwin) {
  auto net = small_gpt();
  std::vector<std::string> names;
  for (const auto& p : net->named_parameters()) names.push_back(p.key());
  std::vector<std::string> expected = {"tok_emb.weight", "pos_emb.weight"};
  for (int b = 0; b < 2; ++b)
    for (const char* m : {"ln1", "attn.qkv", "attn.proj", "ln2", "mlp.fc", "mlp.proj"})
      for (const char* w : {"weight", "bias"}) expected.push_back(fmt::format("blocks.{}.{}.{}", b, m, w));
  expected.push_back("ln_f.weight");
  expected.push_back("ln_f.bias");
  EXPECT_EQ(names, expected);
  EXPECT_TRUE(net->named_buffers().is_empty());  // the causal mask is no state
}

TEST(Gpt, ParameterCountFormula) {
  for (auto [layers, heads, embed, context, vocab] :
       std::vector<std::array<int64_t, 5>>{{4, 4, 128, 128, 256}, {1, 1, 8, 5, 7}, {3, 2, 24, 33, 256}}) {
    auto net = build_model(gpt_options(layers, heads, embed), {1, 1, context}, vocab);
    const int64_t c = embed;
    EXPECT_EQ(parameter_count(*net), vocab * c + context * c + layers * (12 * c * c + 13 * c) + 2 * c);
    EXPECT_EQ(parameter_count(*net), gpt_parameter_count({vocab, context, layers, heads, embed}));
  }
  // The benchmark's size: layers 4, heads 4, embed 128, context 128, bytes.
  EXPECT_EQ(gpt_parameter_count({256, 128, 4, 4, 128}), 842496);
}

TEST(Gpt, HeadIsTheTokenEmbedding) {
  auto net = small_gpt();
  auto emb = net->named_parameters()["tok_emb.weight"];
  // Zeroing the embedding row of token 7 removes exactly logit 7 (the head has no bias), at every
  // position: ln_f's output dotted with a zero row.
  torch::NoGradGuard no_grad;
  auto x = torch::randint(0, 7, {2, 12}, torch::kInt64);  // token 7 itself is never read
  auto before = net->forward(x);
  emb[7].zero_();
  auto after = net->forward(x);
  EXPECT_TRUE(torch::all(after.select(2, 7) == 0).item<bool>());
  EXPECT_TRUE(torch::equal(after.narrow(2, 0, 7), before.narrow(2, 0, 7)));
  EXPECT_FALSE(torch::all(before.select(2, 7) == 0).item<bool>());
  // And it is held once in the flat buffer the Trainer makes.
  auto [flat, grads] = train::flatten_parameters(*net);
  EXPECT_EQ(flat.numel(), parameter_count(*net));
}

TEST(Gpt, CausalChangingTokenTChangesNoEarlierLogit) {
  auto net = small_gpt();
  torch::NoGradGuard no_grad;
  auto x = torch::randint(0, 256, {2, 12}, torch::kInt64);
  auto base = net->forward(x);
  for (int64_t t : {0, 5, 11}) {
    auto y = x.clone();
    y.select(1, t).add_(1).remainder_(256);
    auto changed = net->forward(y);
    if (t > 0) EXPECT_TRUE(torch::equal(changed.narrow(1, 0, t), base.narrow(1, 0, t))) << "t = " << t;
    EXPECT_FALSE(torch::allclose(changed.narrow(1, t, 12 - t), base.narrow(1, t, 12 - t))) << "t = " << t;
  }
}

TEST(Gpt, BackwardGivesFiniteGradientsToEveryParameter) {
  auto net = small_gpt();
  auto x = torch::randint(0, 256, {4, 12}, torch::kInt64);
  auto y = torch::randint(0, 256, {4, 12}, torch::kInt64);
  auto logits = net->logits(x);
  auto loss = torch::nn::functional::cross_entropy(logits.view({-1, 256}), y.view({-1}));
  EXPECT_NEAR(loss.item<float>(), std::log(256.0), 0.1);  // small init: near-uniform predictions
  loss.backward();
  for (const auto& p : net->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().max().item<float>(), 0) << p.key();
  }
}

TEST(Gpt, Bf16AutocastIsCloseToFp32) {
  auto net = small_gpt();
  torch::NoGradGuard no_grad;
  auto x = torch::randint(0, 256, {4, 12}, torch::kInt64);
  auto fp32 = net->logits(x);
  net->set_compute({/*bf16=*/true, /*channels_last=*/false});
  auto bf16 = net->logits(x);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);
  EXPECT_FALSE(torch::equal(bf16, fp32));  // it did run in bf16
  const float scale = fp32.abs().max().item<float>();
  EXPECT_LT((bf16 - fp32).abs().max().item<float>(), 0.05 * scale);
  // bf16 keeps ~3 significant digits: the predicted tokens agree almost everywhere.
  EXPECT_GT((bf16.argmax(2) == fp32.argmax(2)).to(torch::kFloat).mean().item<float>(), 0.9);
}

TEST(Gpt, FlopsCountedByHand) {
  auto net = build_model(gpt_options(2, 4, 64), {1, 1, 32}, 256);
  const double t = 32, c = 64;
  const auto f = net->layer_flops({1, 1, 32});
  ASSERT_EQ(f.size(), 1u + 2 * 6 + 1);
  EXPECT_EQ(f[0], 0);                       // embedding lookup
  EXPECT_EQ(f[1], 2 * t * c * 3 * c);       // qkv
  EXPECT_EQ(f[2], 2 * t * t * c);           // Q K^T over all heads
  EXPECT_EQ(f[5], 2 * t * c * 4 * c);       // mlp.fc
  EXPECT_EQ(f.back(), 2 * t * c * 256);     // tied head
  const double forward = 2 * (2 * t * 12 * c * c + 4 * t * t * c) + 2 * t * c * 256;
  EXPECT_DOUBLE_EQ(training_flops_per_sample(*net, {1, 1, 32}), 3 * forward);
}

TEST(Gpt, BadOptionsNameTheKey) {
  auto message = [](const ModelOptions& o, const data::Shape& shape) -> std::string {
    try {
      build_model(o, shape, 256);
    } catch (const UserError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message(gpt_options(4, 3, 128), {1, 1, 16}).find("model.embed: 128 is not a multiple of model.heads = 3"),
            std::string::npos);
  EXPECT_NE(message(gpt_options(0, 4, 128), {1, 1, 16}).find("model.layers"), std::string::npos);
  EXPECT_NE(message(gpt_options(4, 0, 128), {1, 1, 16}).find("model.heads"), std::string::npos);
  auto wide = gpt_options(4, 4, 128);
  wide.width = 2;
  EXPECT_NE(message(wide, {1, 1, 16}).find("model.width: does not apply to model.name = gpt"), std::string::npos);
  auto deep = gpt_options(4, 4, 128);
  deep.depth = 3;
  EXPECT_NE(message(deep, {1, 1, 16}).find("model.depth"), std::string::npos);
  ModelOptions cnn{"cnn"};
  cnn.heads = 8;
  EXPECT_NE(message(cnn, {1, 28, 28}).find("model.heads: applies to model.name = gpt only"), std::string::npos);
  // On data of the other task (images): refused by build_model_for, naming the model.
  data::Dataset images;
  images.inputs = torch::zeros({2, 1, 28, 28}, torch::kUInt8);
  images.labels = torch::zeros({2}, torch::kLong);
  images.num_classes = 10;
  images.source = "train-images";
  try {
    build_model_for(gpt_options(4, 4, 128), images);
    ADD_FAILURE() << "gpt accepted images";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("model.name = gpt is a language model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nosync::models
