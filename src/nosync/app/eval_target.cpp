#include "nosync/app/eval_target.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nosync/train/checkpoint.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::app {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kModelHint = "use --model best, average or particle-<N>";

// "particle-<digits>" -> N.
std::optional<int> parse_particle(const std::string& name) {
  const auto n = train::parse_numbered_name(name, "particle-");
  if (!n || *n > 1000000) return std::nullopt;
  return static_cast<int>(*n);
}

// The file as JSON, or null when it is missing or not JSON (the chosen checkpoint is verified
// in full later; here a file only informs the choice).
json read_json_or_null(const std::string& path) {
  if (!util::path_exists(path)) return json();
  json j = json::parse(util::read_text(path), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json() : j;
}

struct Particle {
  int id = 0;
  std::string dir;  // its latest step-<N>
  int64_t step = -1;
  json state;
};

// The best particle by the fitness the run recorded; `why` says where it came from. -1: none
// recorded.
int best_particle(const std::vector<Particle>& ps, const std::string& run_dir, std::string* why) {
  const json summary = read_json_or_null(run_dir + "/summary.json");
  if (summary.is_object() && summary.value("best_particle", json()).is_number_integer() &&
      summary.value("steps", json()).is_number_integer()) {
    const int best = summary["best_particle"].get<int>();
    const int64_t steps = summary["steps"].get<int64_t>();
    const bool current = std::all_of(ps.begin(), ps.end(), [&](const Particle& p) { return p.step == steps; });
    for (size_t i = 0; current && i < ps.size(); ++i)
      if (ps[i].id == best) {
        *why = "lowest validation loss at the end of the run, summary.json";
        return static_cast<int>(i);
      }
  }
  int best = -1;
  double best_loss = 0;
  for (size_t i = 0; i < ps.size(); ++i) {
    const json loss = ps[i].state.is_object() ? ps[i].state.value("val_loss", json()) : json();
    if (!loss.is_number() || !std::isfinite(loss.get<double>())) continue;
    if (best < 0 || loss.get<double>() < best_loss) {
      best = static_cast<int>(i);
      best_loss = loss.get<double>();
    }
  }
  if (best >= 0) *why = "lowest validation loss of the particles' latest checkpoints, state.json";
  return best;
}

}  // namespace

std::vector<int> particle_ids(const std::string& checkpoints_dir) {
  std::vector<int> ids;
  for (int64_t n : train::numbered_dirs(checkpoints_dir, "particle-"))
    if (n <= 1000000) ids.push_back(static_cast<int>(n));
  return ids;
}

EvalTarget choose_eval_target(const std::string& path, const std::string& model) {
  const std::string m = model.empty() ? "best" : model;
  const std::optional<int> wanted = parse_particle(m);
  if (m != "best" && m != "average" && !wanted)
    throw UserError(fmt::format("--model {}: unknown model", m), kModelHint);

  const std::string clean = fs::path(path).lexically_normal().string();
  std::string checkpoints_dir, run_dir;
  if (util::is_dir(clean) && !particle_ids(clean + "/checkpoints").empty()) {
    checkpoints_dir = clean + "/checkpoints";
    run_dir = clean;
  } else if (util::is_dir(clean) && !particle_ids(clean).empty()) {
    checkpoints_dir = clean;
    run_dir = (fs::path(clean) / "..").lexically_normal().string();
  }

  EvalTarget t;
  if (checkpoints_dir.empty()) {  // one model: a single worker's run, or one particle's or step's directory
    const std::string dir = train::resolve_checkpoint_dir(clean);
    if (m != "best")
      throw UserError(fmt::format("--model {}: {} holds one model, not a swarm's particles", m, clean),
                      "leave out --model, or pass a swarm's run directory (or its checkpoints/)");
    t.description = fmt::format("the checkpoint {}", dir);
    t.checkpoint_dirs = {dir};
    return t;
  }

  std::vector<Particle> ps;
  for (int id : particle_ids(checkpoints_dir)) {
    Particle p;
    p.id = id;
    p.dir = train::resolve_checkpoint_dir(fmt::format("{}/particle-{}", checkpoints_dir, id));
    p.step = train::checkpoint_dir_step(p.dir);
    p.state = read_json_or_null(p.dir + "/state.json");
    ps.push_back(std::move(p));
  }
  auto steps_of = [](const std::vector<Particle>& some) {
    int64_t lo = some[0].step, hi = some[0].step;
    for (const auto& p : some) lo = std::min(lo, p.step), hi = std::max(hi, p.step);
    return lo == hi ? fmt::format("step {}", lo) : fmt::format("steps {}..{}", lo, hi);
  };

  if (wanted) {
    for (const auto& p : ps)
      if (p.id == *wanted) {
        t.description = fmt::format("particle-{} of {}, step {}", p.id, ps.size(), p.step);
        t.checkpoint_dirs = {p.dir};
        return t;
      }
    throw UserError(fmt::format("--model {}: {} has no particle-{} (it has particle-{} .. particle-{})", m,
                                checkpoints_dir, *wanted, ps.front().id, ps.back().id),
                    kModelHint);
  }

  std::string why;
  const int best = best_particle(ps, run_dir, &why);
  if (m == "average") {
    for (const auto& p : ps) t.checkpoint_dirs.push_back(p.dir);
    t.average = true;
    t.reference = std::max(best, 0);
    t.description = fmt::format("swarm average of {} particles at {} (mean weights, batch norm re-estimated)",
                                ps.size(), steps_of(ps));
    return t;
  }
  if (best < 0)
    throw UserError(fmt::format("{}: no validation loss recorded for its particles (no current summary.json, no "
                                "\"val_loss\" in their state.json), so no best particle",
                                checkpoints_dir),
                    "pass --model particle-<N> or --model average");
  t.description = fmt::format("best particle: particle-{} of {}, step {} ({})", ps[best].id, ps.size(),
                              ps[best].step, why);
  t.checkpoint_dirs = {ps[best].dir};
  return t;
}

}  // namespace nosync::app
