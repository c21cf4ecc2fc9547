// Claim 1: NoSync gives higher accuracy than a single worker (with the same steps per worker,
// and with the same total samples); the baselines with 2 workers for reference; CIFAR-10 resnet
// when its binary batches are given.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "nosync/app/experiment/claims.h"
#include "nosync/app/experiment/runner.h"

namespace nosync::app::experiment {

namespace fs = std::filesystem;

namespace {
namespace accuracy {  // a name of its own: the sanitizer builds compile the claims as one unit

const int kParticles[] = {2, 4, 8};
// The other algorithms with 2 workers and S steps each (docs/experiments.md lists them).
const char* const kBaselines[] = {"sync", "local-sgd", "easgd", "diloco"};

struct ByParticles {
  int n = 0;
  Arm nosync;       // n particles, S steps each
  Arm same_samples;  // a single worker with n x S steps
};

struct AccuracyPlan {
  int64_t S = 0;
  Arm single;  // S steps
  std::vector<ByParticles> by_n;
  std::vector<Arm> baselines;
  std::vector<Arm> cifar;     // empty when skipped, for the reason below
  std::string cifar_skipped;  // "no --cifar-dir given" or why the directory is unusable

  std::vector<Arm> table() const {  // the Fashion-MNIST (base data) rows, in order
    std::vector<Arm> arms = {single};
    for (const auto& p : by_n) {
      arms.push_back(p.nosync);
      arms.push_back(p.same_samples);
    }
    arms.insert(arms.end(), baselines.begin(), baselines.end());
    return arms;
  }
  std::vector<Arm> arms() const {
    std::vector<Arm> arms = table();
    arms.insert(arms.end(), cifar.begin(), cifar.end());
    return arms;
  }
};

AccuracyPlan plan(const Context& ctx) {
  const Budget& b = ctx.budget;
  AccuracyPlan p;
  p.S = b.steps(1.0);
  p.single = make_arm("single-1x", "single worker, S steps", "single", 1, p.S);
  for (int n : kParticles)
    p.by_n.push_back({n,
                      make_arm(fmt::format("nosync-{}", n), fmt::format("NoSync {} particles, S steps each", n),
                               "nosync", n, p.S),
                      make_arm(fmt::format("single-{}x", n), fmt::format("single worker, {} x S steps", n), "single",
                               1, n * p.S)});
  for (const char* algo : kBaselines)
    p.baselines.push_back(
        make_arm(fmt::format("{}-2", algo), fmt::format("{} 2 workers, S steps each", algo), algo, 2, p.S));

  const std::string& cifar = ctx.options.cifar_dir;
  if (cifar.empty() || !fs::exists(cifar + "/data_batch_1.bin")) {
    p.cifar_skipped = cifar.empty() ? "no --cifar-dir given" : cifar + " has no data_batch_1.bin";
  } else {
    const int64_t cs = std::max<int64_t>(1, std::llround(45000.0 / b.batch * b.scale));  // one epoch
    const std::vector<std::string> c10 = {"data.format=cifar10", "data.dir=" + cifar, "model.name=resnet",
                                          "data.augment_crop=4", "data.augment_flip=true"};
    p.cifar = {make_arm("cifar-single", "CIFAR-10 resnet: single worker", "single", 1, cs, c10),
               make_arm("cifar-nosync-2", "CIFAR-10 resnet: NoSync 2 particles", "nosync", 2, cs, c10)};
  }
  return p;
}

// Best test accuracy so far vs steps per worker, of seed 0.
Series best_so_far(const Arm& a, const Outcome& o) {
  Series s{a.label, {}};
  double top = 0;
  for (const auto& e : o.run.evals) {
    top = std::max(top, e.test_accuracy);
    s.points.emplace_back(static_cast<double>(e.step), top);
  }
  std::sort(s.points.begin(), s.points.end());
  return s;
}

Section render(Context& ctx, const AccuracyPlan& p) {
  Section sec;
  const Runner& runner = ctx.runner;
  const std::vector<Arm> table = p.table();
  std::string md = fmt::format(
      "{}; S = {} steps of batch {} per worker (N x S for the single worker with the same total samples); "
      "{} seeds, mean ± sample standard deviation, test accuracy in %.\n\n"
      "| run | best | average | ensemble | best during training | wall |\n|---|---|---|---|---|---|\n",
      ctx.data_name, p.S, ctx.budget.batch, ctx.budget.seeds);
  for (const auto& a : table) {
    const auto& r = runner.outcomes(a);
    md += fmt::format("| {} | {} | {} | {} | {} | {} s |\n", a.label, pm(over_seeds(r, best_accuracy)),
                      pm(over_seeds(r, average_accuracy)), pm(over_seeds(r, ensemble_accuracy)),
                      pm(over_seeds(r, max_test_accuracy)),
                      pm(over_seeds(r, [](const Outcome& o) { return o.run.summary["wall_s"].get<double>(); }), 1, 1));
  }
  // Per seed: does NoSync's best particle beat the single worker with the same steps per worker?
  Wins steps_total, samples_total;
  std::string per_n;
  const auto& single = runner.outcomes(p.single);
  for (const auto& n : p.by_n) {
    const auto& y = runner.outcomes(n.nosync);
    const Wins same_steps = wins(y, single, best_accuracy),
               same_samples = wins(y, runner.outcomes(n.same_samples), best_accuracy);
    samples_total.wins += same_samples.wins;
    samples_total.pairs += same_samples.pairs;
    steps_total.wins += same_steps.wins;
    steps_total.pairs += same_steps.pairs;
    per_n += fmt::format("{} particles: ahead in {}/{} seeds ({:+.2f} points mean); ", n.n, same_steps.wins,
                         same_steps.pairs,
                         100 * (mean(over_seeds(y, best_accuracy)) - mean(over_seeds(single, best_accuracy))));
  }
  sec.verdict = verdict_of(steps_total);
  sec.summary = fmt::format("vs a single worker with the same steps per worker: NoSync's best particle ahead in {}/{} "
                            "(particles, seed) pairs; with the same total samples: {}/{}",
                            steps_total.wins, steps_total.pairs, samples_total.wins, samples_total.pairs);
  md += fmt::format("\nSame steps per worker — {}\nSame total samples (single worker N x S steps): NoSync ahead in {}/{} "
                    "pairs.\n\n",
                    per_n, samples_total.wins, samples_total.pairs);

  std::vector<Series> curves;
  for (const auto& a : table) {
    const auto& r = runner.outcomes(a);
    if (!r.empty() && r[0].ok) curves.push_back(best_so_far(a, r[0]));
  }
  md += plot_image(ctx, "claim1-accuracy", {"steps per worker", "best test accuracy so far (seed 0)"}, curves,
                   "test accuracy vs steps per worker");

  if (p.cifar.empty()) {
    md += fmt::format("CIFAR-10 / `resnet`: skipped — {}.\n\n", p.cifar_skipped);
  } else {
    md += "| CIFAR-10 run | best | average | ensemble |\n|---|---|---|---|\n";
    for (const auto& a : p.cifar) {
      const auto& r = runner.outcomes(a);
      md += fmt::format("| {} | {} | {} | {} |\n", a.label, pm(over_seeds(r, best_accuracy)),
                        pm(over_seeds(r, average_accuracy)), pm(over_seeds(r, ensemble_accuracy)));
    }
    md += "\n";
  }
  sec.body = md + commands_block(p.arms());
  return sec;
}

}  // namespace accuracy
}  // namespace

ClaimPlan claim_accuracy(const Context& ctx) {
  return make_claim("NoSync gives higher accuracy than a single worker", accuracy::plan(ctx), &accuracy::render);
}

}  // namespace nosync::app::experiment
