// The claims experiments: a plan of runs ("arms" x seeds) per claim, a runner that trains each
// once (in this process, or under mpirun for the MPI claims) and reuses finished runs, and one
// report section per claim with its tables, plots, commands and verdict.
#include "nosync/app/experiment.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <set>

#include "nosync/app/compare.h"
#include "nosync/app/console.h"
#include "nosync/app/run_record.h"
#include "nosync/data/dataset.h"
#include "nosync/models/registry.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/loop.h"
#include "nosync/train/trainer.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "nosync/util/machine.h"
#include "nosync/util/shell.h"

namespace nosync::app {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// One configuration of a claim, trained once per seed. Claims that need the same configuration
// name the same id and share its runs.
struct Arm {
  std::string id;                // directory under <out>/runs
  std::string label;             // table row
  std::vector<std::string> set;  // overrides on the base config
  int ranks = 0;                 // > 0: mpirun -np ranks
  int workers = 1;               // workers processing samples (particles x group size, or ranks)
  int64_t steps = 0;             // steps per worker
};

struct Outcome {  // one (arm, seed)
  bool ok = false;
  std::string error;
  Config config;
  RunRecord run;
};

double mean(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double stdev(const std::vector<double>& v) {  // sample standard deviation
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// "91.23 ± 0.12" of values x factor; "-" when there are none.
std::string pm(const std::vector<double>& v, double factor = 100, int digits = 2) {
  if (v.empty()) return "-";
  return fmt::format("{:.{}f} ± {:.{}f}", factor * mean(v), digits, factor * stdev(v), digits);
}

constexpr int64_t kQuickTestImages = 2000;  // --quick: the first N test images

// Budgets: steps per worker from epochs of the base training split, scaled.
struct Budget {
  int64_t epoch_steps = 1;  // steps of one epoch of the base training split
  int64_t batch = 64;
  double scale = 1;
  int seeds = 3;
  int cores = 1;
  int64_t steps(double epochs) const {
    return std::max<int64_t>(1, std::llround(epochs * static_cast<double>(epoch_steps) * scale));
  }
};

Arm make_arm(std::string id, std::string label, const std::string& algo, int workers, int64_t steps,
             std::vector<std::string> extra = {}, int ranks = 0, int evals = 4) {
  Arm a{std::move(id), std::move(label), {}, ranks, workers, steps};
  a.set = {"swarm.algo=" + algo, fmt::format("train.steps={}", steps),
           fmt::format("train.eval_every={}", std::max<int64_t>(1, steps / evals)), "checkpoint.keep=1"};
  if (algo != "single" && ranks == 0) a.set.push_back(fmt::format("swarm.particles={}", workers));
  for (auto& e : extra) a.set.push_back(std::move(e));
  return a;
}

class Runner {
 public:
  Runner(Config base, std::string runs_dir, int seeds)
      : base_(std::move(base)), runs_dir_(std::move(runs_dir)), seeds_(seeds), start_(Clock::now()) {}

  // While planning, results() only records what would run (for the time-left estimate) and
  // returns no outcomes; the claims are then built a second time for real.
  void set_planning(bool planning) { planning_ = planning; }

  const std::vector<Outcome>& results(const Arm& arm) {
    static const std::vector<Outcome> none;
    if (planning_) {  // every run's config and data are checked before the first run starts
      if (planned_.insert(arm.id).second) {
        cost_total_ += cost(arm) * seeds_;
        splits(configure(arm, 0, "").data);
      }
      return none;
    }
    auto it = done_.find(arm.id);
    if (it != done_.end()) return it->second;
    std::vector<Outcome> out;
    for (int seed = 0; seed < seeds_; ++seed) {
      const auto t0 = Clock::now();
      Outcome o = run(arm, seed);
      if (reused_)
        cost_total_ -= cost(arm);  // the time-left estimate counts only work done now
      else
        cost_done_ += cost(arm);
      ++runs_;
      const double took = std::chrono::duration<double>(Clock::now() - t0).count();
      const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      const double eta = cost_done_ > 0 ? elapsed / cost_done_ * std::max(0.0, cost_total_ - cost_done_) : 0;
      std::cerr << fmt::format("[{} elapsed, ~{} left] {} · seed {}: {}\n", format_duration(elapsed),
                               format_duration(eta), arm.label, seed,
                               !o.ok ? "FAILED: " + o.error
                                     : fmt::format("best {:.2f} % ({}{})",
                                                   100 * o.run.summary["best"]["test_accuracy"].get<double>(),
                                                   reused_ ? "reused" : "ran in ", reused_ ? "" : format_duration(took)));
      if (!o.ok) failures_.push_back(fmt::format("{} seed {}: {}", arm.label, seed, o.error));
      out.push_back(std::move(o));
    }
    return done_.emplace(arm.id, std::move(out)).first->second;
  }

  const data::Splits& splits(const data::DataOptions& options) {
    Config key;
    key.data = options;
    const std::string k = to_toml(key);
    auto it = splits_.find(k);
    if (it == splits_.end()) it = splits_.emplace(k, data::load_splits(options)).first;
    return it->second;
  }

  const std::vector<std::string>& failures() const { return failures_; }
  const Config& base() const { return base_; }
  int runs() const { return runs_; }

 private:
  Outcome run(const Arm& arm, int seed) {
    Outcome o;
    const std::string dir = fmt::format("{}/{}/seed-{}", runs_dir_, arm.id, seed);
    try {
      const Config c = configure(arm, seed, dir);
      o.config = c;
      const std::string toml = to_toml(c);
      const std::string signature = fmt::format("ranks = {}\n{}", arm.ranks, toml);
      reused_ = fs::exists(dir + "/summary.json") && fs::exists(dir + "/arm.txt") &&
                util::read_text(dir + "/arm.txt") == signature;
      if (!reused_) {
        fs::remove_all(dir);
        fs::create_directories(fs::path(dir).parent_path());
        if (arm.ranks > 0) {
          run_mpi(arm, dir, toml);
        } else {
          fs::create_directories(dir);
          util::write_file_atomic(dir + "/config.toml", toml);
          const int64_t threads = c.swarm.algo == "single" && c.train.threads > 0 ? c.train.threads : cores();
          torch::set_num_threads(static_cast<int>(threads));
          run_in_process(c, splits(c.data), dir, toml);
        }
        util::write_file_atomic(dir + "/arm.txt", signature);
      }
      o.run = read_run(dir);
      o.ok = true;
    } catch (const std::exception& e) {
      o.error = e.what();
    }
    return o;
  }

  Config configure(const Arm& arm, int seed, const std::string& dir) const {
    Config c = base_;
    for (const auto& s : arm.set) apply_override(c, s);
    c.train.seed = seed;
    c.run.dir = dir;
    c.run.progress = "quiet";
    check_consistency(c);
    return c;
  }

  void run_mpi(const Arm& arm, const std::string& dir, const std::string& toml) {
    const std::string config = dir + ".toml", log = dir + ".log";
    util::write_file_atomic(config, toml);
    const std::string exe = fs::read_symlink("/proc/self/exe").string();
    const std::string cmd =
        fmt::format("mpirun -np {} --oversubscribe --bind-to none {} train --config {} --run-dir {} > {} 2>&1",
                    arm.ranks, util::shell_quote(exe), util::shell_quote(config), util::shell_quote(dir), util::shell_quote(log));
    const int rc = std::system(cmd.c_str());
    if (rc != 0)
      throw UserError(fmt::format("mpirun -np {} exited with status {}; its output is in {}", arm.ranks, rc, log));
  }

  static int cores() { return std::max(1, util::cpu_info().cores); }

  // Work of one run in worker-steps, plus a fixed share for start-up and final evaluation (an
  // MPI job also starts processes and loads the data once per rank).
  static double cost(const Arm& arm) {
    return static_cast<double>(arm.steps * arm.workers) + (arm.ranks > 0 ? 600.0 : 200.0);
  }

  Config base_;
  std::string runs_dir_;
  int seeds_;
  Clock::time_point start_;
  std::set<std::string> planned_;
  double cost_total_ = 0, cost_done_ = 0;
  int runs_ = 0;
  bool reused_ = false;
  bool planning_ = false;
  std::map<std::string, std::vector<Outcome>> done_;
  std::map<std::string, data::Splits> splits_;
  std::vector<std::string> failures_;
};

// Values of `f` over the seeds that finished.
std::vector<double> over_seeds(const std::vector<Outcome>& runs, const std::function<double(const Outcome&)>& f) {
  std::vector<double> v;
  for (const auto& o : runs)
    if (o.ok) {
      const double x = f(o);
      if (std::isfinite(x)) v.push_back(x);
    }
  return v;
}

double acc_of(const Outcome& o, const char* which) { return o.run.summary[which]["test_accuracy"].get<double>(); }

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

// The arm named `id` (an invariant of the plans below: every id looked up is in `arms`).
const Arm& arm_by_id(const std::vector<Arm>& arms, const std::string& id) {
  const auto it = std::find_if(arms.begin(), arms.end(), [&](const Arm& a) { return a.id == id; });
  NOSYNC_CHECK(it != arms.end(), "experiment plan has no arm '{}'", id);
  return *it;
}

// Seed by seed, over the seeds where both runs finished: in how many `metric` of `x` is greater
// than that of `y`.
struct Wins {
  int wins = 0, pairs = 0;
};
Wins wins(const std::vector<Outcome>& x, const std::vector<Outcome>& y, const std::function<double(const Outcome&)>& metric) {
  Wins w;
  for (size_t s = 0; s < x.size() && s < y.size(); ++s)
    if (x[s].ok && y[s].ok) {
      ++w.pairs;
      w.wins += metric(x[s]) > metric(y[s]);
    }
  return w;
}

std::string command_of(const Arm& arm) {
  std::string cmd = arm.ranks > 0 ? fmt::format("mpirun -np {} nosync train", arm.ranks) : "nosync train";
  for (const auto& s : arm.set) cmd += " --set " + s;
  return cmd + " --set train.seed=S";
}

std::string commands_block(const std::vector<Arm>& arms) {
  std::string md = "<details><summary>Exact runs (S = 0 .. seeds-1; on top of the experiment's base config)</summary>\n\n```\n";
  std::set<std::string> seen;
  for (const auto& a : arms)
    if (seen.insert(a.id).second) md += command_of(a) + "\n";
  return md + "```\n</details>\n\n";
}

models::Net load_net(const Config& config, const data::Splits& splits, const train::TensorList& state,
                     const std::string& origin) {
  return train::load_trained_net(config.model, config.train, splits.train.shape(), splits.train.num_classes, state,
                                 origin);
}

struct Context {
  Runner& runner;
  Budget budget;
  const ExperimentOptions& options;
  std::string out_dir;
  std::string mode;       // "" or " --quick"
  std::string data_name;  // "`cnn` on fashion-mnist"
};

// Plots go to <out>/plots (PNG, SVG and the gnuplot script with its data).
bool plot(const Context& ctx, const std::string& name, const PlotSpec& spec, const std::vector<Series>& series) {
  fs::create_directories(ctx.out_dir + "/plots");
  return plot_series(ctx.out_dir + "/plots", name, spec, series);
}

enum class Verdict { holds, partly, not_holds, unknown };

std::string verdict_text(Verdict v) {
  switch (v) {
    case Verdict::holds: return "**holds**";
    case Verdict::partly: return "**holds partly**";
    case Verdict::not_holds: return "**does not hold**";
    default: return "**not decided** (runs failed)";
  }
}

struct Section {
  std::string key;    // "1".."5", "sensitivity"
  std::string title;
  std::string body;   // markdown
  Verdict verdict = Verdict::unknown;
  std::string summary;  // one line for the overview table
};

std::string image(const std::string& name, bool plotted, const std::string& alt) {
  return plotted ? fmt::format("![{}](plots/{}.png)\n\n", alt, name) : "(plot skipped: gnuplot missing or failed)\n\n";
}

// ---------------------------------------------------------------- claim 1: accuracy vs one worker
Section claim_accuracy(Context& ctx) {
  Section sec{"1", "NoSync gives higher accuracy than a single worker", {}, Verdict::unknown, {}};
  const Budget& b = ctx.budget;
  const int64_t S = b.steps(1.0);
  std::vector<Arm> arms = {make_arm("single-1x", "single worker, S steps", "single", 1, S)};
  for (int n : {2, 4, 8}) {
    arms.push_back(make_arm(fmt::format("nosync-{}", n), fmt::format("NoSync {} particles, S steps each", n), "nosync", n, S));
    arms.push_back(make_arm(fmt::format("single-{}x", n), fmt::format("single worker, {} x S steps", n), "single", 1, n * S));
  }
  for (const char* algo : {"sync", "local-sgd", "easgd"})
    arms.push_back(make_arm(fmt::format("{}-2", algo), fmt::format("{} 2 workers, S steps each", algo), algo, 2, S));

  std::string md = fmt::format(
      "{}; S = {} steps of batch {} per worker (N x S for the single worker with the same total samples); "
      "{} seeds, mean ± sample standard deviation, test accuracy in %.\n\n"
      "| run | best | average | ensemble | best during training | wall |\n|---|---|---|---|---|---|\n",
      ctx.data_name, S, b.batch, b.seeds);
  std::map<std::string, std::vector<double>> best;
  for (const auto& a : arms) {
    const auto& r = ctx.runner.results(a);
    best[a.id] = over_seeds(r, [](const Outcome& o) { return acc_of(o, "best"); });
    md += fmt::format("| {} | {} | {} | {} | {} | {} s |\n", a.label, pm(best[a.id]),
                      pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "average"); })),
                      pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "ensemble"); })),
                      pm(over_seeds(r, max_test_accuracy)),
                      pm(over_seeds(r, [](const Outcome& o) { return o.run.summary["wall_s"].get<double>(); }), 1, 1));
  }
  // Per seed: does NoSync's best particle beat the single worker with the same steps per worker?
  int won = 0, total = 0, wins_samples = 0, total_samples = 0;
  std::string per_n;
  const auto best_accuracy = [](const Outcome& o) { return acc_of(o, "best"); };
  for (int n : {2, 4, 8}) {
    const auto& x = ctx.runner.results(arms[0]);
    const auto& y = ctx.runner.results(arm_by_id(arms, fmt::format("nosync-{}", n)));
    const auto& z = ctx.runner.results(arm_by_id(arms, fmt::format("single-{}x", n)));
    const Wins same_steps = wins(y, x, best_accuracy), same_samples = wins(y, z, best_accuracy);
    wins_samples += same_samples.wins;
    total_samples += same_samples.pairs;
    won += same_steps.wins;
    total += same_steps.pairs;
    per_n += fmt::format("{} particles: ahead in {}/{} seeds ({:+.2f} points mean); ", n, same_steps.wins,
                         same_steps.pairs, 100 * (mean(best[fmt::format("nosync-{}", n)]) - mean(best["single-1x"])));
  }
  if (total > 0) sec.verdict = won == total ? Verdict::holds : won * 2 >= total ? Verdict::partly : Verdict::not_holds;
  sec.summary = fmt::format("vs a single worker with the same steps per worker: NoSync's best particle ahead in {}/{} "
                            "(particles, seed) pairs; with the same total samples: {}/{}",
                            won, total, wins_samples, total_samples);
  md += fmt::format("\nSame steps per worker — {}\nSame total samples (single worker N x S steps): NoSync ahead in {}/{} "
                    "pairs.\n\n",
                    per_n, wins_samples, total_samples);

  // Curves of seed 0: best test accuracy so far vs steps per worker.
  std::vector<Series> curves;
  for (const auto& a : arms) {
    const auto& r = ctx.runner.results(a);
    if (r.empty() || !r[0].ok) continue;
    Series s{a.label, {}};
    double top = 0;
    for (const auto& e : r[0].run.evals) {
      top = std::max(top, e.test_accuracy);
      s.points.emplace_back(static_cast<double>(e.step), top);
    }
    std::sort(s.points.begin(), s.points.end());
    curves.push_back(s);
  }
  md += image("claim1-accuracy",
              plot(ctx, "claim1-accuracy", {"steps per worker", "best test accuracy so far (seed 0)"}, curves),
              "test accuracy vs steps per worker");

  // CIFAR-10 / resnet, when the binary batches are present.
  const std::string cifar = ctx.options.cifar_dir;
  if (cifar.empty() || !fs::exists(cifar + "/data_batch_1.bin")) {
    md += fmt::format("CIFAR-10 / `resnet`: skipped — {}.\n\n",
                      cifar.empty() ? "no --cifar-dir given" : cifar + " has no data_batch_1.bin");
  } else {
    const int64_t cs = std::max<int64_t>(1, std::llround(45000.0 / b.batch * b.scale));  // one epoch
    const std::vector<std::string> c10 = {"data.format=cifar10", "data.dir=" + cifar, "model.name=resnet",
                                          "data.augment_crop=4", "data.augment_flip=true"};
    std::vector<Arm> carms = {make_arm("cifar-single", "CIFAR-10 resnet: single worker", "single", 1, cs, c10),
                              make_arm("cifar-nosync-2", "CIFAR-10 resnet: NoSync 2 particles", "nosync", 2, cs, c10)};
    md += "| CIFAR-10 run | best | average | ensemble |\n|---|---|---|---|\n";
    for (const auto& a : carms) {
      const auto& r = ctx.runner.results(a);
      md += fmt::format("| {} | {} | {} | {} |\n", a.label, pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "best"); })),
                        pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "average"); })),
                        pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "ensemble"); })));
    }
    arms.insert(arms.end(), carms.begin(), carms.end());
    md += "\n";
  }
  sec.body = md + commands_block(arms);
  return sec;
}

// ---------------------------------------------------------------- claim 2: exploration
// Loss on the validation set along the straight line between particles 0 and 1 of a run, at its
// first saved step (mid-run); batch-norm statistics re-estimated at every point.
std::vector<double> line_losses(Runner& runner, const Outcome& o, const std::vector<double>& alphas) {
  const std::string root = o.run.dir + "/checkpoints/particle-";
  const auto steps = train::checkpoint_steps(root + "0");
  if (steps.empty()) return {};
  const int64_t step = steps.front();
  const auto a = train::read_checkpoint(fmt::format("{}0/step-{}", root, step));
  const auto b = train::read_checkpoint(fmt::format("{}1/step-{}", root, step));
  const data::Splits& splits = runner.splits(o.config.data);
  const train::Evaluator val(splits.val, splits.norm);
  std::vector<double> out;
  for (double alpha : alphas) {
    train::TensorList mix = a.model;
    for (size_t i = 0; i < mix.size(); ++i) {
      NOSYNC_CHECK(mix[i].first == b.model[i].first, "checkpoints of one run name tensors alike ({} vs {})",
                   mix[i].first, b.model[i].first);
      if (mix[i].second.is_floating_point())
        mix[i].second = (1 - alpha) * a.model[i].second + alpha * b.model[i].second;
    }
    auto net = load_net(o.config, splits, mix, o.run.dir);
    if (train::has_batchnorm(*net)) {
      data::LoaderOptions lo;
      lo.batch_size = 128;
      lo.seed = 17;
      data::BatchLoader loader(splits.train, splits.norm, lo);
      train::recompute_batchnorm(*net, loader, 20);
    }
    out.push_back(val.run(*net).loss);
  }
  return out;
}

std::vector<Arm> swarm4_arms(const Budget& b) {  // shared by claim 2 and the sensitivity table
  const int64_t S = b.steps(0.5);
  const std::string mid = fmt::format("checkpoint.every={}", std::max<int64_t>(1, S / 2));
  std::vector<Arm> arms;
  for (const char* att : {"gbest", "lbest", "mean", "pso"})
    arms.push_back(make_arm(fmt::format("p4-{}", att), fmt::format("NoSync {}", att), "nosync", 4, S,
                            {std::string("swarm.attractor=") + att, mid, "checkpoint.keep=0"}, 0, 2));
  return arms;
}

Section claim_exploration(Context& ctx) {
  Section sec{"2", "NoSync explores a greater portion of the parameter space", {}, Verdict::unknown, {}};
  const int64_t S = ctx.budget.steps(0.5);
  const std::string mid = fmt::format("checkpoint.every={}", std::max<int64_t>(1, S / 2));
  std::vector<Arm> arms = swarm4_arms(ctx.budget);
  arms.push_back(make_arm("p4-independent", "independent workers (rho = 0)", "nosync", 4, S,
                          {"swarm.rho_schedule=constant", "swarm.rho0=0", "swarm.rho1=0", mid, "checkpoint.keep=0"}, 0, 2));
  arms.push_back(make_arm("p4-local-sgd", "local-sgd", "local-sgd", 4, S, {mid, "checkpoint.keep=0"}, 0, 2));
  arms.push_back(make_arm("p4-easgd", "easgd", "easgd", 4, S, {mid, "checkpoint.keep=0"}, 0, 2));

  const std::vector<double> alphas = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1};
  std::string md = fmt::format(
      "4 workers, {} steps each; diversity = mean Euclidean distance of the workers' weights to their centroid, "
      "recorded at every exchange (tau = {}). Barrier = highest validation loss on the straight line between "
      "particles 0 and 1 at mid-run, minus the mean of its two ends (batch-norm re-estimated at each point). "
      "{} seeds.\n\n| run | mean diversity | final diversity | barrier (loss) | best test % |\n|---|---|---|---|---|\n",
      S, ctx.runner.base().swarm.tau, ctx.budget.seeds);
  std::map<std::string, std::vector<double>> div;
  std::vector<Series> div_curves, line_curves;
  for (const auto& a : arms) {
    const auto& r = ctx.runner.results(a);
    div[a.id] = over_seeds(r, mean_diversity);
    std::vector<double> barrier;
    std::vector<double> line_mean(alphas.size(), 0);
    int lines = 0;
    for (const auto& o : r) {
      if (!o.ok) continue;
      try {
        const auto l = line_losses(ctx.runner, o, alphas);
        if (l.size() != alphas.size()) continue;
        barrier.push_back(*std::max_element(l.begin(), l.end()) - 0.5 * (l.front() + l.back()));
        for (size_t i = 0; i < l.size(); ++i) line_mean[i] += l[i];
        ++lines;
      } catch (const std::exception& e) {
        std::cerr << fmt::format("{}: line between particles skipped: {}\n", o.run.dir, e.what());
      }
    }
    md += fmt::format("| {} | {} | {} | {} | {} |\n", a.label, pm(div[a.id], 1, 3),
                      pm(over_seeds(r, [](const Outcome& o) { return o.run.summary.value("final_diversity", NAN); }), 1, 3),
                      pm(barrier, 1, 3), pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "best"); })));
    if (!r.empty() && r[0].ok) {
      Series s{a.label, {}};
      for (const auto& p : r[0].run.swarm) s.points.emplace_back(static_cast<double>(p.step), p.diversity);
      div_curves.push_back(s);
    }
    if (lines > 0) {
      Series s{a.label, {}};
      for (size_t i = 0; i < alphas.size(); ++i) s.points.emplace_back(alphas[i], line_mean[i] / lines);
      line_curves.push_back(s);
    }
  }
  const double nos = mean(div["p4-gbest"]);
  const double lsgd = mean(div["p4-local-sgd"]), eas = mean(div["p4-easgd"]), ind = mean(div["p4-independent"]);
  int above = 0, pairs = 0;
  for (const char* other : {"p4-local-sgd", "p4-easgd"}) {
    const Wins w = wins(ctx.runner.results(arms[0]), ctx.runner.results(arm_by_id(arms, other)), mean_diversity);
    above += w.wins;
    pairs += w.pairs;
  }
  if (pairs > 0) sec.verdict = above == pairs ? Verdict::holds : above * 2 >= pairs ? Verdict::partly : Verdict::not_holds;
  sec.summary = fmt::format("mean diversity NoSync gbest {:.3f} vs local-sgd {:.3f}, easgd {:.3f} (above in {}/{} seed "
                            "pairs); independent workers {:.3f}",
                            nos, lsgd, eas, above, pairs, ind);
  md += "\n" + sec.summary + ".\n\n";
  md += image("claim2-diversity",
              plot(ctx, "claim2-diversity", {"step", "diversity (seed 0)"}, div_curves),
              "diversity vs step");
  md += image("claim2-line",
              plot(ctx, "claim2-line", {"alpha (particle 0 -> particle 1)", "validation loss (mean of seeds)"},
                          line_curves),
              "loss along the line between two particles");
  sec.body = md + commands_block(arms);
  return sec;
}

// ---------------------------------------------------------------- claim 3: over-fitting
double train_accuracy(Runner& runner, const Outcome& o) {
  const std::string dir = o.config.swarm.algo == "single"
                              ? o.run.dir
                              : fmt::format("{}/checkpoints/particle-{}", o.run.dir, o.run.summary.value("best_particle", 0));
  const std::string ck_dir = train::resolve_checkpoint_dir(dir);
  const auto ck = train::read_checkpoint(ck_dir);
  const data::Splits& splits = runner.splits(o.config.data);
  auto net = load_net(o.config, splits, ck.model, ck_dir);
  return train::Evaluator(splits.train, splits.norm).run(*net).accuracy;
}

Section claim_overfitting(Context& ctx) {
  Section sec{"3", "NoSync is resilient to over-fitting", {}, Verdict::unknown, {}};
  const Budget& b = ctx.budget;
  std::string md = fmt::format(
      "Training on the first 1,000 or 5,000 samples for many epochs (validation and test sets unchanged). Gap = "
      "accuracy of the final model (best particle) on its training samples minus its test accuracy. {} seeds, %.\n\n"
      "| subset | run | epochs | final test | best test during training | train | gap |\n|---|---|---|---|---|---|---|\n",
      b.seeds);
  std::vector<Arm> all;
  int better = 0, cases = 0;
  std::string notes;
  std::vector<Series> curves;
  for (const auto& [limit, epochs] : {std::pair{1000, 40.0}, std::pair{5000, 16.0}}) {
    const int64_t S = std::max<int64_t>(1, std::llround(epochs * limit / b.batch * b.scale));
    const std::string lim = fmt::format("data.train_limit={}", limit);
    std::vector<Arm> arms = {make_arm(fmt::format("small{}-single", limit), "single worker", "single", 1, S, {lim}, 0, 8),
                             make_arm(fmt::format("small{}-sync-2", limit), "sync 2 workers", "sync", 2, S, {lim}, 0, 8),
                             make_arm(fmt::format("small{}-nosync-2", limit), "NoSync 2 particles", "nosync", 2, S, {lim}, 0, 8)};
    std::map<std::string, std::vector<double>> gap, top;
    for (const auto& a : arms) {
      const auto& r = ctx.runner.results(a);
      std::vector<double> train_acc, g;
      for (const auto& o : r) {
        if (!o.ok) continue;
        try {
          const double t = train_accuracy(ctx.runner, o);
          train_acc.push_back(t);
          g.push_back(t - acc_of(o, "best"));
        } catch (const std::exception& e) {
          std::cerr << fmt::format("{}: training accuracy skipped: {}\n", o.run.dir, e.what());
        }
      }
      gap[a.id] = g;
      top[a.id] = over_seeds(r, max_test_accuracy);
      md += fmt::format("| {} | {} | {:.0f} | {} | {} | {} | {} |\n", limit, a.label,
                        static_cast<double>(S * b.batch) / limit,
                        pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "best"); })), pm(top[a.id]), pm(train_acc),
                        pm(g));
      if (limit == 1000 && !r.empty() && r[0].ok) {
        Series s{a.label, {}};
        for (const auto& e : r[0].run.evals)
          if (e.particle == 0) s.points.emplace_back(static_cast<double>(e.step * b.batch) / limit, e.test_accuracy);
        curves.push_back(s);
      }
    }
    const std::string n = arms[2].id;
    for (const auto& other : {arms[0].id, arms[1].id}) {
      ++cases;
      const bool smaller_gap = mean(gap[n]) < mean(gap[other]), higher_top = mean(top[n]) >= mean(top[other]);
      better += smaller_gap && higher_top;
      notes += fmt::format("{} samples, vs {}: gap {:+.2f} points, best test {:+.2f} points; ", limit,
                           other.substr(other.find('-') + 1), 100 * (mean(gap[n]) - mean(gap[other])),
                           100 * (mean(top[n]) - mean(top[other])));
    }
    all.insert(all.end(), arms.begin(), arms.end());
  }
  sec.verdict = cases == 0 ? Verdict::unknown
                : better == cases ? Verdict::holds
                : better > 0      ? Verdict::partly
                                  : Verdict::not_holds;
  sec.summary = fmt::format("NoSync has a smaller gap and a best test accuracy at least as high in {}/{} comparisons", better,
                            cases);
  md += "\nNoSync minus the other: " + notes + "\n\n";
  md += image("claim3-subset1000",
              plot(ctx, "claim3-subset1000", {"epochs of the 1,000-sample subset", "test accuracy (seed 0, worker 0)"},
                          curves),
              "test accuracy on 1,000 samples");
  sec.body = md + commands_block(all);
  return sec;
}

// ---------------------------------------------------------------- claims 4 and 5: MPI
double target_accuracy(const Context& ctx) { return ctx.options.quick ? 0.85 : 0.87; }

constexpr double kMpiEpochs = 2.0;  // claims 4 and 5: total samples of every run, in epochs

struct TimeToTarget {
  std::vector<double> seconds, samples;
  int missed = 0;
};

TimeToTarget time_to_target(const std::vector<Outcome>& runs, double target, const Arm& arm, int64_t batch) {
  TimeToTarget t;
  for (const auto& o : runs) {
    if (!o.ok) continue;
    const Reached r = first_reaching(o.run, target);
    if (r.wall_s < 0) {
      ++t.missed;
      continue;
    }
    t.seconds.push_back(r.wall_s);
    t.samples.push_back(static_cast<double>(r.step * batch * arm.workers));
  }
  return t;
}

std::string ttt_cell(const TimeToTarget& t) {
  return fmt::format("{}{}", pm(t.seconds, 1, 1), t.missed > 0 ? fmt::format(" ({} not reached)", t.missed) : "");
}

std::vector<Arm> mpi_arms(const Budget& b, int n) {  // equal total samples, shared by n workers
  const int64_t steps = std::max<int64_t>(1, b.steps(kMpiEpochs) / n);
  std::vector<Arm> arms;
  for (const char* algo : {"nosync", "sync", "local-sgd"})
    arms.push_back(make_arm(fmt::format("mpi{}-{}", n, algo), fmt::format("{} {} ranks", algo, n), algo, n, steps,
                            {"train.threads=1"}, n, 10));
  return arms;
}

Section claim_speedup(Context& ctx) {
  Section sec{"4", "NoSync gives a linear speed-up on small clusters", {}, Verdict::unknown, {}};
  const Budget& b = ctx.budget;
  const double target = target_accuracy(ctx);
  Arm one = make_arm("mpi1-single", "1 worker", "single", 1, b.steps(kMpiEpochs), {"train.threads=1"}, 0, 10);
  std::vector<Arm> arms = {one};
  for (int n : {2, 4})
    for (auto& a : mpi_arms(b, n)) arms.push_back(a);
  std::string md = fmt::format(
      "Time (training wall clock, from the first step) and samples to {:.0f} % test accuracy, every worker on 1 thread, "
      "MPI ranks on this machine ({} cores: 4 ranks share them, so the ideal speed-up at 4 is {}). Every run processes "
      "the same total samples ({} epochs x {:.2f} budget scale). {} seeds.\n\n"
      "| workers | run | time to target (s) | samples to target | speed-up | per core | final best % |\n"
      "|---|---|---|---|---|---|---|\n",
      100 * target, b.cores, std::min(4, b.cores), kMpiEpochs, b.scale, b.seeds);
  const TimeToTarget base = time_to_target(ctx.runner.results(one), target, one, b.batch);
  const double t1 = mean(base.seconds);
  md += fmt::format("| 1 | single worker | {} | {} | 1.00 | 1.00 | {} |\n", ttt_cell(base), pm(base.samples, 1, 0),
                    pm(over_seeds(ctx.runner.results(one), [](const Outcome& o) { return acc_of(o, "best"); })));
  std::map<std::string, Series> lines;
  for (const char* algo : {"nosync", "sync", "local-sgd"}) {
    lines[algo].title = algo;
    if (!base.seconds.empty()) lines[algo].points.emplace_back(1, 1);
  }
  double nosync_eff = NAN;
  for (size_t i = 1; i < arms.size(); ++i) {
    const Arm& a = arms[i];
    const auto& r = ctx.runner.results(a);
    const TimeToTarget t = time_to_target(r, target, a, b.batch);
    const double speedup = t.seconds.empty() || t.missed > 0 ? NAN : t1 / mean(t.seconds);
    const double per_core = speedup / std::min(a.ranks, b.cores);
    const std::string algo = a.set[0].substr(a.set[0].find('=') + 1);
    if (std::isfinite(speedup)) lines[algo].points.emplace_back(a.ranks, speedup);
    if (algo == "nosync" && a.ranks == 2) nosync_eff = per_core;
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", a.ranks, a.label, ttt_cell(t), pm(t.samples, 1, 0),
                      std::isfinite(speedup) ? fmt::format("{:.2f}", speedup) : "-",
                      std::isfinite(per_core) ? fmt::format("{:.2f}", per_core) : "-",
                      pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "best"); })));
  }
  Series ideal{"ideal (cores)", {{1, 1}, {2, std::min(2, b.cores)}, {4, std::min(4, b.cores)}}};
  std::vector<Series> speedups{ideal};
  for (auto& [k, s] : lines) speedups.push_back(s);
  if (!std::isfinite(nosync_eff)) {
    sec.verdict = base.seconds.empty() ? Verdict::unknown : Verdict::not_holds;
    sec.summary = "NoSync with 2 ranks did not reach the target in every seed within the budget";
  } else {
    sec.verdict = nosync_eff >= 0.8 ? Verdict::holds : nosync_eff > 0.5 ? Verdict::partly : Verdict::not_holds;
    sec.summary = fmt::format("NoSync on 2 ranks reaches {:.0f} % at {:.2f}x the speed of one worker ({:.0f} % of linear)",
                              100 * target, nosync_eff * std::min(2, b.cores), 100 * nosync_eff);
  }
  md += "\n" + sec.summary + ". Speed-up = mean time of one worker / mean time of N; per core = speed-up / min(N, cores).\n\n";
  md += image("claim4-speedup", plot(ctx, "claim4-speedup", {"workers (MPI ranks)", "speed-up to target"}, speedups),
              "speed-up vs workers");
  sec.body = md + commands_block(arms);
  return sec;
}

Section claim_orthogonal(Context& ctx) {
  Section sec{"5", "NoSync is orthogonal to data-parallel training", {}, Verdict::unknown, {}};
  const Budget& b = ctx.budget;
  const double target = target_accuracy(ctx);
  const auto four = mpi_arms(b, 4);
  const Arm hybrid = make_arm("mpi4-hybrid", "NoSync 2 particles x 2 data-parallel ranks", "nosync", 4, four[0].steps,
                              {"train.threads=1", "swarm.group_size=2"}, 4, 10);
  const std::vector<Arm> arms = {four[0], hybrid, four[1]};
  std::string md = fmt::format(
      "4 MPI ranks, 1 thread each, {} steps per rank (same total samples): as 4 particles, as 2 particles of 2 "
      "data-parallel ranks (`swarm.group_size = 2`), and as one data-parallel group of 4 (`sync`). Target {:.0f} %. "
      "{} seeds.\n\n| run | best % | average % | time to target (s) | samples/s |\n|---|---|---|---|---|\n",
      four[0].steps, 100 * target, b.seeds);
  std::vector<double> best_means, times;
  for (const auto& a : arms) {
    const auto& r = ctx.runner.results(a);
    const auto best = over_seeds(r, [](const Outcome& o) { return acc_of(o, "best"); });
    const TimeToTarget t = time_to_target(r, target, a, b.batch);
    best_means.push_back(mean(best));
    times.push_back(t.missed > 0 || t.seconds.empty() ? NAN : mean(t.seconds));
    md += fmt::format("| {} | {} | {} | {} | {} |\n", a.label, pm(best),
                      pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "average"); })), ttt_cell(t),
                      pm(over_seeds(r, [](const Outcome& o) { return o.run.summary.value("samples_per_s", NAN); }), 1, 0));
  }
  if (std::isfinite(best_means[1])) {
    const double lo = std::min(best_means[0], best_means[2]);
    const bool acc_ok = best_means[1] >= lo - 0.003;
    const bool time_ok = std::isfinite(times[1]) &&
                         (!std::isfinite(times[0]) || !std::isfinite(times[2]) || times[1] <= std::max(times[0], times[2]));
    sec.verdict = acc_ok && time_ok ? Verdict::holds : acc_ok || time_ok ? Verdict::partly : Verdict::not_holds;
    sec.summary = fmt::format("the hybrid reaches {:.2f} % (pure forms {:.2f} % and {:.2f} %); accuracy {} and time to "
                              "target {} the worse pure form",
                              100 * best_means[1], 100 * best_means[0], 100 * best_means[2],
                              acc_ok ? "within 0.3 points of" : "below", time_ok ? "no worse than" : "worse than");
  }
  md += "\n" + sec.summary + ".\n\n";
  sec.body = md + commands_block(arms);
  return sec;
}

// ---------------------------------------------------------------- sensitivity
Section sensitivity(Context& ctx) {
  Section sec{"sensitivity", "Sensitivity to tau, the rho schedule and the attractor", {}, Verdict::unknown, {}};
  const int64_t S = ctx.budget.steps(0.5);
  std::vector<Arm> arms = swarm4_arms(ctx.budget);
  const auto& base = ctx.runner.base().swarm;
  for (int64_t tau : {std::max<int64_t>(1, base.tau / 4), base.tau * 4})
    arms.push_back(make_arm(fmt::format("p4-tau{}", tau), fmt::format("gbest, tau {}", tau), "nosync", 4, S,
                            {fmt::format("swarm.tau={}", tau)}, 0, 2));
  for (const char* sched : {"constant", "cosine"})
    arms.push_back(make_arm(fmt::format("p4-{}", sched), fmt::format("gbest, rho {}", sched), "nosync", 4, S,
                            {std::string("swarm.rho_schedule=") + sched}, 0, 2));
  std::string md = fmt::format(
      "NoSync, 4 particles, {} steps each; one setting changed at a time from the defaults (tau {}, rho {} from {} to "
      "{}, attractor {}). {} seeds, test accuracy %.\n\n| setting | best | average | ensemble | mean diversity |\n"
      "|---|---|---|---|---|\n",
      S, base.tau, base.rho_schedule, base.rho0, base.rho1, base.attractor, ctx.budget.seeds);
  for (const auto& a : arms) {
    const auto& r = ctx.runner.results(a);
    md += fmt::format("| {} | {} | {} | {} | {} |\n", a.label,
                      pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "best"); })),
                      pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "average"); })),
                      pm(over_seeds(r, [](const Outcome& o) { return acc_of(o, "ensemble"); })),
                      pm(over_seeds(r, mean_diversity), 1, 3));
  }
  sec.summary = "table only (no claim)";
  sec.body = md + "\n" + commands_block(arms);
  return sec;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

int run_experiment(const Config& base_in, const ExperimentOptions& options) {
  static const std::vector<std::string> order = {"1", "2", "3", "4", "5", "sensitivity"};
  std::vector<std::string> claims = options.claims;
  if (claims.empty() || std::find(claims.begin(), claims.end(), "all") != claims.end()) claims = order;
  for (const auto& c : claims)
    if (std::find(order.begin(), order.end(), c) == order.end())
      throw UserError(fmt::format("experiment: unknown claim '{}'", c), "choose from 1, 2, 3, 4, 5, sensitivity, all");
  if (!(options.scale > 0) || !std::isfinite(options.scale))
    throw UserError(fmt::format("--scale: must be a positive number, found {}", options.scale));
  const bool needs_mpi = std::find(claims.begin(), claims.end(), "4") != claims.end() ||
                         std::find(claims.begin(), claims.end(), "5") != claims.end();
  if (needs_mpi && std::system("command -v mpirun > /dev/null 2>&1") != 0)
    throw UserError("claims 4 and 5 launch MPI ranks, but mpirun is not on PATH",
                    "install openmpi-bin (scripts/install-deps.sh), or run the other claims: nosync experiment 1 2 3");
  if (needs_mpi && geteuid() == 0) {  // Open MPI refuses root unless told; this process starts it
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }

  Config base = base_in;
  const double scale = options.scale * (options.quick ? 0.25 : 1.0);
  // Exchanges keep their number per run when the budget shrinks.
  base.swarm.tau = std::max<int64_t>(1, std::llround(static_cast<double>(base.swarm.tau) * scale));
  // A preview evaluates on part of the test set: at a quarter of the budget, evaluations (every
  // worker, several times a run, val + test) are most of a run's time. Real data sets only
  // (Fashion-MNIST and CIFAR-10 have 10,000 test images); a limit the user set stays.
  if (options.quick && base.data.test_limit == 0 && base.data.format != "synthetic") base.data.test_limit = kQuickTestImages;
  const std::string out = !options.out_dir.empty() ? options.out_dir : options.quick ? "report/quick" : "report";
  fs::create_directories(out + "/sections");
  Budget budget;
  budget.scale = scale;
  budget.seeds = options.seeds > 0 ? options.seeds : options.quick ? 2 : 3;
  budget.batch = base.train.batch_size;
  budget.cores = std::max(1, util::cpu_info().cores);
  Runner runner(base, out + "/runs", budget.seeds);
  budget.epoch_steps = std::max<int64_t>(1, runner.splits(base.data).train.size() / budget.batch);
  const std::string data_name =
      base.data.format == "synthetic" ? "synthetic data" : fs::path(base.data.dir).lexically_normal().filename().string();
  Context ctx{runner, budget, options, out, options.quick ? " --quick" : "",
              fmt::format("`{}` on {}", base.model.name, data_name)};

  const auto start = Clock::now();
  std::string listed;
  for (const auto& c : claims) listed += (listed.empty() ? "" : ", ") + c;
  std::cerr << fmt::format("nosync experiment: claims {} ({}), {} seeds, budget scale {}; reports to {}/claims.md\n",
                           listed, options.quick ? "quick" : "full", budget.seeds, budget.scale, out);
  // Plan everything first so that the progress lines can estimate the time left.
  using Maker = Section (*)(Context&);
  const std::map<std::string, Maker> makers = {{"1", claim_accuracy},   {"2", claim_exploration},
                                               {"3", claim_overfitting}, {"4", claim_speedup},
                                               {"5", claim_orthogonal},  {"sensitivity", sensitivity}};
  runner.set_planning(true);
  for (const auto& c : claims) makers.at(c)(ctx);
  runner.set_planning(false);

  for (const auto& c : claims) {
    const Section s = makers.at(c)(ctx);
    std::string md = fmt::format("## {}. {}\n\nVerdict: {} — {}.\n\nRerun: `nosync experiment {}{}`\n\n{}",
                                 s.key == "sensitivity" ? "S" : s.key, s.title,
                                 s.key == "sensitivity" ? "(a table, not a claim)" : verdict_text(s.verdict), s.summary,
                                 s.key, ctx.mode, s.body);
    util::write_file_atomic(out + "/sections/" + s.key + ".md", md);
    const nlohmann::json j = {{"claim", s.key}, {"title", s.title}, {"verdict", verdict_text(s.verdict)},
                              {"summary", s.summary}, {"written", now_utc()}};
    util::write_file_atomic(out + "/sections/" + s.key + ".json", j.dump(2) + "\n");
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();

  // claims.md: every section present under <out>/sections, in claim order.
  std::string overview = "| claim | verdict | evidence |\n|---|---|---|\n", body;
  for (const auto& key : order) {
    const std::string md = out + "/sections/" + key + ".md", js = out + "/sections/" + key + ".json";
    if (!fs::exists(md) || !fs::exists(js)) continue;
    const auto j = nlohmann::json::parse(util::read_text(js), nullptr, false);
    if (!j.is_discarded() && key != "sensitivity")
      overview += fmt::format("| {}. {} | {} | {} |\n", key, j.value("title", ""), j.value("verdict", ""), j.value("summary", ""));
    body += util::read_text(md) + "\n";
  }
  const std::string header = fmt::format(
      "# NoSync's five claims, measured with this engine\n\n"
      "Written by `{}` on {}. Machine: {}. Mode: {} ({} seeds, budget scale {}, swarm.tau {}); this invocation took {} "
      "({} runs, finished runs under {}/runs reused). Base config: model `{}`, data `{}` ({}{}), precision `{}`, batch {}.\n\n"
      "{}\n",
      options.command_line, now_utc(), util::cpu_description(), options.quick ? "quick preview" : "full",
      budget.seeds, budget.scale, base.swarm.tau, format_duration(took), runner.runs(), out, base.model.name, base.data.format,
      base.data.format == "synthetic" ? "generated" : base.data.dir,
      base.data.test_limit > 0 ? fmt::format(", first {} test samples", base.data.test_limit) : "", base.train.precision,
      budget.batch, overview);
  std::string failures;
  for (const auto& f : runner.failures()) failures += "- " + f + "\n";
  if (!failures.empty()) failures = "\n**Failed runs** (rerun the same command to retry them):\n\n" + failures + "\n";
  util::write_file_atomic(out + "/claims.md", header + failures + "\n" + body);
  std::cerr << fmt::format("nosync experiment: wrote {}/claims.md in {}{}\n", out, format_duration(took),
                           failures.empty() ? "" : fmt::format(" ({} failed runs)", runner.failures().size()));
  return runner.failures().empty() ? 0 : 1;
}

}  // namespace nosync::app
