// `nosync experiment`: checks the arguments, plans every requested claim (its arms), checks
// every planned run's config and data, then runs and writes one section per claim and
// report/claims.md from all sections present. The claims live under app/experiment/.
#include "nosync/app/experiment.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "nosync/app/console.h"
#include "nosync/app/experiment/claims.h"
#include "nosync/app/experiment/runner.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "nosync/util/machine.h"

namespace nosync::app {

namespace fs = std::filesystem;
using namespace experiment;

namespace {

constexpr int64_t kQuickTestImages = 2000;  // --quick: the first N test images

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// The claims in report order; `nosync experiment KEY` runs one.
struct ClaimEntry {
  const char* key;
  ClaimPlan (*plan)(const Context&);
};
const ClaimEntry kClaims[] = {{"1", claim_accuracy},    {"2", claim_exploration}, {"3", claim_overfitting},
                              {"4", claim_speedup},     {"5", claim_orthogonal},  {"sensitivity", sensitivity}};

// <out>/sections/<key>.md and .json: claims.md is made of every section present there.
void write_section(const std::string& out, const std::string& key, const std::string& title, const Section& s,
                   const std::string& mode) {
  const bool table = key == "sensitivity";
  const std::string md = fmt::format("## {}. {}\n\nVerdict: {} — {}.\n\nRerun: `nosync experiment {}{}`\n\n{}",
                                     table ? "S" : key, title, table ? "(a table, not a claim)" : verdict_text(s.verdict),
                                     s.summary, key, mode, s.body);
  util::write_file_atomic(out + "/sections/" + key + ".md", md);
  const nlohmann::json j = {{"claim", key}, {"title", title}, {"verdict", verdict_text(s.verdict)},
                            {"summary", s.summary}, {"written", now_utc()}};
  util::write_file_atomic(out + "/sections/" + key + ".json", j.dump(2) + "\n");
}

}  // namespace

int run_experiment(const Config& base_in, const ExperimentOptions& options) {
  std::vector<std::string> order;
  for (const auto& c : kClaims) order.push_back(c.key);
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
  Context ctx{runner, budget, options, out, fmt::format("`{}` on {}", base.model.name, data_name)};

  const auto start = std::chrono::steady_clock::now();
  std::string listed;
  for (const auto& c : claims) listed += (listed.empty() ? "" : ", ") + c;
  std::cerr << fmt::format("nosync experiment: claims {} ({}), {} seeds, budget scale {}; reports to {}/claims.md\n",
                           listed, options.quick ? "quick" : "full", budget.seeds, budget.scale, out);
  // Plan everything first so that the progress lines can estimate the time left, and so that
  // every run's config and data are checked before the first run starts.
  std::vector<std::pair<std::string, ClaimPlan>> plans;
  for (const auto& c : claims) {
    const auto it = std::find_if(std::begin(kClaims), std::end(kClaims), [&](const ClaimEntry& e) { return e.key == c; });
    plans.emplace_back(c, it->plan(ctx));
    runner.plan(plans.back().second.arms);
  }
  for (const auto& [key, plan] : plans) {
    runner.run(plan.arms);
    write_section(out, key, plan.title, plan.render(ctx), options.quick ? " --quick" : "");
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

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
