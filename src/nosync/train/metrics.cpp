#include "nosync/train/metrics.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "nosync/util/error.h"

namespace nosync::train {

MetricsWriter::MetricsWriter(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "a")) {
  if (!file_) throw UserError(fmt::format("{}: cannot open for writing: {}", path, std::strerror(errno)));
}

MetricsWriter::~MetricsWriter() {
  if (file_) std::fclose(file_);
}

void MetricsWriter::write(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw UserError(fmt::format("{}: write failed: {}", path_, std::strerror(errno)), "is the disk full?");
}

std::vector<nlohmann::json> read_metrics_records(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event")) continue;
    records.push_back(std::move(j));
  }
  return records;
}

}  // namespace nosync::train
