// One worker's training state and step: model, optimizer, learning-rate schedule and its own
// stream of batches. The swarm drives many of these; the single-worker loop (loop.h) drives one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "nosync/data/loader.h"
#include "nosync/models/registry.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/evaluator.h"
#include "nosync/train/options.h"

namespace nosync::train {

class Trainer {
 public:
  Trainer(models::Net net, const TrainOptions& options, const data::Dataset& train_set,
          const data::Normalization& norm, const data::LoaderOptions& loader_options,
          int64_t total_steps);

  // One optimizer step on the next batch; returns the batch's mean loss.
  float step();

  // All parameters live in one contiguous float buffer (the params are views into it), and so
  // do their gradients: exchanging, averaging or all-reducing a model is one tensor operation.
  torch::Tensor& flat_params() { return flat_params_; }
  torch::Tensor& flat_grads() { return flat_grads_; }
  // Called between backward and the optimizer step (sync: all-reduce flat_grads()).
  void set_gradient_hook(std::function<void()> hook) { gradient_hook_ = std::move(hook); }
  // Multiplies the optimizer's momentum (SGD buffer, AdamW first moment) by `factor`; 0 resets.
  void scale_momentum(double factor);
  // Multiplies the scheduled learning rate (sync: linear scaling with the number of workers).
  void set_lr_multiplier(double m) { lr_multiplier_ = m; }
  const data::Batch& last_batch() const { return last_batch_; }

  int64_t steps_done() const { return step_; }
  int64_t total_steps() const { return total_steps_; }
  double lr() const { return lr_; }
  models::Net& net() { return net_; }
  const data::BatchLoader& loader() const { return loader_; }
  data::BatchLoader& loader() { return loader_; }
  int64_t batch_size() const { return options_.batch_size; }

  // Checkpoint state, with PyTorch state_dict names.
  TensorList model_state() const;      // parameters and buffers
  TensorList optimizer_state() const;  // optimizer buffers ("<param>.momentum_buffer", ...)
  nlohmann::json progress_state() const;
  // Restores all three; a tensor missing or of another shape is a UserError naming it.
  void restore(const TensorList& model, const TensorList& optimizer, const nlohmann::json& progress);

 private:
  void set_lr(double lr);
  torch::Tensor momentum_view(const torch::Tensor& param) const;  // flat SGD: param's slice of the momentum

  models::Net net_;
  TrainOptions options_;
  data::BatchLoader loader_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;  // adamw; null for sgd (fused, flat_momentum_)
  int64_t total_steps_;
  int64_t step_ = 0;
  double lr_ = 0;
  double lr_multiplier_ = 1;
  torch::Tensor flat_params_, flat_grads_, flat_momentum_;
  std::function<void()> gradient_hook_;
  data::Batch last_batch_;
};

// Moves every parameter of `net` into one contiguous buffer (parameters become views of it) and
// gives each a gradient that is a view of a second buffer. Returns {params, grads}.
// channels_last: 4-D (convolution) weights become channels-last strided views of their slice;
// the buffer is still one dense block, only the order of elements inside each slice changes.
std::pair<torch::Tensor, torch::Tensor> flatten_parameters(models::NetImpl& net, bool channels_last = false);

// The Compute settings train.precision and train.channels_last give `net` (channels-last only
// for nets with convolutions). A bad train.precision is a UserError.
models::Compute compute_settings(const TrainOptions& options, const models::NetImpl& net);

// Batch-norm running statistics re-estimated from `batches` training batches (cumulative
// average, no gradient): needed after a weight blend creates a new point (docs/algorithm.md).
// No-op for models without batch norm.
void recompute_batchnorm(models::NetImpl& net, data::BatchLoader& loader, int64_t batches);
// The same from a loader of its own over `splits.train` (batches of 128, shuffled by `seed`).
void reestimate_batchnorm(models::NetImpl& net, const data::Splits& splits, uint64_t seed, int64_t batches);
bool has_batchnorm(const models::NetImpl& net);

// Copies `source` into the net's parameters and buffers by name (UserError on mismatch).
void load_model_state(models::NetImpl& net, const TensorList& source, const std::string& origin);
TensorList model_state(const models::NetImpl& net);

// A net of `model`'s architecture for data like `train` holding the saved weights `state` (read from `origin`), set to
// compute the way `options` trains it (precision, memory format): what evaluating a saved model
// needs, so that it is always evaluated as it was trained.
models::Net load_trained_net(const models::ModelOptions& model, const TrainOptions& options, const data::Dataset& train,
                             const TensorList& state, const std::string& origin);

}  // namespace nosync::train
