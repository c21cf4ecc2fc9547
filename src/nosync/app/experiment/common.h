// What every claim of `nosync experiment` shares: an arm (one configuration trained once per
// seed), its outcomes, the step budget, the statistics over seeds, plots, verdicts and the
// markdown pieces of a report section. See docs/experiments.md.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nosync/app/config.h"
#include "nosync/app/experiment.h"
#include "nosync/app/run_record.h"

namespace nosync::app::experiment {

class Runner;

// One configuration of a claim, trained once per seed. Claims that need the same configuration
// name the same id and share its runs.
struct Arm {
  std::string id;                // directory under <out>/runs
  std::string label;             // table row
  std::string algo;              // swarm.algo
  std::vector<std::string> set;  // overrides on the base config
  int ranks = 0;                 // > 0: mpirun -np ranks
  int workers = 1;               // workers processing samples (particles x group size, or ranks)
  int64_t steps = 0;             // steps per worker
};

// An arm of `algo` with `workers` workers and `steps` steps each, evaluated `evals` times.
Arm make_arm(std::string id, std::string label, const std::string& algo, int workers, int64_t steps,
             std::vector<std::string> extra = {}, int ranks = 0, int evals = 4);

struct Outcome {  // one (arm, seed)
  bool ok = false;
  std::string error;
  Config config;
  RunRecord run;
};
using Outcomes = std::vector<Outcome>;  // one per seed, in seed order

// Budgets: steps per worker from epochs of the base training split, scaled.
struct Budget {
  int64_t epoch_steps = 1;  // steps of one epoch of the base training split
  int64_t batch = 64;
  double scale = 1;
  int seeds = 3;
  int cores = 1;
  int64_t steps(double epochs) const;
};

// ---------------------------------------------------------------- statistics over seeds
double mean(const std::vector<double>& v);
double stdev(const std::vector<double>& v);  // sample standard deviation
// "91.23 ± 0.12" of values x factor; "-" when there are none.
std::string pm(const std::vector<double>& v, double factor = 100, int digits = 2);

using Metric = std::function<double(const Outcome&)>;
// Values of `f` over the seeds that finished (finite values only).
std::vector<double> over_seeds(const Outcomes& runs, const Metric& f);

double acc_of(const Outcome& o, const char* which);  // summary's <which>.test_accuracy
double best_accuracy(const Outcome& o);              // acc_of(o, "best")
double average_accuracy(const Outcome& o);           // acc_of(o, "average")
double ensemble_accuracy(const Outcome& o);          // acc_of(o, "ensemble")
double max_test_accuracy(const Outcome& o);          // the highest of any evaluation
double mean_diversity(const Outcome& o);

// Seed by seed, over the seeds where both runs finished: in how many `metric` of `x` is greater
// than that of `y`.
struct Wins {
  int wins = 0, pairs = 0;
};
Wins wins(const Outcomes& x, const Outcomes& y, const Metric& metric);

// ---------------------------------------------------------------- report sections
enum class Verdict { holds, partly, not_holds, unknown };
std::string verdict_text(Verdict v);
// holds when all `pairs` are won, partly when at least half, unknown when there are none.
Verdict verdict_of(const Wins& w);

struct Section {
  std::string body;     // markdown
  Verdict verdict = Verdict::unknown;
  std::string summary;  // one line for the overview table
};

struct Context {
  Runner& runner;
  Budget budget;
  const ExperimentOptions& options;
  std::string out_dir;
  std::string data_name;  // "`cnn` on fashion-mnist"
};

// One claim (or the sensitivity table): the arms it runs, and how its section is written from
// their finished outcomes (Runner::outcomes).
struct ClaimPlan {
  std::string title;
  std::vector<Arm> arms;
  std::function<Section(Context&)> render;
};

// A claim unit from its typed plan (a struct with arms()) and the function that renders it.
template <class Plan>
ClaimPlan make_claim(std::string title, Plan plan, Section (*render)(Context&, const Plan&)) {
  std::vector<Arm> arms = plan.arms();
  return {std::move(title), std::move(arms), [plan = std::move(plan), render](Context& c) { return render(c, plan); }};
}

// The exact `nosync train` commands of `arms` (each id once), as a collapsed block.
std::string commands_block(const std::vector<Arm>& arms);
// Plots go to <out>/plots (PNG, SVG and the gnuplot script with its data); returns the
// markdown that shows it, or says it was skipped.
std::string plot_image(const Context& ctx, const std::string& name, const PlotSpec& spec,
                       const std::vector<Series>& series, const std::string& alt);

}  // namespace nosync::app::experiment
