// What a finished run left in its directory, read back for reports (`nosync compare`,
// `nosync experiment`): summary.json and the metrics.jsonl events; and gnuplot line plots.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nosync::app {

struct EvalPoint {
  int particle = 0;  // 0 for a single worker
  int64_t step = 0;  // steps of that worker
  double wall_s = 0;
  double val_accuracy = 0, val_loss = 0, test_accuracy = 0, test_loss = 0;
};

struct SwarmPoint {
  int64_t step = 0;
  double wall_s = 0;
  double diversity = 0;
};

struct RunRecord {
  std::string dir;
  nlohmann::json summary;          // summary.json
  std::vector<EvalPoint> evals;    // in file order
  std::vector<SwarmPoint> swarm;   // diversity records
};

// Reads run_dir/summary.json and run_dir/metrics.jsonl; a missing summary is a UserError.
RunRecord read_run(const std::string& run_dir);

// The first evaluation at which any worker reached `target` test accuracy (wall_s and step -1
// when none did).
struct Reached {
  double wall_s = -1;
  int64_t step = -1;
};
Reached first_reaching(const RunRecord& run, double target);

// (wall_s, best test accuracy of any worker so far), one point per evaluation.
std::vector<std::pair<double, double>> best_accuracy_curve(const RunRecord& run);

struct Series {
  std::string title;
  std::vector<std::pair<double, double>> points;
};

struct PlotSpec {
  std::string xlabel, ylabel;
  std::string style = "linespoints";  // gnuplot "with" clause
  bool logscale_x = false;
};

// Writes <dir>/<name>.dat files, <dir>/<name>.gp and renders <dir>/<name>.png and .svg through
// gnuplot. Returns false when gnuplot is missing or fails (the report says so).
bool plot_series(const std::string& dir, const std::string& name, const PlotSpec& spec,
                 const std::vector<Series>& series);

}  // namespace nosync::app
