// The registry: maps a model name to its builder and checks the size options.
#include "nosync/models/registry.h"

#include <cmath>
#include <sstream>

#include <ATen/autocast_mode.h>
#include <torch/nn/modules/batchnorm.h>

#include "nosync/models/gpt.h"
#include "nosync/models/torchscript.h"
#include "nosync/models/zoo.h"
#include "nosync/util/error.h"

namespace nosync::models {

namespace {

int64_t scaled(int64_t base, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(base * width)));
}

}  // namespace

Net build_model(const ModelOptions& options, const data::Shape& input, int64_t num_classes) {
  check_model_options(options);
  const ModelInfo* info = find_model(options.name);
  NOSYNC_CHECK(info, "model {}", options.name);
  if (options.name == "torchscript") return load_torchscript(options.path, input, num_classes);
  NOSYNC_CHECK(input.numel() > 0 && num_classes > 1, "input {}x{}x{} classes {}", input.channels,
               input.height, input.width, num_classes);
  // Whether the model fits the data's task is build_model_for's check: a shape alone cannot tell
  // token windows (1 x 1 x T) from feature vectors (1 x 1 x D).
  if (options.name == "gpt")
    return std::make_shared<GptImpl>(GptSize{num_classes, input.width, options.layers, options.heads, options.embed});
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

Net build_model_for(const ModelOptions& options, const data::Dataset& train) {
  for (const auto& m : registered_models()) {
    if (m.name != options.name || m.task == train.task) continue;
    if (train.task == data::Task::language_model)
      throw UserError(fmt::format("model.name = {} is a classifier, but {} is text for language modelling",
                                  options.name, train.source),
                      "use model.name = gpt (or a TorchScript model) for data.format = text");
    throw UserError(fmt::format("model.name = {} is a language model, but {} holds samples for classification",
                                options.name, train.source),
                    "use data.format = text, or a classifier (mlp, cnn, resnet) for this data");
  }
  return build_model(options, train.shape(), train.num_classes);
}

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

void check_forward(NetImpl& net, const data::Shape& input, int64_t num_classes, const std::string& origin,
                   bool tokens) {
  // Token data: int64 ids [2, T] in, logits [2, T, vocabulary] out; images: float [2, C, H, W] in.
  const std::string expected = tokens ? fmt::format("[B, {}] token ids", input.width)
                                      : fmt::format("[B, {}, {}, {}]", input.channels, input.height, input.width);
  const torch::Tensor x = tokens ? torch::zeros({2, input.width}, torch::kLong)
                                 : torch::zeros({2, input.channels, input.height, input.width});
  const bool was_training = net.is_training();
  torch::Tensor out;
  try {
    torch::NoGradGuard no_grad;
    net.eval();
    out = net.logits(x);
    net.train(was_training);
  } catch (const std::exception& e) {  // c10::Error, or the TorchScript interpreter's runtime_error
    net.train(was_training);
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    throw UserError(fmt::format("{}: the model fails on the data's input {}{}: {}", origin, expected,
                                net.compute().bf16 ? " under train.precision = bf16" : "",
                                model_message(c10_error ? c10_error->what_without_backtrace() : e.what())),
                    net.compute().bf16 ? "set train.precision = fp32, or make the model run under bf16 autocast"
                                       : "its forward must take " + expected + " and return logits");
  }
  const bool ok = tokens ? out.dim() == 3 && out.size(0) == 2 && out.size(1) == input.width && out.size(2) == num_classes
                         : out.dim() == 2 && out.size(0) == 2 && out.size(1) == num_classes;
  if (!ok)
    throw UserError(fmt::format("{}: the model returns [{}] for input [{}]; expected logits {}", origin,
                                fmt::join(out.sizes(), ", "), fmt::join(x.sizes(), ", "),
                                tokens ? fmt::format("[2, {}, {}]", input.width, num_classes)
                                       : fmt::format("[2, {}]", num_classes)),
                    tokens ? fmt::format("its forward must return [batch, seq, vocab] with vocab = {}", num_classes)
                           : fmt::format("its forward must return [batch, classes] with classes = {} for this data",
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
