// metrics.jsonl: one JSON object per line, one line per event, flushed as written so a crash
// loses at most the line being written.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nosync::train {

class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& path);  // appends; UserError if it cannot open
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// The records of a metrics.jsonl file, in order; a missing file has none, and lines that are not
// a JSON object with an "event" (a torn last line of a killed run) are skipped.
std::vector<nlohmann::json> read_metrics_records(const std::string& path);

}  // namespace nosync::train
