// The language-model task through the trainer and the evaluator: loss over every position,
// perplexity and bits per byte, ensembles of [N, T, V] probabilities.
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "nosync/data/text.h"
#include "nosync/train/evaluator.h"
#include "nosync/train/trainer.h"

namespace nosync::train {
namespace {

// A bigram model: the next byte from the current one only.
class BigramImpl : public models::NetImpl {
 public:
  BigramImpl() {
    emb_ = register_module("emb", torch::nn::Embedding(256, 16));
    out_ = register_module("out", torch::nn::Linear(16, 256));
  }
  torch::Tensor forward(torch::Tensor x) override { return out_(emb_(x)); }

 private:
  torch::nn::Embedding emb_{nullptr};
  torch::nn::Linear out_{nullptr};
};

data::TextSplits cyclic_text() {
  std::string text;
  for (int i = 0; i < 30000; ++i) text += "abc"[i % 3];
  data::TextOptions o;
  o.context = 16;
  return data::split_text(std::vector<uint8_t>(text.begin(), text.end()), o, "abc.txt");
}

TEST(LanguageModel, LearnsBelowTheUnigramEntropyAndReportsPerTokenMetrics) {
  torch::manual_seed(0);
  const data::TextSplits s = cyclic_text();
  const data::Normalization norm = data::Normalization::from(s.train);
  auto net = std::make_shared<BigramImpl>();
  TrainOptions o;
  o.optimizer = "adamw";
  o.lr = 0.02;
  o.weight_decay = 0;
  o.schedule = "constant";
  o.batch_size = 8;
  o.precision = "fp32";
  data::LoaderOptions lo;
  lo.batch_size = 8;
  Trainer trainer(net, o, s.train, norm, lo, 200);
  const float first = trainer.step();
  EXPECT_NEAR(first, std::log(256.0), 0.5);  // an untrained model: about uniform over the bytes
  for (int i = 1; i < 200; ++i) trainer.step();

  const Evaluator val(s.val, norm);
  const EvalResult r = val.run(*net);
  EXPECT_EQ(r.task, data::Task::language_model);
  EXPECT_EQ(r.samples, s.val.size());
  EXPECT_LT(r.loss, 0.2 * std::log(3.0));  // far below the unigram entropy of "abc..."
  EXPECT_GT(r.accuracy, 0.99);
  EXPECT_DOUBLE_EQ(r.perplexity(), std::exp(r.loss));
  EXPECT_DOUBLE_EQ(r.bits_per_byte(), r.loss / std::log(2.0));

  // The loss is the mean over every predicted token, computed here by hand.
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor x = s.val.inputs.to(torch::kLong), y = s.val.labels;
  const torch::Tensor logp = torch::log_softmax(net->logits(x), -1);
  const double by_hand = -logp.gather(-1, y.unsqueeze(-1)).mean().item<double>();
  EXPECT_NEAR(r.loss, by_hand, 1e-6);

  // Ensembles average [N, T, V] probabilities; the score of one model's equals its own result.
  const torch::Tensor p = val.probabilities(*net);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{s.val.size(), 16, 256}));
  const EvalResult scored = val.score(p);
  EXPECT_NEAR(scored.loss, r.loss, 1e-5);
  EXPECT_NEAR(scored.accuracy, r.accuracy, 1e-12);
  EXPECT_EQ(scored.task, data::Task::language_model);
}

TEST(LanguageModel, RecordFieldsAndHeadlineOfEachTask) {
  EvalResult lm;
  lm.task = data::Task::language_model;
  lm.loss = std::log(2.0);
  lm.accuracy = 0.5;
  const nlohmann::json j = eval_fields("val", lm);
  EXPECT_DOUBLE_EQ(j["val_loss"].get<double>(), std::log(2.0));
  EXPECT_DOUBLE_EQ(j["val_perplexity"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["val_bits_per_byte"].get<double>(), 1.0);
  EXPECT_EQ(headline_row(j, "val").first, "val bits/byte");
  EXPECT_EQ(headline_value(j, "val"), "1.000 bits/byte");
  EvalResult cls;
  cls.accuracy = 0.8812;
  const nlohmann::json c = eval_fields("test", cls);
  EXPECT_FALSE(c.contains("test_perplexity"));
  EXPECT_EQ(headline_row(c, "test"), (std::pair<std::string, std::string>{"test accuracy", "88.12 %"}));
}

}  // namespace
}  // namespace nosync::train
