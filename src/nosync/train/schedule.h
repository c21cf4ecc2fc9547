// Learning-rate schedules as pure functions of the step (ggml-style: a schedule is a function,
// not state, so resuming at step t needs nothing but t).
#pragma once

#include <cstdint>

#include "nosync/train/options.h"

namespace nosync::train {

// Learning rate for 0-based `step` of a run of `total_steps` steps.
double learning_rate(const TrainOptions& options, int64_t step, int64_t total_steps);

}  // namespace nosync::train
