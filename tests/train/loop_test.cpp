// The single-worker loop: it learns, it is deterministic, and resume is bit-identical.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>

#include "nosync/train/checkpoint.h"
#include "nosync/train/loop.h"
#include "nosync/train/trainer.h"
#include "nosync/train/speed.h"
#include "nosync/util/machine.h"
#include "nosync/util/error.h"
#include "support/test_support.h"

namespace nosync::train {
namespace {

data::DataOptions synthetic_data() {
  data::DataOptions d;
  d.format = "synthetic";
  d.val_size = 256;
  d.synthetic_train = 1280;
  d.synthetic_test = 256;
  d.synthetic_size = 12;
  d.augment_crop = 2;  // exercise the augmentation stream in resume
  d.augment_flip = true;
  return d;
}

RunSetup setup_for(const std::string& run_dir, const std::string& model, int64_t steps) {
  RunSetup s;
  s.data = synthetic_data();
  s.model.name = model;
  s.train.steps = steps;
  s.train.batch_size = 32;
  s.train.lr = 0.05;
  s.train.seed = 5;
  s.train.eval_every = 10;
  s.train.log_every = 5;
  s.checkpoint.every = 10;
  s.checkpoint.keep = 0;
  s.run_dir = run_dir;
  s.config_toml = "# test\n";
  return s;
}

class StopAt : public EventSink {
 public:
  explicit StopAt(int64_t step) : stop_step_(step) {}
  void stepped(const StepEvent& p) override { step_ = p.step; }
  bool should_stop() override { return step_ >= stop_step_; }

 private:
  int64_t stop_step_;
  int64_t step_ = 0;
};

void expect_same_tensors(const TensorList& a, const TensorList& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first << " differs";
  }
}

class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    threads_ = torch::get_num_threads();
    torch::set_num_threads(1);  // bit-identical results are promised for one thread
    splits_ = data::load_splits(synthetic_data());
  }
  void TearDown() override { torch::set_num_threads(threads_); }
  int threads_ = 1;
  data::Splits splits_;
  testing::TempDir dir_;
};

TEST_F(LoopTest, LearnsAndWritesTheRunFiles) {
  EventSink quiet;
  auto s = setup_for(dir_.file("run"), "mlp", 60);
  s.data.augment_crop = 0;
  s.data.augment_flip = false;
  const RunResult r = run_single(s, splits_, quiet);
  EXPECT_TRUE(r.completed);
  EXPECT_EQ(r.steps, 60);
  EXPECT_GT(r.test.accuracy, 0.9) << "4 classes: chance is 0.25";
  EXPECT_TRUE(std::filesystem::exists(dir_.file("run/summary.json")));
  EXPECT_TRUE(std::filesystem::exists(dir_.file("run/checkpoints/step-60/model.pt")));
  const auto summary = nlohmann::json::parse(testing::read_bytes(dir_.file("run/summary.json")));
  for (const char* key : {"test_accuracy", "test_loss", "steps", "wall_s", "samples_per_s"})
    EXPECT_TRUE(summary.contains(key)) << key;
  // metrics.jsonl: one JSON object per line with train and eval events.
  std::ifstream metrics(dir_.file("run/metrics.jsonl"));
  std::string line;
  int train_events = 0, eval_events = 0;
  while (std::getline(metrics, line)) {
    const auto j = nlohmann::json::parse(line);
    train_events += j["event"] == "train";
    if (j["event"] == "eval") {
      ++eval_events;
      EXPECT_TRUE(j.contains("val_accuracy") && j.contains("test_loss") && j.contains("wall_s"));
    }
  }
  EXPECT_EQ(train_events, 12);
  EXPECT_EQ(eval_events, 6);
}

TEST_F(LoopTest, SameSeedOneThreadIsBitIdentical) {
  EventSink quiet;
  run_single(setup_for(dir_.file("a"), "cnn", 25), splits_, quiet);
  run_single(setup_for(dir_.file("b"), "cnn", 25), splits_, quiet);
  expect_same_tensors(read_checkpoint(dir_.file("a")).model, read_checkpoint(dir_.file("b")).model);
  auto other = setup_for(dir_.file("c"), "cnn", 25);
  other.train.seed = 6;
  run_single(other, splits_, quiet);
  EXPECT_FALSE(read_checkpoint(dir_.file("a")).model[0].second.equal(read_checkpoint(dir_.file("c")).model[0].second));
}

void check_resume(const std::string& root, const data::Splits& splits, const std::string& model,
                  const std::string& optimizer) {
  EventSink quiet;
  auto straight = setup_for(root + "/straight", model, 40);
  straight.train.optimizer = optimizer;
  run_single(straight, splits, quiet);

  auto interrupted = setup_for(root + "/resumed", model, 40);
  interrupted.train.optimizer = optimizer;
  StopAt stop(17);  // mid-epoch and between two scheduled checkpoints
  const RunResult first = run_single(interrupted, splits, stop);
  EXPECT_FALSE(first.completed);
  EXPECT_EQ(first.steps, 17);
  interrupted.resume = true;
  const RunResult second = run_single(interrupted, splits, quiet);
  EXPECT_TRUE(second.completed);

  const auto a = read_checkpoint(root + "/straight");
  const auto b = read_checkpoint(root + "/resumed");
  expect_same_tensors(a.model, b.model);
  expect_same_tensors(a.optimizer, b.optimizer);
  EXPECT_EQ(a.state["trainer"], b.state["trainer"]);
}

TEST_F(LoopTest, ResumeIsBitIdenticalSgd) { check_resume(dir_.path(), splits_, "cnn", "sgd"); }
TEST_F(LoopTest, ResumeIsBitIdenticalAdamWWithBatchNorm) { check_resume(dir_.path(), splits_, "resnet", "adamw"); }

TEST_F(LoopTest, ResumeWithoutCheckpointIsUserError) {
  EventSink quiet;
  auto s = setup_for(dir_.file("empty"), "mlp", 10);
  s.resume = true;
  EXPECT_THROW(run_single(s, splits_, quiet), UserError);
}

TEST_F(LoopTest, DivergenceIsReported) {
  EventSink quiet;
  auto s = setup_for(dir_.file("nan"), "mlp", 30);
  s.train.lr = 1e6;
  s.train.momentum = 0.99;
  try {
    run_single(s, splits_, quiet);
    FAIL() << "expected divergence";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nosync::train

namespace nosync::train {
namespace {

TEST(Trainer, ParametersAndGradientsStayViewsOfTheFlatBuffers) {
  torch::manual_seed(1);
  data::DataOptions d;
  d.format = "synthetic";
  d.val_size = 64;
  d.synthetic_train = 512;
  const auto splits = data::load_splits(d);
  auto net = models::build_model({"cnn", 0.5, 0}, splits.train.shape(), splits.train.num_classes);
  TrainOptions o;
  o.batch_size = 16;
  Trainer trainer(net, o, splits.train, splits.norm, data::LoaderOptions{16}, 10);
  EXPECT_EQ(trainer.flat_params().numel(), models::parameter_count(*net));
  for (int i = 0; i < 3; ++i) trainer.step();
  const float* base = trainer.flat_params().data_ptr<float>();
  const float* grad_base = trainer.flat_grads().data_ptr<float>();
  int64_t offset = 0;
  for (const auto& p : net->parameters()) {
    EXPECT_EQ(p.data_ptr<float>(), base + offset);
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().data_ptr<float>(), grad_base + offset);
    offset += p.numel();
  }
  EXPECT_GT(trainer.flat_grads().abs().sum().item<double>(), 0);
  // Writing the flat buffer moves the model.
  trainer.flat_params().zero_();
  EXPECT_EQ(net->parameters()[0].abs().sum().item<double>(), 0);
}


data::Splits small_synthetic() {
  data::DataOptions d;
  d.format = "synthetic";
  d.val_size = 64;
  d.synthetic_train = 512;
  d.synthetic_size = 16;
  return data::load_splits(d);
}

// bf16 autocast computes the same predictions as float32 on a fixed batch, within bf16's
// precision (8 bits of mantissa), for a model trained a little so that logits are not tiny.
void check_bf16_predictions(const std::string& model) {
  const auto splits = small_synthetic();
  torch::manual_seed(2);
  auto net = models::build_model({model, 0.5, 1}, splits.train.shape(), splits.train.num_classes);
  TrainOptions o;
  o.batch_size = 32;
  Trainer trainer(net, o, splits.train, splits.norm, data::LoaderOptions{32}, 40);
  for (int i = 0; i < 40; ++i) trainer.step();
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = data::normalized_features(splits.val, splits.norm);
  models::Compute c = net->compute();
  c.bf16 = false;
  net->set_compute(c);
  const auto fp32 = net->logits(x);
  c.bf16 = true;
  net->set_compute(c);
  const auto bf16 = net->logits(x);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);
  const double scale = fp32.abs().max().item<double>();
  const double diff = (bf16 - fp32).abs().max().item<double>();
  EXPECT_GT(scale, 1.0) << model << ": the model should have learned something";
  EXPECT_LT(diff, 0.05 * scale) << model << ": largest logit difference " << diff << " of " << scale;
  const double agree = bf16.argmax(1).eq(fp32.argmax(1)).to(torch::kDouble).mean().item<double>();
  EXPECT_GE(agree, 0.95) << model << ": bf16 and fp32 predictions agree on " << agree;
}

TEST(Trainer, Bf16PredictsLikeFp32Cnn) { check_bf16_predictions("cnn"); }
TEST(Trainer, Bf16PredictsLikeFp32ResNet) { check_bf16_predictions("resnet"); }

TEST(Trainer, UnknownPrecisionIsUserError) {
  const auto splits = small_synthetic();
  auto net = models::build_model({"mlp", 0.5, 1}, splits.train.shape(), splits.train.num_classes);
  TrainOptions o;
  o.precision = "fp16";
  EXPECT_THROW(Trainer(net, o, splits.train, splits.norm, data::LoaderOptions{32}, 10), UserError);
}

// Channels-last keeps the flat-buffer property (every weight a view of its slice), trains like
// the contiguous layout and checkpoints the same contiguous, PyTorch-ordered tensors.
TEST(Trainer, ChannelsLastTrainsLikeContiguous) {
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto splits = small_synthetic();
  std::vector<TensorList> states;
  std::vector<float> losses;
  for (bool cl : {false, true}) {
    torch::manual_seed(4);
    auto net = models::build_model({"cnn", 0.5, 0}, splits.train.shape(), splits.train.num_classes);
    TrainOptions o;
    o.batch_size = 32;
    o.channels_last = cl;
    Trainer trainer(net, o, splits.train, splits.norm, data::LoaderOptions{32}, 10);
    EXPECT_EQ(net->compute().channels_last, cl);
    float loss = 0;
    for (int i = 0; i < 10; ++i) loss = trainer.step();
    losses.push_back(loss);
    const float* base = trainer.flat_params().data_ptr<float>();
    int64_t offset = 0;
    for (const auto& p : net->parameters()) {
      EXPECT_EQ(p.data_ptr<float>(), base + offset);
      EXPECT_EQ(p.grad().data_ptr<float>(), trainer.flat_grads().data_ptr<float>() + offset);
      if (p.dim() == 4) {
        EXPECT_TRUE(p.is_contiguous(cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
        if (p.size(1) > 1) {  // with one input channel both layouts hold
          EXPECT_EQ(p.is_contiguous(), !cl);
        }
      }
      offset += p.numel();
    }
    states.push_back(trainer.model_state());
  }
  torch::set_num_threads(threads);
  EXPECT_NEAR(losses[0], losses[1], 1e-4);
  ASSERT_EQ(states[0].size(), states[1].size());
  for (size_t i = 0; i < states[0].size(); ++i) {
    EXPECT_EQ(states[0][i].first, states[1][i].first);
    EXPECT_TRUE(torch::allclose(states[0][i].second.contiguous(), states[1][i].second.contiguous(), 1e-4, 1e-5))
        << states[0][i].first;
  }
}

// The fused flat SGD follows torch::optim::SGD step by step (momentum, weight decay, Nesterov;
// and plain SGD without momentum).
TEST(Trainer, FlatSgdMatchesTorchSgd) {
  const auto splits = small_synthetic();
  for (int variant : {0, 1, 2}) {
    const bool nesterov = variant == 1;
    const double momentum = variant == 2 ? 0.0 : 0.9;
    torch::manual_seed(6);
    auto net = models::build_model({"cnn", 0.5, 0}, splits.train.shape(), splits.train.num_classes);
    torch::manual_seed(6);
    auto ref = models::build_model({"cnn", 0.5, 0}, splits.train.shape(), splits.train.num_classes);
    TrainOptions o;
    o.batch_size = 32;
    o.schedule = "constant";
    o.lr = 0.05;
    o.momentum = momentum;
    o.weight_decay = 1e-3;
    o.nesterov = nesterov;
    o.channels_last = false;
    o.precision = "fp32";  // the reference runs the plain float forward
    Trainer trainer(net, o, splits.train, splits.norm, data::LoaderOptions{32}, 10);
    torch::optim::SGD sgd(ref->parameters(),
                          torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay).nesterov(nesterov));
    for (int i = 0; i < 6; ++i) {
      trainer.step();
      sgd.zero_grad();
      torch::nn::functional::cross_entropy(ref->forward(trainer.last_batch().x), trainer.last_batch().y).backward();
      sgd.step();
    }
    const auto ours = net->parameters(), theirs = ref->parameters();
    for (size_t i = 0; i < ours.size(); ++i)
      EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-4, 1e-6))
          << "variant " << variant << " parameter " << i << " max diff "
          << (ours[i] - theirs[i]).abs().max().item<float>();
    if (momentum == 0) continue;  // PyTorch keeps no momentum buffer then
    // The checkpointed momentum buffers are PyTorch's.
    const auto state = trainer.optimizer_state();
    ASSERT_EQ(state.size(), ours.size());
    auto& ref_state = sgd.state();
    for (size_t i = 0; i < ours.size(); ++i) {
      auto& buf = static_cast<torch::optim::SGDParamState&>(*ref_state.at(c10::guts::to_string(theirs[i].unsafeGetTensorImpl())))
                      .momentum_buffer();
      EXPECT_TRUE(torch::allclose(state[i].second, buf, 1e-4, 1e-6)) << state[i].first;
    }
  }
}

TEST(Speed, SummaryUsesTheConfiguredPeak) {
  TrainOptions o;
  o.precision = "bf16";
  o.peak_gflops = 100;  // per core
  const auto s = speed_summary(o, /*flops_per_sample=*/2e6, /*samples_per_s=*/50000, /*cores=*/2);
  EXPECT_EQ(s["precision"], "bf16");
  EXPECT_DOUBLE_EQ(s["achieved_gflops"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(s["peak_gflops"].get<double>(), 200.0);
  EXPECT_DOUBLE_EQ(s["peak_fraction"].get<double>(), 0.5);
  EXPECT_GT(s["peak_rss_mib"].get<double>(), 0);
  EXPECT_FALSE(speed_summary(o, 0, 50000, 2).contains("achieved_gflops"));  // unknown FLOPs
}

TEST(Speed, AutoPrecisionFollowsTheCpu) {
  TrainOptions o;
  o.precision = "auto";
  EXPECT_EQ(resolved_precision(o), util::cpu_info().avx512_bf16 ? "bf16" : "fp32");
  o.precision = "fp32";
  EXPECT_EQ(resolved_precision(o), "fp32");
  // The detected peak doubles for bf16 exactly where the CPU has bf16 dot products.
  o.peak_gflops = 0;
  const double fp32 = peak_gflops_per_core(o);
  o.precision = "bf16";
  EXPECT_DOUBLE_EQ(peak_gflops_per_core(o), util::cpu_info().avx512_bf16 ? 2 * fp32 : fp32);
}

}  // namespace
}  // namespace nosync::train
