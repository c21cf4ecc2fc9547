// The single-worker loop: it learns, it is deterministic, and resume is bit-identical.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "nosync/train/checkpoint.h"
#include "nosync/train/loop.h"
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

class StopAt : public Observer {
 public:
  explicit StopAt(int64_t step) : stop_step_(step) {}
  void on_step(const Progress& p) override { step_ = p.step; }
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
  Observer quiet;
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
  Observer quiet;
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
  Observer quiet;
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
  Observer quiet;
  auto s = setup_for(dir_.file("empty"), "mlp", 10);
  s.resume = true;
  EXPECT_THROW(run_single(s, splits_, quiet), UserError);
}

TEST_F(LoopTest, DivergenceIsReported) {
  Observer quiet;
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

}  // namespace
}  // namespace nosync::train
