#include "nosync/app/run_record.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "nosync/train/metrics.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "nosync/util/shell.h"

namespace nosync::app {

namespace fs = std::filesystem;

RunRecord read_run(const std::string& run_dir) {
  RunRecord r;
  r.dir = run_dir;
  const std::string summary = run_dir + "/summary.json";
  if (!fs::exists(summary))
    throw UserError(fmt::format("{}: no summary.json, so the run did not finish", run_dir),
                    "rerun it, or look at its log for the error");
  r.summary = nlohmann::json::parse(util::read_text(summary), nullptr, /*allow_exceptions=*/false);
  if (r.summary.is_discarded() || !r.summary.is_object()) throw UserError(fmt::format("{}: not valid JSON", summary));
  if (!r.summary.contains("best") && r.summary.contains("test_accuracy")) {  // a single worker's run
    const nlohmann::json one = {{"test_accuracy", r.summary["test_accuracy"]}, {"test_loss", r.summary["test_loss"]}};
    r.summary["best"] = r.summary["average"] = r.summary["ensemble"] = one;
    r.summary["particles"] = 1;
    r.summary["algo"] = "single";
  }
  for (const nlohmann::json& j : train::read_metrics_records(run_dir + "/metrics.jsonl")) {
    if (j["event"] == "eval") {
      EvalPoint e;
      e.particle = j.value("particle", 0);
      e.step = j.value("step", int64_t{0});
      e.wall_s = j.value("wall_s", 0.0);
      e.val_accuracy = j.value("val_accuracy", 0.0);
      e.val_loss = j.value("val_loss", 0.0);
      e.test_accuracy = j.value("test_accuracy", 0.0);
      e.test_loss = j.value("test_loss", 0.0);
      r.evals.push_back(e);
    } else if (j["event"] == "swarm") {
      r.swarm.push_back({j.value("step", int64_t{0}), j.value("wall_s", 0.0), j.value("diversity", 0.0)});
    }
  }
  return r;
}

Reached first_reaching(const RunRecord& run, double target) {
  Reached best;
  for (const auto& e : run.evals)  // records of several workers interleave: take the earliest
    if (e.test_accuracy >= target && (best.wall_s < 0 || e.wall_s < best.wall_s)) best = {e.wall_s, e.step};
  return best;
}

std::vector<std::pair<double, double>> best_accuracy_curve(const RunRecord& run) {
  std::vector<EvalPoint> evals = run.evals;
  std::stable_sort(evals.begin(), evals.end(), [](const auto& a, const auto& b) { return a.wall_s < b.wall_s; });
  std::vector<std::pair<double, double>> out;
  double best = 0;
  for (const auto& e : evals) {
    best = std::max(best, e.test_accuracy);
    out.emplace_back(e.wall_s, best);
  }
  return out;
}

namespace {

std::string safe_name(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  return s;
}

std::string quoted(const std::string& s) {  // gnuplot single-quoted string
  std::string out;
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return "'" + out + "'";
}

}  // namespace

bool plot_series(const std::string& dir, const std::string& name, const PlotSpec& spec,
                 const std::vector<Series>& series) {
  std::string plot;
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    const std::string dat = dir + "/" + name + "." + safe_name(s.title) + ".dat";
    std::string text;
    for (const auto& [x, y] : s.points) text += fmt::format("{} {}\n", x, y);
    util::write_file_atomic(dat, text);
    plot += fmt::format("{}{} using 1:2 with {} title {}", plot.empty() ? "" : ", ", quoted(dat), spec.style,
                        quoted(s.title));
  }
  if (plot.empty()) return true;
  std::string gp;
  for (const auto& [term, ext] : {std::pair{"pngcairo size 900,560", "png"}, std::pair{"svg size 900,560", "svg"}}) {
    gp += fmt::format("set terminal {}\nset output {}\nset xlabel {}\nset ylabel {}\nset grid\nset key outside right\n{}"
                      "plot {}\n",
                      term, quoted(dir + "/" + name + "." + ext), quoted(spec.xlabel), quoted(spec.ylabel),
                      spec.logscale_x ? "set logscale x\n" : "", plot);
  }
  const std::string script = dir + "/" + name + ".gp";
  util::write_file_atomic(script, gp);
  return std::system(fmt::format("gnuplot {} 2>/dev/null", util::shell_quote(script)).c_str()) == 0;
}

}  // namespace nosync::app
