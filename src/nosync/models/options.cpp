// The model names and the checks of the model.* options that need no data (registry.h). A file
// of its own, free of libtorch modules, so that the config schema (and its fuzz target) can
// check model options without linking the models.
#include <cmath>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "nosync/models/registry.h"
#include "nosync/models/torchscript.h"
#include "nosync/util/error.h"

namespace nosync::models {

const std::vector<ModelInfo>& registered_models() {
  static const std::vector<ModelInfo> models = {
      {"mlp", "multi-layer perceptron: depth hidden layers of 256*width ReLU units", 2},
      {"cnn", "conv3x3+ReLU+maxpool blocks (32, 64, ... *width channels), FC 128*width, FC classes", 2},
      {"resnet", "ResNet for 32x32 (He et al. 2016 CIFAR variant): 3 stages of depth basic blocks, "
                 "16/32/64*width channels, batch norm; depth 3 = ResNet-20",
       3},
      {"gpt", "decoder-only transformer on token windows (GPT-2 style, pre-norm): model.layers blocks of "
              "causal self-attention with model.heads heads and a 4x GELU MLP, model.embed wide, learned "
              "positions, output head tied to the token embedding; needs token data (data.format = text)",
       0, data::Task::language_model},
      {"torchscript", "a TorchScript module saved from Python (torch.jit.script(m).save(model.path)), with "
                      "its own weights; width and depth do not apply",
       0},
  };
  return models;
}

const ModelInfo* find_model(const std::string& name) {
  for (const auto& m : registered_models())
    if (m.name == name) return &m;
  return nullptr;
}

void check_torchscript_path(const std::string& path) {
  if (path.empty())
    throw UserError("model.path: empty, but model.name = torchscript needs the module's file", "save it from Python with torch.jit.script(model).save(path)");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw UserError(fmt::format("model.path: {}: no such file", path),
                    "a run's config.toml names the file it was trained from: if it moved, pass --set model.path=NEW");
}

void check_model_options(const ModelOptions& options) {
  if (!find_model(options.name))
    throw UserError(fmt::format("model.name: unknown model '{}'", options.name),
                    "choose one of mlp, cnn, resnet, gpt, torchscript");
  if (options.name == "torchscript") check_torchscript_path(options.path);
  if (!(options.width > 0) || !std::isfinite(options.width) || options.width > 64)
    throw UserError(fmt::format("model.width: must be in (0, 64], found {}", options.width));
  const ModelOptions defaults;
  if (options.name == "gpt") {
    if (options.width != defaults.width || options.depth != defaults.depth)
      throw UserError(fmt::format("model.{}: does not apply to model.name = gpt, found {}",
                                  options.width != defaults.width ? "width" : "depth",
                                  options.width != defaults.width ? fmt::format("{}", options.width)
                                                                  : std::to_string(options.depth)),
                      "size a gpt with model.layers, model.heads and model.embed; leave model.width = 1 and "
                      "model.depth = 0");
    if (options.layers < 1 || options.layers > 256)
      throw UserError(fmt::format("model.layers: must be in [1, 256], found {}", options.layers));
    if (options.heads < 1 || options.heads > 256)
      throw UserError(fmt::format("model.heads: must be in [1, 256], found {}", options.heads));
    if (options.embed < 1 || options.embed > 16384)
      throw UserError(fmt::format("model.embed: must be in [1, 16384], found {}", options.embed));
    if (options.embed % options.heads != 0)
      throw UserError(fmt::format("model.embed: {} is not a multiple of model.heads = {}", options.embed,
                                  options.heads),
                      fmt::format("each head gets embed / heads columns: try model.embed = {}",
                                  (options.embed / options.heads + 1) * options.heads));
    return;
  }
  const char* gpt_key = options.layers != defaults.layers  ? "layers"
                        : options.heads != defaults.heads  ? "heads"
                        : options.embed != defaults.embed ? "embed"
                                                          : nullptr;
  if (gpt_key)
    throw UserError(fmt::format("model.{}: applies to model.name = gpt only, not {}", gpt_key, options.name),
                    fmt::format("size a {} with model.width and model.depth", options.name));
}

}  // namespace nosync::models
