// Side-by-side runs of the algorithms under one budget, and their report.
#include "nosync/app/compare.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "nosync/app/console.h"
#include "nosync/app/local_swarm.h"
#include "nosync/train/loop.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::app {

namespace fs = std::filesystem;

namespace {

struct Curve {
  std::vector<std::pair<double, double>> accuracy;   // (wall_s, best test accuracy so far among particles)
  std::vector<std::pair<double, double>> diversity;  // (wall_s, diversity)
  double time_to_target = -1;
  int64_t samples_to_target = -1;
};

Curve read_curve(const std::string& metrics_path, double target, int64_t batch, int particles) {
  Curve c;
  std::ifstream in(metrics_path);
  double best = 0;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("event")) continue;
    if (j["event"] == "eval") {
      const double acc = j["test_accuracy"].get<double>(), t = j["wall_s"].get<double>();
      best = std::max(best, acc);
      c.accuracy.emplace_back(t, best);
      if (acc >= target && c.time_to_target < 0) {
        c.time_to_target = t;
        c.samples_to_target = j["step"].get<int64_t>() * batch * particles;
      }
    } else if (j["event"] == "swarm") {
      c.diversity.emplace_back(j["wall_s"].get<double>(), j["diversity"].get<double>());
    }
  }
  return c;
}

void write_dat(const std::string& path, const std::vector<std::pair<double, double>>& points) {
  std::ofstream out(path);
  for (const auto& [x, y] : points) out << x << " " << y << "\n";
}

// Plots one series per algorithm into <out>/<name>.png and .svg; returns false without gnuplot.
bool plot(const std::string& out_dir, const std::string& name, const std::string& ylabel,
          const std::vector<std::string>& algos, const std::string& suffix) {
  std::string series;
  for (const auto& a : algos) {
    const std::string dat = out_dir + "/" + a + "." + suffix + ".dat";
    if (!fs::exists(dat) || fs::file_size(dat) == 0) continue;
    series += fmt::format("{}'{}' using 1:2 with linespoints title '{}'", series.empty() ? "" : ", ", dat, a);
  }
  if (series.empty()) return true;
  const std::string script = out_dir + "/" + name + ".gp";
  std::ofstream gp(script);
  for (const auto& [term, ext] : {std::pair{"pngcairo size 900,560", "png"}, std::pair{"svg size 900,560", "svg"}}) {
    gp << "set terminal " << term << "\nset output '" << out_dir << "/" << name << "." << ext << "'\n"
       << "set xlabel 'wall time (s)'\nset ylabel '" << ylabel << "'\nset grid\nset key bottom right\n"
       << "plot " << series << "\n";
  }
  gp.close();
  return std::system(fmt::format("gnuplot '{}' 2>/dev/null", script).c_str()) == 0;
}

}  // namespace

int run_compare(const Config& base, const CompareOptions& options) {
  static const std::vector<std::string> known = {"single", "sync", "local-sgd", "easgd", "nosync"};
  for (const auto& a : options.algos)
    if (std::find(known.begin(), known.end(), a) == known.end())
      throw UserError(fmt::format("--algos: unknown algorithm '{}'", a), "choose from single,sync,local-sgd,easgd,nosync");
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
  for (const auto& algo : options.algos) {
    Config c = base;
    c.swarm.algo = algo;
    const int n = particle_count(c);
    c.train.steps = options.budget == "samples" ? std::max<int64_t>(1, single_steps / n) : single_steps;
    const std::string dir = options.out_dir + "/" + algo;
    fs::create_directories(dir);
    c.run.dir = dir;
    const std::string toml = to_toml(c);
    util::write_file_atomic(dir + "/config.toml", toml);
    std::cerr << fmt::format("== {}: {} worker(s) x {} steps\n", algo, n, c.train.steps);
    ConsoleObserver console(c.run.progress, c.train.log_every);
    nlohmann::json s;
    if (algo == "single") {
      const auto r = train::run_single(single_run_setup(c, dir, toml, /*resume=*/false), splits, console);
      console.finish();
      s = r.summary;
      const nlohmann::json one = {{"test_accuracy", r.test.accuracy}, {"test_loss", r.test.loss}};
      s["best"] = s["average"] = s["ensemble"] = one;
      s["particles"] = 1;
    } else {
      s = run_local_swarm(c, splits, dir, toml, console);
    }
    const Curve curve = read_curve(dir + "/metrics.jsonl", options.target, c.train.batch_size, n);
    write_dat(dir + ".accuracy.dat", curve.accuracy);
    write_dat(dir + ".diversity.dat", curve.diversity);
    s["algo"] = algo;
    s["time_to_target_s"] = curve.time_to_target;
    s["samples_to_target"] = curve.samples_to_target;
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
  const bool plotted = plot(options.out_dir, "accuracy", "best test accuracy so far (any worker)", options.algos, "accuracy") &&
                       plot(options.out_dir, "diversity", "diversity (mean distance to centroid)", options.algos,
                            "diversity");
  md += plotted ? "\n![test accuracy](accuracy.png)\n\n![diversity](diversity.png)\n"
                : "\n(plots skipped: gnuplot failed or is missing; install gnuplot-nox)\n";
  util::write_file_atomic(options.out_dir + "/compare.md", md);
  std::cout << md;
  return 0;
}

}  // namespace nosync::app
