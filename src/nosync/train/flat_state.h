// A model as one flat float vector and back: its parameters (what a weight blend averages) or
// its whole state with buffers (what travels between processes at the end of an MPI run).
// Buffers such as batch-norm counters are small integers, exact in float.
#pragma once

#include <torch/types.h>

#include "nosync/models/registry.h"

namespace nosync::train {

torch::Tensor flat_parameters(const models::NetImpl& net);  // a copy
void load_flat_parameters(models::NetImpl& net, const torch::Tensor& flat);

torch::Tensor flat_state(const models::NetImpl& net);  // parameters and buffers, in model_state order
void load_flat_state(models::NetImpl& net, const torch::Tensor& flat);

}  // namespace nosync::train
