// What inference needs besides the weights, stored with every checkpoint (state.json
// "model_card"), so that a checkpoint describes itself: the model's options, the input it takes
// and how raw inputs become that input (the training split's normalization), the classes, the
// precision it was evaluated at, and the data options of the run. python/nosync_models.py's
// load() builds a ready module and its transform from it alone.
//
//   {"format": "nosync-model-card", "version": 1,
//    "model": {"name", "width", "depth", "layers", "heads", "embed", "path"},
//    "task": "classification" | "language_model", "classes": N,
//    "input": {"shape": [C, H, W], "dtype": "uint8" | "float32" | "tokens"},
//    "normalization": {"mean": [...], "std": [...], "pixel_scale": 255 (uint8) or 1} | null (tokens),
//    "precision": "fp32" | "bf16", "channels_last": true when the net ran in NHWC (conv models),
//    "data": {"format", "dir", "path", "normalize", "val_size", "train_limit", "test_limit", "context"}}
//
// Normalized input, per channel c (dimension 1), as data/loader.cpp computes it: uint8 pixels
// (v / 255 - mean[c]) / std[c] in double, rounded to float32; float inputs (x - mean[c]) / std[c]
// in float32. mean and std are float32 values.
#pragma once

#include <nlohmann/json.hpp>

#include "nosync/data/dataset.h"
#include "nosync/models/registry.h"

namespace nosync::train {

inline constexpr const char* kModelCardKey = "model_card";

// `compute`: how the net computes (its NetImpl::compute()).
nlohmann::json model_card(const models::ModelOptions& model, const data::DataOptions& data,
                          const data::Splits& splits, const models::Compute& compute);

}  // namespace nosync::train
