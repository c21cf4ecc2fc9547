// Evaluation of a net on a whole data set.
#include "nosync/train/evaluator.h"

#include <torch/nn/functional/loss.h>

namespace nosync::train {

torch::Tensor prediction_loss(const torch::Tensor& logits, const torch::Tensor& labels, bool sum) {
  namespace F = torch::nn::functional;
  auto options = F::CrossEntropyFuncOptions();
  if (sum) options.reduction(torch::kSum);
  if (logits.dim() == 3) return F::cross_entropy(logits.flatten(0, 1), labels.flatten(), options);
  return F::cross_entropy(logits, labels, options);
}

Evaluator::Evaluator(const data::Dataset& dataset, const data::Normalization& norm, int64_t batch_size)
    : features_(data::normalized_features(dataset, norm)),
      labels_(dataset.labels),
      batch_size_(batch_size),
      task_(dataset.task) {}

EvalResult Evaluator::run(models::NetImpl& net) const {
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  const int64_t n = labels_.size(0);
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < n; begin += batch_size_) {
    const int64_t end = std::min(n, begin + batch_size_);
    auto logits = net.logits(features_.slice(0, begin, end));
    auto y = labels_.slice(0, begin, end);
    loss_sum += prediction_loss(logits, y, /*sum=*/true).item<double>();
    correct += logits.argmax(-1).eq(y).sum().item<int64_t>();
  }
  net.train(was_training);
  EvalResult r;
  r.task = task_;
  r.samples = n;
  const int64_t predictions = labels_.numel();
  r.loss = predictions ? loss_sum / predictions : 0;
  r.accuracy = predictions ? static_cast<double>(correct) / predictions : 0;
  return r;
}

torch::Tensor Evaluator::probabilities(models::NetImpl& net) const {
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < labels_.size(0); begin += batch_size_) {
    const int64_t end = std::min(labels_.size(0), begin + batch_size_);
    parts.push_back(torch::softmax(net.logits(features_.slice(0, begin, end)), -1));
  }
  net.train(was_training);
  return torch::cat(parts);
}

EvalResult Evaluator::score(const torch::Tensor& probabilities) const {
  EvalResult r;
  r.task = task_;
  r.samples = labels_.size(0);
  if (r.samples == 0) return r;
  auto p = probabilities.gather(-1, labels_.unsqueeze(-1)).clamp_min(1e-12);
  r.loss = -p.log().mean().item<double>();
  r.accuracy = probabilities.argmax(-1).eq(labels_).to(torch::kDouble).mean().item<double>();
  return r;
}

}  // namespace nosync::train
