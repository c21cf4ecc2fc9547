// Eval results as record fields and text.
#include "nosync/train/eval_result.h"

#include <fmt/format.h>

namespace nosync::train {

void add_eval_fields(nlohmann::json& record, const std::string& prefix, const EvalResult& r) {
  record[prefix + "_loss"] = r.loss;
  record[prefix + "_accuracy"] = r.accuracy;
  if (r.task == data::Task::language_model) {
    record[prefix + "_perplexity"] = r.perplexity();
    record[prefix + "_bits_per_byte"] = r.bits_per_byte();
  }
}

nlohmann::json eval_fields(const std::string& prefix, const EvalResult& r) {
  nlohmann::json j = nlohmann::json::object();
  add_eval_fields(j, prefix, r);
  return j;
}

namespace {

double field(const nlohmann::json& record, const std::string& name) {
  return record.contains(name) && record[name].is_number() ? record[name].get<double>() : std::nan("");
}

}  // namespace

std::pair<std::string, std::string> headline_row(const nlohmann::json& record, const std::string& prefix) {
  if (record.contains(prefix + "_bits_per_byte"))
    return {prefix + " bits/byte",
            fmt::format("{:.3f} (loss {:.4f}, perplexity {:.2f})", field(record, prefix + "_bits_per_byte"),
                        field(record, prefix + "_loss"), field(record, prefix + "_perplexity"))};
  return {prefix + " accuracy", fmt::format("{:.2f} %", 100 * field(record, prefix + "_accuracy"))};
}

std::string headline_value(const nlohmann::json& record, const std::string& prefix) {
  if (record.contains(prefix + "_bits_per_byte"))
    return fmt::format("{:.3f} bits/byte", field(record, prefix + "_bits_per_byte"));
  return fmt::format("{:.2f} %", 100 * field(record, prefix + "_accuracy"));
}

}  // namespace nosync::train
