// The record -> scalars mapping: names, identity fields, particles, ranks, the final summary.
#include "nosync/train/scalars.h"

#include <cmath>

#include <gtest/gtest.h>

#include "nosync/train/events.h"

namespace nosync::train {
namespace {

using Values = std::vector<std::pair<std::string, double>>;

TEST(ScalarsTest, TrainRecordOfASingleWorker) {
  StepEvent e;
  e.step = 40;
  e.epoch = 0.5;
  e.train_loss = 0.25;
  e.lr = 0.1;
  e.samples_per_s = 900;
  e.elapsed_s = 3.5;
  const Scalars s = scalars_of(to_record(e));
  EXPECT_EQ(s.particle, -1);
  EXPECT_EQ(s.rank, -1);
  EXPECT_EQ(s.step, 40);
  EXPECT_EQ(s.wall_s, 3.5);
  // nlohmann::json keeps keys sorted.
  EXPECT_EQ(s.values, (Values{{"train/epoch", 0.5}, {"train/lr", 0.1}, {"train/samples_per_s", 900}, {"train/loss", 0.25}}));
  EXPECT_EQ(scalar_tag(s, "train/loss"), "train/loss");
}

TEST(ScalarsTest, EvalRecordOfAParticle) {
  EvalEvent e;
  e.particle = 1;
  e.step = 100;
  e.epoch = 2;
  e.lr = 0.05;
  e.val = {0.4, 0.875};
  e.test = {0.5, 0.75};
  const Scalars s = scalars_of(to_record(e));
  EXPECT_EQ(s.particle, 1);
  // lr and epoch belong to the train record of the step; val_/test_ fields split at the prefix.
  EXPECT_EQ(s.values, (Values{{"test/accuracy", e.test.accuracy}, {"test/loss", e.test.loss},
                              {"val/accuracy", e.val.accuracy}, {"val/loss", e.val.loss}}));
  EXPECT_EQ(scalar_tag(s, "val/loss"), "p1/val/loss");
}

TEST(ScalarsTest, UnknownNumericFieldsBecomeScalarsToo) {
  // e.g. a language model's eval records: perplexity and bits per byte need no change here.
  const nlohmann::json r = {{"event", "eval"}, {"particle", 0}, {"step", 5}, {"val_perplexity", 12.5},
                            {"test_bits_per_byte", 1.75}, {"note", "text"}, {"ok", true}, {"missing", nullptr}};
  EXPECT_EQ(scalars_of(r).values, (Values{{"test/bits_per_byte", 1.75}, {"val/perplexity", 12.5}}));
}

TEST(ScalarsTest, ExchangeAndSwarmRecords) {
  const nlohmann::json ex = {{"event", "exchange"}, {"particle", 2}, {"step", 30}, {"rank", 2}, {"fitness", 0.5},
                             {"attractor", 1}, {"distance", 1.5}, {"rho", 0.25}, {"r", 1.0}, {"staleness", -3},
                             {"exchange_ms", 2.5}, {"wall_s", 9.0}};
  const Scalars s = scalars_of(ex);
  EXPECT_EQ(s.rank, 2);
  EXPECT_EQ(s.values, (Values{{"exchange/distance", 1.5}, {"exchange/ms", 2.5}, {"exchange/fitness", 0.5},
                              {"exchange/r", 1.0}, {"exchange/rho", 0.25}, {"exchange/staleness", -3}}));
  EXPECT_EQ(scalar_tag(s, "exchange/rho"), "p2/exchange/rho");  // rank = particle: plain MPI

  const nlohmann::json sw = {{"event", "swarm"}, {"step", 30}, {"wall_s", 9.5}, {"diversity", 0.125}, {"rank", 0}};
  const Scalars w = scalars_of(sw);
  EXPECT_EQ(w.particle, -1);
  EXPECT_EQ(w.values, (Values{{"swarm/diversity", 0.125}}));
  EXPECT_EQ(scalar_tag(w, "swarm/diversity"), "swarm/diversity");
}

TEST(ScalarsTest, GroupMembersGetTheirOwnTags) {
  const nlohmann::json r = {{"event", "train"}, {"particle", 1}, {"rank", 3}, {"step", 10}, {"train_loss", 1.0}};
  EXPECT_EQ(scalar_tag(scalars_of(r), "train/loss"), "p1-rank3/train/loss");
}

TEST(ScalarsTest, FinalRecordFlattensTheSummary) {
  const nlohmann::json r = {{"event", "final"},
                            {"rank", 0},
                            {"summary",
                             {{"steps", 60},
                              {"algo", "nosync"},
                              {"test_accuracy", 0.9},
                              {"best", {{"test_accuracy", 0.9}, {"test_loss", 0.3}}},
                              {"list", {1, 2}}}}};
  const Scalars s = scalars_of(r);
  EXPECT_EQ(s.step, 60);
  EXPECT_TRUE(std::isnan(s.wall_s));
  EXPECT_EQ(s.values, (Values{{"final/best/test_accuracy", 0.9}, {"final/best/test_loss", 0.3}, {"final/steps", 60},
                              {"final/test_accuracy", 0.9}}));
}

TEST(ScalarsTest, RecordsWithoutMetrics) {
  CheckpointEvent c;
  c.step = 10;
  c.dir = "x";
  EXPECT_TRUE(scalars_of(to_record(c)).values.empty());
  ResumeEvent r;
  r.step = 10;
  r.from = 2;
  EXPECT_TRUE(scalars_of(to_record(r)).values.empty());
  EXPECT_TRUE(scalars_of(warning_record("careful")).values.empty());
  EXPECT_TRUE(scalars_of({{"event", "train"}, {"train_loss", 1.0}}).values.empty()) << "no step";
  EXPECT_TRUE(scalars_of({{"event", "final"}, {"summary", {{"test_accuracy", 1.0}}}}).values.empty()) << "no steps";
  EXPECT_TRUE(scalars_of(nlohmann::json::array()).values.empty());
}

}  // namespace
}  // namespace nosync::train
