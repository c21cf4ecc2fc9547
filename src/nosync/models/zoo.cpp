// Implementations of the built-in models.
#include "nosync/models/zoo.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>

#include "nosync/models/ops.h"
#include "nosync/util/error.h"

namespace nosync::models {

namespace F = torch::nn::functional;

namespace {

// FLOPs of a convolution (2 per multiply-add) on an h x w input; h and w become its output size.
double conv_flops(const torch::nn::Conv2dImpl& conv, int64_t& h, int64_t& w) {
  const auto& o = conv.options;
  const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  const int64_t ph = pad ? (**pad)[0] : 0, pw = pad ? (**pad)[1] : 0;
  h = (h + 2 * ph - (*o.kernel_size())[0]) / (*o.stride())[0] + 1;
  w = (w + 2 * pw - (*o.kernel_size())[1]) / (*o.stride())[1] + 1;
  return 2.0 * static_cast<double>(conv.weight.numel()) * static_cast<double>(h * w);
}

double linear_flops(const torch::nn::LinearImpl& linear) { return 2.0 * static_cast<double>(linear.weight.numel()); }

}  // namespace

MlpImpl::MlpImpl(int64_t in_features, int64_t hidden, int64_t depth, int64_t num_classes) {
  hidden_ = register_module("hidden", torch::nn::ModuleList());
  int64_t fan_in = in_features;
  for (int64_t i = 0; i < depth; ++i) {
    layers_.emplace_back(torch::nn::LinearOptions(fan_in, hidden));
    hidden_->push_back(layers_.back());
    fan_in = hidden;
  }
  out_ = register_module("out", torch::nn::Linear(fan_in, num_classes));
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  x = x.flatten(1);
  for (auto& layer : layers_) x = torch::relu(layer->forward(x));
  return out_->forward(x);
}

std::vector<double> MlpImpl::layer_flops(const data::Shape&) const {
  std::vector<double> out;
  for (const auto& layer : layers_) out.push_back(linear_flops(*layer));
  out.push_back(linear_flops(*out_));
  return out;
}

CnnImpl::CnnImpl(const data::Shape& input, const std::vector<int64_t>& channels, int64_t hidden,
                 int64_t num_classes) {
  int64_t in = input.channels, h = input.height, w = input.width;
  for (size_t i = 0; i < channels.size(); ++i) {
    convs_.push_back(register_module(
        "conv" + std::to_string(i + 1),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, channels[i], /*kernel_size=*/3).padding(1))));
    in = channels[i];
    h /= 2;
    w /= 2;
  }
  NOSYNC_CHECK(h > 0 && w > 0, "cnn input too small: {}x{}", input.height, input.width);
  fc1_ = register_module("fc1", torch::nn::Linear(in * h * w, hidden));
  fc2_ = register_module("fc2", torch::nn::Linear(hidden, num_classes));
}

torch::Tensor CnnImpl::forward(torch::Tensor x) {
  for (auto& conv : convs_) x = relu_max_pool2x2(conv->forward(x));
  x = torch::relu(fc1_->forward(x.flatten(1)));
  return fc2_->forward(x);
}

std::vector<double> CnnImpl::layer_flops(const data::Shape& input) const {
  std::vector<double> out;
  int64_t h = input.height, w = input.width;
  for (const auto& conv : convs_) {
    out.push_back(conv_flops(*conv, h, w));
    h /= 2;  // max pool
    w /= 2;
  }
  out.push_back(linear_flops(*fc1_));
  out.push_back(linear_flops(*fc2_));
  return out;
}

namespace {

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, /*kernel_size=*/3).stride(stride).padding(1).bias(false));
}

void init_resnet_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride) {
  conv1_ = register_module("conv1", conv3x3(in_channels, out_channels, stride));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out_channels));
  conv2_ = register_module("conv2", conv3x3(out_channels, out_channels, 1));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out_channels));
  if (stride != 1 || in_channels != out_channels) {
    downsample_ = register_module(
        "downsample",
        torch::nn::Sequential(
            torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1).stride(stride).bias(false)),
            torch::nn::BatchNorm2d(out_channels)));
  }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1_->forward(conv1_->forward(x)));
  out = bn2_->forward(conv2_->forward(out));
  out += downsample_ ? downsample_->forward(x) : x;
  return torch::relu(out);
}

void BasicBlockImpl::append_flops(std::vector<double>& out, int64_t& h, int64_t& w) const {
  int64_t h_in = h, w_in = w;
  out.push_back(conv_flops(*conv1_, h, w));
  out.push_back(conv_flops(*conv2_, h, w));
  if (downsample_) out.push_back(conv_flops(*downsample_->ptr<torch::nn::Conv2dImpl>(0), h_in, w_in));
}

ResNetImpl::ResNetImpl(int64_t in_channels, int64_t blocks_per_stage, int64_t base_channels,
                       int64_t num_classes) {
  conv1_ = register_module("conv1", conv3x3(in_channels, base_channels, 1));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(base_channels));
  int64_t in = base_channels;
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t out = base_channels << stage;
    auto layer = register_module("layer" + std::to_string(stage + 1), torch::nn::ModuleList());
    for (int64_t b = 0; b < blocks_per_stage; ++b) {
      auto block = std::make_shared<BasicBlockImpl>(in, out, (stage > 0 && b == 0) ? 2 : 1);
      layer->push_back(block);
      blocks_.push_back(block);
      in = out;
    }
  }
  fc_ = register_module("fc", torch::nn::Linear(in, num_classes));
  init_resnet_weights(*this);
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  x = torch::relu(bn1_->forward(conv1_->forward(x)));
  for (auto& block : blocks_) x = block->forward(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return fc_->forward(x);
}

std::vector<double> ResNetImpl::layer_flops(const data::Shape& input) const {
  std::vector<double> out;
  int64_t h = input.height, w = input.width;
  out.push_back(conv_flops(*conv1_, h, w));
  for (const auto& block : blocks_) block->append_flops(out, h, w);
  out.push_back(linear_flops(*fc_));
  return out;
}

}  // namespace nosync::models
