// One worker's training state and step: model, optimizer, learning-rate schedule and its own
// stream of batches. The swarm drives many of these; the single-worker loop (loop.h) drives one.
#pragma once

#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "nosync/data/loader.h"
#include "nosync/models/registry.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/options.h"

namespace nosync::train {

struct EvalResult {
  double loss = 0;      // mean cross-entropy
  double accuracy = 0;  // fraction correct, 0..1
  int64_t samples = 0;
};

// Evaluates a net on a whole data set: features normalized once, eval mode, no autograd.
class Evaluator {
 public:
  Evaluator(const data::Dataset& dataset, const data::Normalization& norm, int64_t batch_size = 1000);
  EvalResult run(models::NetImpl& net) const;
  int64_t size() const { return labels_.size(0); }

 private:
  torch::Tensor features_;
  torch::Tensor labels_;
  int64_t batch_size_;
};

class Trainer {
 public:
  Trainer(models::Net net, const TrainOptions& options, const data::Dataset& train_set,
          const data::Normalization& norm, const data::LoaderOptions& loader_options,
          int64_t total_steps);

  // One optimizer step on the next batch; returns the batch's mean loss.
  float step();

  int64_t steps_done() const { return step_; }
  int64_t total_steps() const { return total_steps_; }
  double lr() const { return lr_; }
  models::Net& net() { return net_; }
  const data::BatchLoader& loader() const { return loader_; }
  int64_t batch_size() const { return options_.batch_size; }

  // Checkpoint state, with PyTorch state_dict names.
  TensorList model_state() const;      // parameters and buffers
  TensorList optimizer_state() const;  // optimizer buffers ("<param>.momentum_buffer", ...)
  nlohmann::json progress_state() const;
  // Restores all three; a tensor missing or of another shape is a UserError naming it.
  void restore(const TensorList& model, const TensorList& optimizer, const nlohmann::json& progress);

 private:
  void set_lr(double lr);

  models::Net net_;
  TrainOptions options_;
  data::BatchLoader loader_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int64_t total_steps_;
  int64_t step_ = 0;
  double lr_ = 0;
};

// Copies `source` into the net's parameters and buffers by name (UserError on mismatch).
void load_model_state(models::NetImpl& net, const TensorList& source, const std::string& origin);
TensorList model_state(const models::NetImpl& net);

}  // namespace nosync::train
