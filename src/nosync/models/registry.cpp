// The registry: maps a model name to its builder and checks the size options.
#include "nosync/models/registry.h"

#include <cmath>
#include <sstream>

#include <ATen/autocast_mode.h>
#include <torch/nn/modules/batchnorm.h>

#include "nosync/models/torchscript.h"
#include "nosync/models/zoo.h"
#include "nosync/util/error.h"

namespace nosync::models {

const std::vector<ModelInfo>& registered_models() {
  static const std::vector<ModelInfo> models = {
      {"mlp", "multi-layer perceptron: depth hidden layers of 256*width ReLU units", 2},
      {"cnn", "conv3x3+ReLU+maxpool blocks (32, 64, ... *width channels), FC 128*width, FC classes", 2},
      {"resnet", "ResNet for 32x32 (He et al. 2016 CIFAR variant): 3 stages of depth basic blocks, "
                 "16/32/64*width channels, batch norm; depth 3 = ResNet-20",
       3},
      {"torchscript", "a TorchScript module saved from Python (torch.jit.script(m).save(model.path)), with "
                      "its own weights; width and depth do not apply",
       0},
  };
  return models;
}

namespace {

int64_t scaled(int64_t base, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(base * width)));
}

}  // namespace

Net build_model(const ModelOptions& options, const data::Shape& input, int64_t num_classes) {
  const ModelInfo* info = nullptr;
  for (const auto& m : registered_models())
    if (m.name == options.name) info = &m;
  if (!info)
    throw UserError(fmt::format("model.name: unknown model '{}'", options.name),
                    "choose one of mlp, cnn, resnet, torchscript");
  if (options.name == "torchscript") return load_torchscript(options.path, input, num_classes);
  if (!(options.width > 0) || !std::isfinite(options.width) || options.width > 64)
    throw UserError(fmt::format("model.width: must be in (0, 64], found {}", options.width));
  NOSYNC_CHECK(input.numel() > 0 && num_classes > 1, "input {}x{}x{} classes {}", input.channels,
               input.height, input.width, num_classes);
  const int64_t depth = options.depth > 0 ? options.depth : info->default_depth;

  if (options.name == "mlp") {
    return std::make_shared<MlpImpl>(input.numel(), scaled(256, options.width), depth, num_classes);
  }
  if (options.name == "cnn") {
    // Each block halves the resolution; stop before it vanishes.
    if ((input.height >> depth) < 1 || (input.width >> depth) < 1)
      throw UserError(fmt::format("model.depth: cnn with {} blocks needs images of at least {} pixels, "
                                  "found {}x{}",
                                  depth, int64_t{1} << depth, input.height, input.width),
                      "lower model.depth");
    std::vector<int64_t> channels;
    for (int64_t i = 0; i < depth; ++i) channels.push_back(scaled(int64_t{32} << i, options.width));
    return std::make_shared<CnnImpl>(input, channels, scaled(128, options.width), num_classes);
  }
  // resnet
  return std::make_shared<ResNetImpl>(input.channels, depth, scaled(16, options.width), num_classes);
}

namespace {

// bf16 CPU autocast for one forward pass. The cast cache (float32 weights -> bf16 copies) lives
// only inside the scope: the weights change after every optimizer step.
class AutocastScope {
 public:
  AutocastScope() : was_enabled_(at::autocast::is_cpu_enabled()), dtype_(at::autocast::get_autocast_cpu_dtype()) {
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(dtype_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool was_enabled_;
  at::ScalarType dtype_;
};

}  // namespace

torch::Tensor NetImpl::logits(torch::Tensor x) {
  if (compute_.channels_last && x.dim() == 4) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  if (!compute_.bf16) return forward(std::move(x));
  torch::Tensor out;
  {
    AutocastScope autocast;
    out = forward(std::move(x));
  }
  return out.to(torch::kFloat);
}

bool NetImpl::has_batchnorm() const {
  for (const auto& m : modules(/*include_self=*/false))
    if (m->as<torch::nn::BatchNorm2d>()) return true;
  return false;
}

void NetImpl::begin_batchnorm_average() {
  saved_bn_momentum_.clear();
  for (const auto& m : modules(/*include_self=*/false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      saved_bn_momentum_.push_back(bn->options.momentum());
      bn->options.momentum(c10::nullopt);  // cumulative average (1 / batches seen)
      bn->reset_running_stats();
    }
  }
}

void NetImpl::end_batchnorm_average() {
  size_t i = 0;
  for (const auto& m : modules(/*include_self=*/false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>(); bn && i < saved_bn_momentum_.size())
      bn->options.momentum(saved_bn_momentum_[i++]);
  saved_bn_momentum_.clear();
}

namespace {

// The line of an error message that says what went wrong: the first one, except for errors of
// TorchScript code, which start with a traceback and end with the model's own message.
std::string model_message(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  if (lines.empty()) return text;
  return text.find("TorchScript interpreter") != std::string::npos ? lines.back() : lines.front();
}

}  // namespace

void check_forward(NetImpl& net, const data::Shape& input, int64_t num_classes, const std::string& origin) {
  const std::string expected = fmt::format("[B, {}, {}, {}]", input.channels, input.height, input.width);
  const bool was_training = net.is_training();
  torch::Tensor out;
  try {
    torch::NoGradGuard no_grad;
    net.eval();
    out = net.logits(torch::zeros({2, input.channels, input.height, input.width}));
    net.train(was_training);
  } catch (const std::exception& e) {  // c10::Error, or the TorchScript interpreter's runtime_error
    net.train(was_training);
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    throw UserError(fmt::format("{}: the model fails on the data's input {}{}: {}", origin, expected,
                                net.compute().bf16 ? " under train.precision = bf16" : "",
                                model_message(c10_error ? c10_error->what_without_backtrace() : e.what())),
                    net.compute().bf16 ? "set train.precision = fp32, or make the model run under bf16 autocast"
                                       : "its forward must take float images " + expected + " and return logits");
  }
  if (out.dim() != 2 || out.size(0) != 2 || out.size(1) != num_classes)
    throw UserError(fmt::format("{}: the model returns [{}] for input [2, {}, {}, {}]; expected logits [2, {}]",
                                origin, fmt::join(out.sizes(), ", "), input.channels, input.height, input.width,
                                num_classes),
                    fmt::format("its forward must return [batch, classes] with classes = {} for this data",
                                num_classes));
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

double training_flops_per_sample(const NetImpl& net, const data::Shape& input) {
  const std::vector<double> layers = net.layer_flops(input);
  if (layers.empty()) return 0;
  double forward = 0;
  for (double f : layers) forward += f;
  return 3 * forward - layers.front();
}

}  // namespace nosync::models
