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
  std::string name = "cnn";  // mlp | cnn | resnet | gpt | torchscript
  double width = 1.0;        // mlp, cnn, resnet: channel / hidden-unit multiplier
  int64_t depth = 0;         // mlp, cnn, resnet: 0 = the model's default: mlp 2 hidden layers,
                             // cnn 2 conv blocks, resnet 3 blocks per stage (ResNet-20)
  int64_t layers = 4;        // gpt: transformer blocks
  int64_t heads = 4;         // gpt: attention heads (embed must be a multiple)
  int64_t embed = 128;       // gpt: width of the residual stream
  std::string path;          // torchscript: the module file (torch.jit.script(m).save(path))
};

struct ModelInfo {
  std::string name;
  std::string description;
  int64_t default_depth;
  data::Task task = data::Task::classification;  // the data it learns
};
const std::vector<ModelInfo>& registered_models();
const ModelInfo* find_model(const std::string& name);  // nullptr when unknown

// Checks what can be checked without the data: the name, the ranges, embed % heads, and that
// each model is given only its own size keys (width/depth for mlp, cnn, resnet; layers, heads,
// embed for gpt; the others must stay at their defaults). UserError naming the key.
void check_model_options(const ModelOptions& options);

// Builds a freshly initialised model (uses the global torch RNG: seed it first); torchscript
// loads model.path with the weights saved in it (models/torchscript.h). Token data
// (gpt) comes as input {1, 1, T} (T = the context) with num_classes = the vocabulary.
// Bad options (check_model_options) or a model that does not fit the data: UserError.
Net build_model(const ModelOptions& options, const data::Shape& input, int64_t num_classes);

// The model for data like `train` (its sample shape, class count or vocabulary), after checking
// that the model learns the data's task: a classifier on text, or a language model on images,
// is a UserError naming model.name and data.format. Every place that builds a model for a run
// calls this.
Net build_model_for(const ModelOptions& options, const data::Dataset& train);

// Runs `net` once, under its Compute settings and without gradients, on a batch of 2 zero
// images of `input`'s shape and checks that it gives logits [2, num_classes]; the net's
// training mode is kept. An error of the model's own code, or another output shape, is a
// UserError that starts with `origin` (e.g. "model.path: m.ts") and quotes the model's message.
// With tokens = true: token ids [2, T] (T = input.width) in, logits [2, T, num_classes] out.
void check_forward(NetImpl& net, const data::Shape& input, int64_t num_classes, const std::string& origin,
                   bool tokens = false);

int64_t parameter_count(const torch::nn::Module& module);

// FLOPs of one training sample: forward, plus backward at twice the forward cost (gradients of
// weights and of inputs) except the first layer, whose input needs no gradient. 0 when unknown.
double training_flops_per_sample(const NetImpl& net, const data::Shape& input);

}  // namespace nosync::models
