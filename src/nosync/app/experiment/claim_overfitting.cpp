// Claim 3: NoSync is resilient to over-fitting: on small subsets of the training split, the gap
// between accuracy on the training samples and on the test set, against a single worker and sync.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <iterator>

#include "nosync/app/experiment/claims.h"
#include "nosync/app/experiment/runner.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/evaluator.h"

namespace nosync::app::experiment {

namespace {
namespace overfitting {  // a name of its own: the sanitizer builds compile the claims as one unit

// The runs on each subset; NoSync last, compared with each of the others.
struct Kind {
  const char* name;  // in the arm's id and the comparison notes
  const char* label;
  const char* algo;
  int workers;
};
const Kind kKinds[] = {{"single", "single worker", "single", 1},
                       {"sync-2", "sync 2 workers", "sync", 2},
                       {"nosync-2", "NoSync 2 particles", "nosync", 2}};
constexpr size_t kNoSync = std::size(kKinds) - 1;

struct Subset {
  int limit = 0;      // data.train_limit
  int64_t S = 0;      // steps per worker
  std::vector<Arm> arms;  // one per kKinds
};

struct OverfittingPlan {
  std::vector<Subset> subsets;

  std::vector<Arm> arms() const {
    std::vector<Arm> arms;
    for (const auto& s : subsets) arms.insert(arms.end(), s.arms.begin(), s.arms.end());
    return arms;
  }
};

OverfittingPlan plan(const Context& ctx) {
  const Budget& b = ctx.budget;
  OverfittingPlan p;
  for (const auto& [limit, epochs] : {std::pair{1000, 40.0}, std::pair{5000, 16.0}}) {
    Subset sub{limit, std::max<int64_t>(1, std::llround(epochs * limit / b.batch * b.scale)), {}};
    const std::string lim = fmt::format("data.train_limit={}", limit);
    for (const Kind& k : kKinds)
      sub.arms.push_back(
          make_arm(fmt::format("small{}-{}", limit, k.name), k.label, k.algo, k.workers, sub.S, {lim}, 0, 8));
    p.subsets.push_back(std::move(sub));
  }
  return p;
}

// Accuracy of the run's final model (its best particle) on its own training samples.
double train_accuracy(Runner& runner, const Outcome& o) {
  const std::string dir = o.config.swarm.algo == "single"
                              ? o.run.dir
                              : fmt::format("{}/checkpoints/particle-{}", o.run.dir, o.run.summary.value("best_particle", 0));
  const std::string ck_dir = train::resolve_checkpoint_dir(dir);
  auto net = runner.load_net(o, train::read_checkpoint(ck_dir).model, ck_dir);
  const data::Splits& splits = runner.splits(o.config.data);
  return train::Evaluator(splits.train, splits.norm).run(*net).accuracy;
}

struct Gap {
  std::vector<double> train, gap, top;  // per seed: train accuracy, train - test, best test during training
};

Gap gap_of(Runner& runner, const Outcomes& r) {
  Gap g;
  for (const auto& o : r) {
    if (!o.ok) continue;
    try {
      const double t = train_accuracy(runner, o);
      g.train.push_back(t);
      g.gap.push_back(t - best_accuracy(o));
    } catch (const std::exception& e) {
      std::cerr << fmt::format("{}: training accuracy skipped: {}\n", o.run.dir, e.what());
    }
  }
  g.top = over_seeds(r, max_test_accuracy);
  return g;
}

Section render(Context& ctx, const OverfittingPlan& p) {
  Section sec;
  Runner& runner = ctx.runner;
  const Budget& b = ctx.budget;
  std::string md = fmt::format(
      "Training on the first 1,000 or 5,000 samples for many epochs (validation and test sets unchanged). Gap = "
      "accuracy of the final model (best particle) on its training samples minus its test accuracy. {} seeds, %.\n\n"
      "| subset | run | epochs | final test | best test during training | train | gap |\n|---|---|---|---|---|---|---|\n",
      b.seeds);
  int better = 0, cases = 0;
  std::string notes;
  std::vector<Series> curves;
  for (const auto& sub : p.subsets) {
    std::vector<Gap> gaps;
    for (const Arm& a : sub.arms) {
      const auto& r = runner.outcomes(a);
      const Gap& g = gaps.emplace_back(gap_of(runner, r));
      md += fmt::format("| {} | {} | {:.0f} | {} | {} | {} | {} |\n", sub.limit, a.label,
                        static_cast<double>(sub.S * b.batch) / sub.limit, pm(over_seeds(r, best_accuracy)), pm(g.top),
                        pm(g.train), pm(g.gap));
      if (sub.limit == 1000 && !r.empty() && r[0].ok) {
        Series s{a.label, {}};
        for (const auto& e : r[0].run.evals)
          if (e.particle == 0) s.points.emplace_back(static_cast<double>(e.step * b.batch) / sub.limit, e.test_accuracy);
        curves.push_back(s);
      }
    }
    const Gap& n = gaps[kNoSync];
    for (size_t i = 0; i < kNoSync; ++i) {
      const Gap& o = gaps[i];
      ++cases;
      const bool smaller_gap = mean(n.gap) < mean(o.gap), higher_top = mean(n.top) >= mean(o.top);
      better += smaller_gap && higher_top;
      notes += fmt::format("{} samples, vs {}: gap {:+.2f} points, best test {:+.2f} points; ", sub.limit, kKinds[i].name,
                           100 * (mean(n.gap) - mean(o.gap)), 100 * (mean(n.top) - mean(o.top)));
    }
  }
  sec.verdict = cases == 0 ? Verdict::unknown
                : better == cases ? Verdict::holds
                : better > 0      ? Verdict::partly
                                  : Verdict::not_holds;
  sec.summary = fmt::format("NoSync has a smaller gap and a best test accuracy at least as high in {}/{} comparisons", better,
                            cases);
  md += "\nNoSync minus the other: " + notes + "\n\n";
  md += plot_image(ctx, "claim3-subset1000",
                   {"epochs of the 1,000-sample subset", "test accuracy (seed 0, worker 0)"}, curves,
                   "test accuracy on 1,000 samples");
  sec.body = md + commands_block(p.arms());
  return sec;
}

}  // namespace overfitting
}  // namespace

ClaimPlan claim_overfitting(const Context& ctx) {
  return make_claim("NoSync is resilient to over-fitting", overfitting::plan(ctx), &overfitting::render);
}

}  // namespace nosync::app::experiment
