// The registry: maps a model name to its builder and checks the size options.
#include "nosync/models/registry.h"

#include <cmath>

#include <ATen/autocast_mode.h>

#include "nosync/models/gpt.h"
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
