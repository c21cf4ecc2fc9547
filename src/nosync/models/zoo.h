// The built-in models. Use build_model() (registry.h); these are exposed for tests.
//
// Names mirror python/nosync_models.py:
//   mlp:    hidden.<i>.{weight,bias}, out.{weight,bias}
//   cnn:    conv<i>.{weight,bias} (i from 1), fc1, fc2
//   resnet: conv1, bn1, layer<s>.<b>.{conv1,bn1,conv2,bn2,downsample.0,downsample.1}, fc
#pragma once

#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "nosync/models/registry.h"

namespace nosync::models {

class MlpImpl : public NetImpl {
 public:
  MlpImpl(int64_t in_features, int64_t hidden, int64_t depth, int64_t num_classes);
  torch::Tensor forward(torch::Tensor x) override;
  std::vector<double> layer_flops(const data::Shape& input) const override;

 private:
  torch::nn::ModuleList hidden_;
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Linear out_{nullptr};
};

class CnnImpl : public NetImpl {
 public:
  // One conv3x3(pad 1)+ReLU+maxpool2 block per entry of `channels`, then FC `hidden`, FC classes.
  CnnImpl(const data::Shape& input, const std::vector<int64_t>& channels, int64_t hidden,
          int64_t num_classes);
  torch::Tensor forward(torch::Tensor x) override;
  std::vector<double> layer_flops(const data::Shape& input) const override;

 private:
  std::vector<torch::nn::Conv2d> convs_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  // FLOPs of conv1, conv2 (and the projection) for an input of h x w; updates h, w.
  void append_flops(std::vector<double>& out, int64_t& h, int64_t& w) const;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential downsample_{nullptr};  // 1x1 conv + bn when the shape changes
};

class ResNetImpl : public NetImpl {
 public:
  ResNetImpl(int64_t in_channels, int64_t blocks_per_stage, int64_t base_channels, int64_t num_classes);
  torch::Tensor forward(torch::Tensor x) override;
  std::vector<double> layer_flops(const data::Shape& input) const override;

 private:
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<std::shared_ptr<BasicBlockImpl>> blocks_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace nosync::models
