// Learning-rate schedules at their ends and midpoints.
#include <gtest/gtest.h>

#include "nosync/train/schedule.h"

namespace nosync::train {
namespace {

TEST(Schedule, Constant) {
  TrainOptions o;
  o.schedule = "constant";
  o.lr = 0.1;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 100), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(o, 99, 100), 0.1);
}

TEST(Schedule, CosineEndsAndMiddle) {
  TrainOptions o;
  o.schedule = "cosine";
  o.lr = 0.2;
  o.min_lr = 0.0;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 101), 0.2);
  EXPECT_NEAR(learning_rate(o, 50, 101), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(o, 100, 101), 0.0, 1e-12);
}

TEST(Schedule, StepDecay) {
  TrainOptions o;
  o.schedule = "step";
  o.lr = 1.0;
  o.lr_step_every = 10;
  o.lr_gamma = 0.5;
  EXPECT_DOUBLE_EQ(learning_rate(o, 9, 100), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(o, 10, 100), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(o, 25, 100), 0.25);
}

TEST(Schedule, LinearWarmupThenCosine) {
  TrainOptions o;
  o.schedule = "cosine";
  o.lr = 0.4;
  o.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 104), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(o, 3, 104), 0.4);
  EXPECT_DOUBLE_EQ(learning_rate(o, 4, 104), 0.4);
  EXPECT_NEAR(learning_rate(o, 103, 104), 0.0, 1e-12);
}

}  // namespace
}  // namespace nosync::train
