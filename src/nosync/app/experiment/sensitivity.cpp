// The sensitivity table: NoSync with 4 particles, one setting changed at a time from the
// defaults (tau, the rho schedule, the attractor). A table, not a claim.
#include <algorithm>

#include "nosync/app/experiment/claims.h"
#include "nosync/app/experiment/runner.h"

namespace nosync::app::experiment {

namespace {
namespace sensitivity_table {  // a name of its own: the sanitizer builds compile the claims as one unit

struct SensitivityPlan {
  int64_t S = 0;
  swarm::SwarmOptions defaults;  // the base config's
  std::vector<Arm> settings;     // swarm4_arms (each attractor), tau / 4 and x 4, each rho schedule

  const std::vector<Arm>& arms() const { return settings; }
};

SensitivityPlan plan(const Context& ctx) {
  SensitivityPlan p;
  p.S = ctx.budget.steps(0.5);
  p.defaults = ctx.runner.base().swarm;
  p.settings = swarm4_arms(ctx.budget);
  for (int64_t tau : {std::max<int64_t>(1, p.defaults.tau / 4), p.defaults.tau * 4})
    p.settings.push_back(make_arm(fmt::format("p4-tau{}", tau), fmt::format("gbest, tau {}", tau), "nosync", 4, p.S,
                                  {fmt::format("swarm.tau={}", tau)}, 0, 2));
  for (const char* sched : {"constant", "cosine"})
    p.settings.push_back(make_arm(fmt::format("p4-{}", sched), fmt::format("gbest, rho {}", sched), "nosync", 4, p.S,
                                  {std::string("swarm.rho_schedule=") + sched}, 0, 2));
  return p;
}

Section render(Context& ctx, const SensitivityPlan& p) {
  Section sec;
  const auto& d = p.defaults;
  std::string md = fmt::format(
      "NoSync, 4 particles, {} steps each; one setting changed at a time from the defaults (tau {}, rho {} from {} to "
      "{}, attractor {}). {} seeds, test accuracy %.\n\n| setting | best | average | ensemble | mean diversity |\n"
      "|---|---|---|---|---|\n",
      p.S, d.tau, d.rho_schedule, d.rho0, d.rho1, d.attractor, ctx.budget.seeds);
  for (const auto& a : p.settings) {
    const auto& r = ctx.runner.outcomes(a);
    md += fmt::format("| {} | {} | {} | {} | {} |\n", a.label, pm(over_seeds(r, best_accuracy)),
                      pm(over_seeds(r, average_accuracy)), pm(over_seeds(r, ensemble_accuracy)),
                      pm(over_seeds(r, mean_diversity), 1, 3));
  }
  sec.summary = "table only (no claim)";
  sec.body = md + "\n" + commands_block(p.settings);
  return sec;
}

}  // namespace sensitivity_table
}  // namespace

ClaimPlan sensitivity(const Context& ctx) {
  return make_claim("Sensitivity to tau, the rho schedule and the attractor",
                    sensitivity_table::plan(ctx), &sensitivity_table::render);
}

}  // namespace nosync::app::experiment
