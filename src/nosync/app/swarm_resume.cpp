// Resuming a swarm: which checkpoint each particle continues from (swarm_resume.h).
#include "nosync/app/swarm_resume.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <set>

#include "nosync/app/swarm_launch.h"
#include "nosync/swarm/algo.h"
#include "nosync/train/evaluator.h"
#include "nosync/train/trainer.h"
#include "nosync/util/error.h"

namespace nosync::app {

std::vector<ResumeSource> resume_plan(const Config& config, const data::Splits& splits, const std::string& run_dir,
                                      int saved_particles, std::vector<std::string>& notes) {
  namespace fs = std::filesystem;
  const int n = particle_count(config);
  const bool collective = swarm::is_collective(swarm::parse_algo(config.swarm.algo));
  auto particle_dir = [&](int i) { return fmt::format("{}/checkpoints/particle-{}", run_dir, i); };
  for (int i = 0; i < saved_particles; ++i)
    if (!fs::is_directory(particle_dir(i)))
      throw UserError(fmt::format("{}: missing: particle {} of {} has no checkpoint", particle_dir(i), i,
                                  saved_particles),
                      "the run stopped before its first checkpoint; start it again");

  std::vector<std::string> dirs;  // the checkpoint each saved particle continues from
  if (collective) {  // every worker from one step: they meet in collectives by step count
    std::set<int64_t> common;
    for (int i = 0; i < saved_particles; ++i) {
      std::set<int64_t> steps;
      for (const int64_t step : train::checkpoint_steps(particle_dir(i)))
        if (i == 0 || common.count(step)) steps.insert(step);
      common = std::move(steps);
    }
    if (common.empty())
      throw UserError(fmt::format("{}/checkpoints: the {} workers have no checkpoint step in common", run_dir,
                                  saved_particles),
                      "a collective run resumes every worker from one step; raise checkpoint.keep");
    const int64_t step = *common.rbegin();
    for (int i = 0; i < saved_particles; ++i) dirs.push_back(fmt::format("{}/step-{}", particle_dir(i), step));
    notes.push_back(fmt::format("resuming {} worker(s) of {} at step {}", n, config.swarm.algo, step));
  } else {
    for (int i = 0; i < saved_particles; ++i) dirs.push_back(train::resolve_checkpoint_dir(particle_dir(i)));
  }

  std::vector<int> order(saved_particles);  // saved particles, best first (nosync) or in order
  std::iota(order.begin(), order.end(), 0);
  if (!collective && n != saved_particles) {
    // Ranked by the fitness the swarm itself uses: loss on the fixed validation subset.
    const train::Evaluator fitness(splits.val.slice(0, std::min(config.swarm.fitness_samples, splits.val.size())),
                                   splits.norm);
    std::vector<double> loss(saved_particles);
    for (int i = 0; i < saved_particles; ++i) {
      const train::CheckpointContent ck = train::read_checkpoint(dirs[i]);
      auto net = train::load_trained_net(config.model, config.train, splits.train,
                                         ck.model, dirs[i]);
      loss[i] = fitness.run(*net).loss;
      if (!std::isfinite(loss[i])) loss[i] = std::numeric_limits<double>::infinity();
    }
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return loss[a] < loss[b]; });
    notes.push_back(fmt::format("resuming {} particle(s) from {} saved; best saved particle {} (fitness {:.4f})", n,
                                saved_particles, order[0], loss[order[0]]));
  }
  std::vector<ResumeSource> plan;
  for (int i = 0; i < n; ++i) {
    ResumeSource source;
    if (n <= saved_particles) {
      source.from = n == saved_particles ? i : order[i];
      if (source.from != i) notes.push_back(fmt::format("particle {} continues saved particle {}", i, source.from));
    } else if (i < saved_particles) {
      source.from = i;
    } else {  // a new particle: the best (nosync) or worker 0 (collectives), momentum reset
      source.from = collective ? 0 : order[0];
      source.spawned = true;
      notes.push_back(fmt::format("particle {} is new: spawned from saved particle {}", i, source.from));
    }
    source.dir = dirs[source.from];
    plan.push_back(std::move(source));
  }
  return plan;
}

train::CheckpointContent load_resume_point(const ResumeSource& source) {
  train::CheckpointContent ck = train::read_checkpoint(source.dir);
  if (source.spawned) {  // keep only the swarm's own state: the optimizer (momentum) starts afresh
    train::TensorList swarm_state;
    for (auto& [name, t] : ck.optimizer)
      if (name.rfind("swarm.", 0) == 0) swarm_state.emplace_back(name, t);
    ck.optimizer = std::move(swarm_state);
  }
  return ck;
}

}  // namespace nosync::app
