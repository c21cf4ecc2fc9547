// Model registry: a name and a few size options in, a libtorch module out.
//
// Every model's parameter and buffer names are the ones the equivalent PyTorch nn.Module in
// python/nosync_models.py has, so state_dicts move between C++ and Python unchanged.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "nosync/data/dataset.h"

namespace nosync::models {

// A classifier: images [B, C, H, W] in, logits [B, classes] out.
class NetImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};
using Net = std::shared_ptr<NetImpl>;

struct ModelOptions {
  std::string name = "cnn";  // mlp | cnn | resnet
  double width = 1.0;        // channel / hidden-unit multiplier
  int64_t depth = 0;         // 0 = the model's default: mlp 2 hidden layers, cnn 2 conv blocks,
                             // resnet 3 blocks per stage (ResNet-20)
};

struct ModelInfo {
  std::string name;
  std::string description;
  int64_t default_depth;
};
const std::vector<ModelInfo>& registered_models();

// Builds a freshly initialised model (uses the global torch RNG: seed it first).
// Unknown name or impossible size: UserError naming model.name / model.depth / model.width.
Net build_model(const ModelOptions& options, const data::Shape& input, int64_t num_classes);

int64_t parameter_count(const torch::nn::Module& module);

}  // namespace nosync::models
