// Arms, statistics over seeds, verdicts and markdown pieces shared by the claims.
#include "nosync/app/experiment/common.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <set>

namespace nosync::app::experiment {

namespace fs = std::filesystem;

Arm make_arm(std::string id, std::string label, const std::string& algo, int workers, int64_t steps,
             std::vector<std::string> extra, int ranks, int evals) {
  Arm a{std::move(id), std::move(label), algo, {}, ranks, workers, steps};
  a.set = {"swarm.algo=" + algo, fmt::format("train.steps={}", steps),
           fmt::format("train.eval_every={}", std::max<int64_t>(1, steps / evals)), "checkpoint.keep=1"};
  if (algo != "single" && ranks == 0) a.set.push_back(fmt::format("swarm.particles={}", workers));
  for (auto& e : extra) a.set.push_back(std::move(e));
  return a;
}

int64_t Budget::steps(double epochs) const {
  return std::max<int64_t>(1, std::llround(epochs * static_cast<double>(epoch_steps) * scale));
}

double mean(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double stdev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

std::string pm(const std::vector<double>& v, double factor, int digits) {
  if (v.empty()) return "-";
  return fmt::format("{:.{}f} ± {:.{}f}", factor * mean(v), digits, factor * stdev(v), digits);
}

std::vector<double> over_seeds(const Outcomes& runs, const Metric& f) {
  std::vector<double> v;
  for (const auto& o : runs)
    if (o.ok) {
      const double x = f(o);
      if (std::isfinite(x)) v.push_back(x);
    }
  return v;
}

double acc_of(const Outcome& o, const char* which) { return o.run.summary[which]["test_accuracy"].get<double>(); }
double best_accuracy(const Outcome& o) { return acc_of(o, "best"); }
double average_accuracy(const Outcome& o) { return acc_of(o, "average"); }
double ensemble_accuracy(const Outcome& o) { return acc_of(o, "ensemble"); }

double max_test_accuracy(const Outcome& o) {
  double best = 0;
  for (const auto& e : o.run.evals) best = std::max(best, e.test_accuracy);
  return best;
}

double mean_diversity(const Outcome& o) {
  std::vector<double> d;
  for (const auto& p : o.run.swarm) d.push_back(p.diversity);
  return d.empty() ? NAN : mean(d);
}

Wins wins(const Outcomes& x, const Outcomes& y, const Metric& metric) {
  Wins w;
  for (size_t s = 0; s < x.size() && s < y.size(); ++s)
    if (x[s].ok && y[s].ok) {
      ++w.pairs;
      w.wins += metric(x[s]) > metric(y[s]);
    }
  return w;
}

std::string verdict_text(Verdict v) {
  switch (v) {
    case Verdict::holds: return "**holds**";
    case Verdict::partly: return "**holds partly**";
    case Verdict::not_holds: return "**does not hold**";
    default: return "**not decided** (runs failed)";
  }
}

Verdict verdict_of(const Wins& w) {
  if (w.pairs == 0) return Verdict::unknown;
  return w.wins == w.pairs ? Verdict::holds : w.wins * 2 >= w.pairs ? Verdict::partly : Verdict::not_holds;
}

namespace {

std::string command_of(const Arm& arm) {
  std::string cmd = arm.ranks > 0 ? fmt::format("mpirun -np {} nosync train", arm.ranks) : "nosync train";
  for (const auto& s : arm.set) cmd += " --set " + s;
  return cmd + " --set train.seed=S";
}

}  // namespace

std::string commands_block(const std::vector<Arm>& arms) {
  std::string md = "<details><summary>Exact runs (S = 0 .. seeds-1; on top of the experiment's base config)</summary>\n\n```\n";
  std::set<std::string> seen;
  for (const auto& a : arms)
    if (seen.insert(a.id).second) md += command_of(a) + "\n";
  return md + "```\n</details>\n\n";
}

std::string plot_image(const Context& ctx, const std::string& name, const PlotSpec& spec,
                       const std::vector<Series>& series, const std::string& alt) {
  fs::create_directories(ctx.out_dir + "/plots");
  return plot_series(ctx.out_dir + "/plots", name, spec, series)
             ? fmt::format("![{}](plots/{}.png)\n\n", alt, name)
             : "(plot skipped: gnuplot missing or failed)\n\n";
}

}  // namespace nosync::app::experiment
