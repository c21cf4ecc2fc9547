// Metrics records to named scalars (scalars.h states the naming rules).
#include "nosync/train/scalars.h"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace nosync::train {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_identity(std::string_view key) {
  static constexpr std::array<std::string_view, 7> kIdentity = {"event",    "particle",  "rank",  "step",
                                                                "from",     "attractor", "wall_s"};
  for (std::string_view k : kIdentity)
    if (key == k) return true;
  return false;
}

std::string name_of(const std::string& event, const std::string& key) {
  const std::array<std::string_view, 4> splits = {"train", "val", "test", event};
  for (std::string_view split : splits)
    if (key.size() > split.size() + 1 && starts_with(key, split) && key[split.size()] == '_')
      return fmt::format("{}/{}", split, key.substr(split.size() + 1));
  return fmt::format("{}/{}", event, key);
}

// Numeric leaves of `j` under `path` (objects nested as path/key); arrays are not metrics.
void flatten(const nlohmann::json& j, const std::string& path, std::vector<std::pair<std::string, double>>& out) {
  if (j.is_number()) {
    out.emplace_back(path, j.get<double>());
  } else if (j.is_object()) {
    for (const auto& [key, value] : j.items()) flatten(value, path + "/" + key, out);
  }
}

}  // namespace

Scalars scalars_of(const nlohmann::json& record) {
  Scalars s;
  if (!record.is_object()) return s;
  const auto event_it = record.find("event");
  if (event_it == record.end() || !event_it->is_string()) return s;
  const std::string event = event_it->get<std::string>();
  if (const auto p = record.find("particle"); p != record.end() && p->is_number_integer()) s.particle = p->get<int>();
  if (const auto r = record.find("rank"); r != record.end() && r->is_number_integer()) s.rank = r->get<int>();
  if (const auto w = record.find("wall_s"); w != record.end() && w->is_number()) s.wall_s = w->get<double>();

  if (event == "final") {
    const auto summary = record.find("summary");
    if (summary == record.end() || !summary->is_object()) return s;
    const auto steps = summary->find("steps");
    if (steps == summary->end() || !steps->is_number_integer()) return s;
    s.step = steps->get<int64_t>();
    flatten(*summary, "final", s.values);
    return s;
  }
  const auto step = record.find("step");
  if (step == record.end() || !step->is_number_integer()) return s;
  s.step = step->get<int64_t>();
  for (const auto& [key, value] : record.items()) {
    if (!value.is_number() || is_identity(key)) continue;
    if (event == "eval" && (key == "lr" || key == "epoch")) continue;
    s.values.emplace_back(name_of(event, key), value.get<double>());
  }
  return s;
}

std::string scalar_tag(const Scalars& s, const std::string& name) {
  if (s.particle < 0) return name;
  if (s.rank >= 0 && s.rank != s.particle) return fmt::format("p{}-rank{}/{}", s.particle, s.rank, name);
  return fmt::format("p{}/{}", s.particle, name);
}

}  // namespace nosync::train
