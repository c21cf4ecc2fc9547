// The metrics table and its CSV text.
#include "nosync/train/metrics_csv.h"

#include <cmath>

#include <fmt/format.h>

namespace nosync::train {

void MetricsTable::add(const Scalars& s) {
  if (s.values.empty()) return;
  const auto key = std::make_tuple(s.particle, s.rank, s.step);
  auto [it, inserted] = row_of_.try_emplace(key, rows_.size());
  if (inserted) rows_.push_back({s.particle, s.rank, s.step, s.wall_s, {}});
  Row& row = rows_[it->second];
  if (!std::isnan(s.wall_s)) row.wall_s = s.wall_s;
  any_particle_ = any_particle_ || s.particle >= 0;
  any_rank_ = any_rank_ || s.rank >= 0;
  for (const auto& [name, value] : s.values) {
    auto [column, added] = column_of_.try_emplace(name, columns_.size());
    if (added) columns_.push_back(name);
    row.values[column->second] = value;
  }
}

std::string MetricsTable::csv() const {
  // Metric names are made of record keys (letters, digits, '_', '/'): no quoting needed.
  std::string out = "step";
  if (any_particle_) out += ",particle";
  if (any_rank_) out += ",rank";
  out += ",wall_s";
  for (const std::string& c : columns_) out += "," + c;
  out += "\n";
  auto number = [](double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string(); };
  for (const Row& row : rows_) {
    out += fmt::format("{}", row.step);
    if (any_particle_) out += row.particle >= 0 ? fmt::format(",{}", row.particle) : ",";
    if (any_rank_) out += row.rank >= 0 ? fmt::format(",{}", row.rank) : ",";
    out += "," + number(row.wall_s);
    auto v = row.values.begin();
    for (size_t c = 0; c < columns_.size(); ++c) {
      out += ",";
      if (v != row.values.end() && v->first == c) out += number((v++)->second);
    }
    out += "\n";
  }
  return out;
}

}  // namespace nosync::train
