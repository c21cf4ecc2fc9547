// Evaluation of a net on a whole data set: loss, accuracy, probabilities (for ensembles).
#pragma once

#include <cstdint>

#include <torch/types.h>

#include "nosync/data/dataset.h"
#include "nosync/data/loader.h"
#include "nosync/models/registry.h"

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
  // Softmax probabilities [N, classes] (for ensembles) and their score against the labels.
  torch::Tensor probabilities(models::NetImpl& net) const;
  EvalResult score(const torch::Tensor& probabilities) const;
  int64_t size() const { return labels_.size(0); }

 private:
  torch::Tensor features_;
  torch::Tensor labels_;
  int64_t batch_size_;
};

}  // namespace nosync::train
