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

// How a net computes: arithmetic precision and the memory format of its activations.
struct Compute {
  bool bf16 = false;           // bfloat16 autocast (weights and gradients stay float32)
  bool channels_last = false;  // NHWC activations (oneDNN's fast convolution layout)
};

// A classifier: images [B, C, H, W] in, logits [B, classes] out.
class NetImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;

  // forward() under this net's Compute settings, float32 logits out. Training, evaluation and
  // batch-norm re-estimation all call this, so a net is evaluated the way it is trained.
  // Autocast is thread-local: it is switched on and off around the call in the calling thread.
  torch::Tensor logits(torch::Tensor x);

  // Floating-point operations of the forward pass of one sample, per multiply-add layer
  // (convolution, linear) in forward order, 2 per multiply-add; element-wise work (ReLU,
  // pooling, batch norm) is not counted. Empty when unknown.
  virtual std::vector<double> layer_flops(const data::Shape& input) const { return {}; }
  void set_compute(const Compute& compute) { compute_ = compute; }
  const Compute& compute() const { return compute_; }

  // The batch-norm layers, for re-estimating their running statistics after a weight blend
  // (train::recompute_batchnorm): between begin and end, every forward pass in training mode adds
  // its batch to a cumulative average that starts from reset statistics. The default handles the
  // torch::nn::BatchNorm2d submodules of the built-in models (momentum None meanwhile); a
  // TorchScript net overrides it for the layers inside its scripted module.
  virtual bool has_batchnorm() const;
  virtual void begin_batchnorm_average();
  virtual void end_batchnorm_average();

 private:
  Compute compute_;
  std::vector<c10::optional<double>> saved_bn_momentum_;  // the default: momenta during an average
};
using Net = std::shared_ptr<NetImpl>;

struct ModelOptions {
  std::string name = "cnn";  // mlp | cnn | resnet | torchscript
  double width = 1.0;        // channel / hidden-unit multiplier
  int64_t depth = 0;         // 0 = the model's default: mlp 2 hidden layers, cnn 2 conv blocks,
                             // resnet 3 blocks per stage (ResNet-20)
  std::string path;          // torchscript: the module file (torch.jit.script(m).save(path))
};

struct ModelInfo {
  std::string name;
  std::string description;
  int64_t default_depth;
};
const std::vector<ModelInfo>& registered_models();

// Builds a freshly initialised model (uses the global torch RNG: seed it first); torchscript
// loads model.path with the weights saved in it (models/torchscript.h).
// Unknown name or impossible size: UserError naming model.name / model.depth / model.width.
Net build_model(const ModelOptions& options, const data::Shape& input, int64_t num_classes);

// Runs `net` once, under its Compute settings and without gradients, on a batch of 2 zero
// images of `input`'s shape and checks that it gives logits [2, num_classes]; the net's
// training mode is kept. An error of the model's own code, or another output shape, is a
// UserError that starts with `origin` (e.g. "model.path: m.ts") and quotes the model's message.
void check_forward(NetImpl& net, const data::Shape& input, int64_t num_classes, const std::string& origin);

int64_t parameter_count(const torch::nn::Module& module);

// FLOPs of one training sample: forward, plus backward at twice the forward cost (gradients of
// weights and of inputs) except the first layer, whose input needs no gradient. 0 when unknown.
double training_flops_per_sample(const NetImpl& net, const data::Shape& input);

}  // namespace nosync::models
