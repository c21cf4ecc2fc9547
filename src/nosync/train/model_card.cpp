#include "nosync/train/model_card.h"

namespace nosync::train {

nlohmann::json model_card(const models::ModelOptions& model, const data::DataOptions& data,
                          const data::Splits& splits, const models::Compute& compute) {
  const data::Dataset& ds = splits.train;
  const data::Shape shape = ds.shape();
  const bool tokens = ds.task == data::Task::language_model;
  const bool pixels = ds.inputs.scalar_type() == torch::kUInt8 && !tokens;
  nlohmann::json card = {
      {"format", "nosync-model-card"},
      {"version", 1},
      {"model",
       {{"name", model.name},
        {"width", model.width},
        {"depth", model.depth},
        {"layers", model.layers},
        {"heads", model.heads},
        {"embed", model.embed},
        {"path", model.path}}},
      {"task", data::task_name(ds.task)},
      {"classes", ds.num_classes},
      {"input",
       {{"shape", {shape.channels, shape.height, shape.width}},
        {"dtype", tokens ? "tokens" : pixels ? "uint8" : "float32"}}},
      {"precision", compute.bf16 ? "bf16" : "fp32"},
      {"channels_last", compute.channels_last},
      {"data",
       {{"format", data.format},
        {"dir", data.dir},
        {"path", data.path},
        {"normalize", data.normalize},
        {"val_size", data.val_size},
        {"train_limit", data.train_limit},
        {"test_limit", data.test_limit},
        {"context", data.context}}}};
  if (tokens)
    card["normalization"] = nullptr;
  else
    card["normalization"] = {{"mean", splits.norm.mean}, {"std", splits.norm.std}, {"pixel_scale", pixels ? 255 : 1}};
  return card;
}

}  // namespace nosync::train
