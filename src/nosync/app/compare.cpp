// Side-by-side runs of the algorithms under one budget, and their report.
#include "nosync/app/compare.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "nosync/app/console.h"
#include "nosync/app/local_swarm.h"
#include "nosync/app/run_record.h"
#include "nosync/app/swarm_launch.h"
#include "nosync/swarm/algo.h"
#include "nosync/train/loop.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "nosync/util/machine.h"

namespace nosync::app {

namespace fs = std::filesystem;

// Trains one configuration in this process; returns its summary as reports read it.
nlohmann::json run_in_process(const Config& config, const data::Splits& splits, const std::string& dir,
                              const std::string& config_toml) {
  ConsoleSink console(config.run.progress, config.train.log_every);
  if (swarm::parse_algo(config.swarm.algo) != swarm::Algo::kSingle)
    return run_local_swarm(config, splits, dir, config_toml, console);
  train::run_single(run_setup(config, dir, config_toml), splits, console);
  console.finish();
  return read_run(dir).summary;  // a single worker's best, average and ensemble are the worker
}

int run_compare(const Config& base, const CompareOptions& options) {
  const auto& known = swarm::algo_names();
  for (const auto& a : options.algos)
    if (std::find(known.begin(), known.end(), a) == known.end())
      throw UserError(fmt::format("--algos: unknown algorithm '{}'", a),
                      fmt::format("choose from {}", fmt::join(known, ",")));
  if (options.budget != "samples" && options.budget != "steps")
    throw UserError(fmt::format("--budget: '{}' is not samples or steps", options.budget));
  if (fs::exists(options.out_dir + "/compare.json"))
    throw UserError(fmt::format("{}: already holds a comparison", options.out_dir), "choose another --out");

  for (const auto& algo : options.algos) {  // every run's config is valid before the first starts
    Config c = base;
    c.swarm.algo = algo;
    check_consistency(c);
  }

  const data::Splits splits = data::load_splits(base.data);
  const int64_t single_steps = train::total_steps(base.train, splits.train.size());
  nlohmann::json report = nlohmann::json::array();
  std::vector<Series> accuracy, diversity;
  for (const auto& algo : options.algos) {
    Config c = base;
    c.swarm.algo = algo;
    const int n = particle_count(c);
    c.train.steps = options.budget == "samples" ? std::max<int64_t>(1, single_steps / n) : single_steps;
    const std::string dir = options.out_dir + "/" + algo;
    fs::create_directories(dir);
    c.run.dir = dir;
    const Config asked = c;
    c = resolve_config(c, n, util::share_threads(0, n).threads);
    const std::string toml = to_toml(c, &asked);
    util::write_file_atomic(dir + "/config.toml", toml);
    std::cerr << fmt::format("== {}: {} worker(s) x {} steps\n", algo, n, c.train.steps);
    nlohmann::json s = run_in_process(c, splits, dir, toml);
    const RunRecord run = read_run(dir);
    const Reached reached = first_reaching(run, options.target);
    accuracy.push_back({algo, best_accuracy_curve(run)});
    Series div{algo, {}};
    for (const auto& p : run.swarm) div.points.emplace_back(p.wall_s, p.diversity);
    diversity.push_back(div);
    s["algo"] = algo;
    s["time_to_target_s"] = reached.wall_s;
    s["samples_to_target"] = reached.step < 0 ? int64_t{-1} : reached.step * c.train.batch_size * n;
    report.push_back(s);
  }

  const nlohmann::json out = {{"budget", options.budget}, {"target_accuracy", options.target}, {"runs", report}};
  util::write_file_atomic(options.out_dir + "/compare.json", out.dump(2) + "\n");
  std::string md = fmt::format("# nosync compare\n\nModel `{}`, data `{}` ({}), budget: equal {}; target test accuracy "
                               "{:.1f} %.\n\n| algo | workers | best | average | ensemble | time to target | samples "
                               "to target | samples/s | wall |\n|---|---|---|---|---|---|---|---|---|\n",
                               base.model.name, base.data.format, base.data.format == "synthetic" ? "generated" : base.data.dir, options.budget, 100 * options.target);
  auto pct = [](const nlohmann::json& j) { return fmt::format("{:.2f} %", 100 * j["test_accuracy"].get<double>()); };
  for (const auto& s : report) {
    const double t = s["time_to_target_s"].get<double>();
    const int64_t n = s["samples_to_target"].get<int64_t>();
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.0f} | {} |\n", s["algo"].get<std::string>(),
                      s["particles"].get<int>(), pct(s["best"]), pct(s["average"]), pct(s["ensemble"]),
                      t < 0 ? "not reached" : format_duration(t), n < 0 ? "-" : std::to_string(n),
                      s["samples_per_s"].get<double>(), format_duration(s["wall_s"].get<double>()));
  }
  const bool plotted =
      plot_series(options.out_dir, "accuracy", {"wall time (s)", "best test accuracy so far (any worker)"}, accuracy) &&
      plot_series(options.out_dir, "diversity", {"wall time (s)", "diversity (mean distance to centroid)"}, diversity);
  md += plotted ? "\n![test accuracy](accuracy.png)\n\n![diversity](diversity.png)\n"
                : "\n(plots skipped: gnuplot failed or is missing; install gnuplot-nox)\n";
  util::write_file_atomic(options.out_dir + "/compare.md", md);
  std::cout << md;
  return 0;
}

}  // namespace nosync::app
