// Claim 2: NoSync explores a greater portion of the parameter space: the workers' diversity over
// time, and the loss barrier on the straight line between two particles at mid-run.
#include <algorithm>
#include <cmath>
#include <iostream>

#include "nosync/app/experiment/claims.h"
#include "nosync/app/experiment/runner.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/evaluator.h"
#include "nosync/train/flat_state.h"
#include "nosync/train/trainer.h"

namespace nosync::app::experiment {

namespace {
namespace exploration {  // a name of its own: the sanitizer builds compile the claims as one unit

const std::vector<double> kAlphas = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1};

int64_t swarm4_steps(const Budget& b) { return b.steps(0.5); }

// Checkpoints at mid-run, none deleted: the line between particles reads them.
std::vector<std::string> mid_checkpoints(int64_t steps) {
  return {fmt::format("checkpoint.every={}", std::max<int64_t>(1, steps / 2)), "checkpoint.keep=0"};
}

struct ExplorationPlan {
  int64_t S = 0;
  std::vector<Arm> attractors;  // swarm4_arms: gbest first
  Arm independent, local_sgd, easgd;

  std::vector<Arm> arms() const {
    std::vector<Arm> arms = attractors;
    arms.insert(arms.end(), {independent, local_sgd, easgd});
    return arms;
  }
};

ExplorationPlan plan(const Context& ctx) {
  ExplorationPlan p;
  p.S = swarm4_steps(ctx.budget);
  p.attractors = swarm4_arms(ctx.budget);
  const auto with_mid = [&](std::vector<std::string> set) {
    for (auto& s : mid_checkpoints(p.S)) set.push_back(std::move(s));
    return set;
  };
  p.independent = make_arm("p4-independent", "independent workers (rho = 0)", "nosync", 4, p.S,
                           with_mid({"swarm.rho_schedule=constant", "swarm.rho0=0", "swarm.rho1=0"}), 0, 2);
  p.local_sgd = make_arm("p4-local-sgd", "local-sgd", "local-sgd", 4, p.S, with_mid({}), 0, 2);
  p.easgd = make_arm("p4-easgd", "easgd", "easgd", 4, p.S, with_mid({}), 0, 2);
  return p;
}

// Loss on the validation set along the straight line between particles 0 and 1 of a run, at its
// first saved step (mid-run); batch-norm statistics re-estimated at every point.
std::vector<double> line_losses(Runner& runner, const Outcome& o, const std::vector<double>& alphas) {
  const std::string root = o.run.dir + "/checkpoints/particle-";
  const auto steps = train::checkpoint_steps(root + "0");
  if (steps.empty()) return {};
  const auto load = [&](int particle) {
    return runner.load_net(o, train::read_checkpoint(fmt::format("{}{}/step-{}", root, particle, steps.front())).model,
                           o.run.dir);
  };
  auto net = load(0);
  const torch::Tensor a = train::flat_state(*net), b = train::flat_state(*load(1));
  const data::Splits& splits = runner.splits(o.config.data);
  const train::Evaluator val(splits.val, splits.norm);
  std::vector<double> out;
  for (double alpha : alphas) {
    train::load_flat_state(*net, (1 - alpha) * a + alpha * b);
    train::reestimate_batchnorm(*net, splits, 17, 20);
    out.push_back(val.run(*net).loss);
  }
  return out;
}

struct Line {
  std::vector<double> barrier;  // per seed
  std::vector<double> mean;     // loss at each alpha, mean over seeds
  int lines = 0;
};

Line line_between_particles(Runner& runner, const Outcomes& r) {
  Line line;
  line.mean.assign(kAlphas.size(), 0);
  for (const auto& o : r) {
    if (!o.ok) continue;
    try {
      const auto l = line_losses(runner, o, kAlphas);
      if (l.size() != kAlphas.size()) continue;
      line.barrier.push_back(*std::max_element(l.begin(), l.end()) - 0.5 * (l.front() + l.back()));
      for (size_t i = 0; i < l.size(); ++i) line.mean[i] += l[i];
      ++line.lines;
    } catch (const std::exception& e) {
      std::cerr << fmt::format("{}: line between particles skipped: {}\n", o.run.dir, e.what());
    }
  }
  if (line.lines > 0)
    for (double& x : line.mean) x /= line.lines;
  return line;
}

Section render(Context& ctx, const ExplorationPlan& p) {
  Section sec;
  Runner& runner = ctx.runner;
  std::string md = fmt::format(
      "4 workers, {} steps each; diversity = mean Euclidean distance of the workers' weights to their centroid, "
      "recorded at every exchange (tau = {}). Barrier = highest validation loss on the straight line between "
      "particles 0 and 1 at mid-run, minus the mean of its two ends (batch-norm re-estimated at each point). "
      "{} seeds.\n\n| run | mean diversity | final diversity | barrier (loss) | best test % |\n|---|---|---|---|---|\n",
      p.S, runner.base().swarm.tau, ctx.budget.seeds);
  std::vector<Series> div_curves, line_curves;
  for (const auto& a : p.arms()) {
    const auto& r = runner.outcomes(a);
    const Line line = line_between_particles(runner, r);
    md += fmt::format("| {} | {} | {} | {} | {} |\n", a.label, pm(over_seeds(r, mean_diversity), 1, 3),
                      pm(over_seeds(r, [](const Outcome& o) { return o.run.summary.value("final_diversity", NAN); }), 1, 3),
                      pm(line.barrier, 1, 3), pm(over_seeds(r, best_accuracy)));
    if (!r.empty() && r[0].ok) {
      Series s{a.label, {}};
      for (const auto& pt : r[0].run.swarm) s.points.emplace_back(static_cast<double>(pt.step), pt.diversity);
      div_curves.push_back(s);
    }
    if (line.lines > 0) {
      Series s{a.label, {}};
      for (size_t i = 0; i < kAlphas.size(); ++i) s.points.emplace_back(kAlphas[i], line.mean[i]);
      line_curves.push_back(s);
    }
  }
  const auto diversity = [&](const Arm& a) { return mean(over_seeds(runner.outcomes(a), mean_diversity)); };
  const Arm& gbest = p.attractors.front();
  Wins above;
  for (const Arm* other : {&p.local_sgd, &p.easgd}) {
    const Wins w = wins(runner.outcomes(gbest), runner.outcomes(*other), mean_diversity);
    above.wins += w.wins;
    above.pairs += w.pairs;
  }
  sec.verdict = verdict_of(above);
  sec.summary = fmt::format("mean diversity NoSync gbest {:.3f} vs local-sgd {:.3f}, easgd {:.3f} (above in {}/{} seed "
                            "pairs); independent workers {:.3f}",
                            diversity(gbest), diversity(p.local_sgd), diversity(p.easgd), above.wins, above.pairs,
                            diversity(p.independent));
  md += "\n" + sec.summary + ".\n\n";
  md += plot_image(ctx, "claim2-diversity", {"step", "diversity (seed 0)"}, div_curves, "diversity vs step");
  md += plot_image(ctx, "claim2-line", {"alpha (particle 0 -> particle 1)", "validation loss (mean of seeds)"},
                   line_curves, "loss along the line between two particles");
  sec.body = md + commands_block(p.arms());
  return sec;
}

}  // namespace exploration
}  // namespace

std::vector<Arm> swarm4_arms(const Budget& b) {
  const int64_t S = exploration::swarm4_steps(b);
  std::vector<Arm> arms;
  for (const char* att : {"gbest", "lbest", "mean", "pso"}) {
    std::vector<std::string> set = {std::string("swarm.attractor=") + att};
    for (auto& s : exploration::mid_checkpoints(S)) set.push_back(std::move(s));
    arms.push_back(make_arm(fmt::format("p4-{}", att), fmt::format("NoSync {}", att), "nosync", 4, S, set, 0, 2));
  }
  return arms;
}

ClaimPlan claim_exploration(const Context& ctx) {
  return make_claim("NoSync explores a greater portion of the parameter space",
                    exploration::plan(ctx), &exploration::render);
}

}  // namespace nosync::app::experiment
