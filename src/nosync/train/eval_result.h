// The result of evaluating a model on a data set, and the one place where it becomes record
// fields and text (metrics.jsonl, summary.json, console, tables): classification reports
// accuracy; language modelling reports loss, perplexity and bits per byte.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "nosync/data/dataset.h"

namespace nosync::train {

struct EvalResult {
  double loss = 0;      // mean cross-entropy per prediction (language model: per token, in nats)
  double accuracy = 0;  // fraction of predictions correct, 0..1 (language model: next-token top-1)
  int64_t samples = 0;
  data::Task task = data::Task::classification;
  double perplexity() const { return std::exp(loss); }
  double bits_per_byte() const { return loss / std::log(2.0); }  // the byte-level vocabulary: 1 token = 1 byte
};

// Adds "<prefix>_loss" and "<prefix>_accuracy", and for a language model "<prefix>_perplexity"
// and "<prefix>_bits_per_byte", to `record`.
void add_eval_fields(nlohmann::json& record, const std::string& prefix, const EvalResult& r);
nlohmann::json eval_fields(const std::string& prefix, const EvalResult& r);

// The headline metric of fields written by add_eval_fields, as a table row: {"<prefix> accuracy",
// "88.12 %"} or {"<prefix> bits/byte", "1.781 (loss 1.2345, perplexity 3.44)"}.
std::pair<std::string, std::string> headline_row(const nlohmann::json& record, const std::string& prefix);
// The same value alone, short: "88.12 %" or "1.781 bits/byte".
std::string headline_value(const nlohmann::json& record, const std::string& prefix);

}  // namespace nosync::train
