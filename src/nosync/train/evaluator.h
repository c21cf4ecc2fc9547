// Evaluation of a net on a whole data set: loss, accuracy, probabilities (for ensembles).
#pragma once

#include <cstdint>

#include <torch/types.h>

#include "nosync/data/dataset.h"
#include "nosync/data/loader.h"
#include "nosync/models/registry.h"
#include "nosync/train/eval_result.h"

namespace nosync::train {

// Cross-entropy of logits [B, V] against labels [B], or of [B, T, V] against [B, T] over every
// position: the mean, or with sum = true the sum over all predictions. Training and evaluation
// both use it, so a task's loss has one definition.
torch::Tensor prediction_loss(const torch::Tensor& logits, const torch::Tensor& labels, bool sum = false);

// Evaluates a net on a whole data set: features normalized once, eval mode, no autograd.
class Evaluator {
 public:
  Evaluator(const data::Dataset& dataset, const data::Normalization& norm, int64_t batch_size = 1000);
  EvalResult run(models::NetImpl& net) const;
  // Softmax probabilities [N, classes] or [N, T, vocabulary] (for ensembles) and their score
  // against the labels.
  torch::Tensor probabilities(models::NetImpl& net) const;
  EvalResult score(const torch::Tensor& probabilities) const;
  int64_t size() const { return labels_.size(0); }

 private:
  torch::Tensor features_;
  torch::Tensor labels_;
  int64_t batch_size_;
  data::Task task_;
};

}  // namespace nosync::train
