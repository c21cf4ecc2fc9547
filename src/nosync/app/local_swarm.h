// Runs a swarm (or a baseline) as N particles on threads of this process over the local board.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nosync/app/config.h"
#include "nosync/app/console.h"
#include "nosync/data/dataset.h"
#include "nosync/train/checkpoint.h"
#include "nosync/swarm/worker.h"
#include "nosync/train/loop.h"

namespace nosync::app {

// Trains, writes metrics.jsonl, checkpoints and summary.json under run_dir; returns the summary.
// `resume_particles` > 0 continues the run in run_dir, which was saved with that many particles
// (see resume_points).
nlohmann::json run_local_swarm(const Config& config, const data::Splits& splits, const std::string& run_dir,
                               const std::string& config_toml, ConsoleObserver& console, int resume_particles = 0,
                               train::RunControl* control = nullptr);

// Where one particle of a resumed swarm continues from: the checkpoint directory (a concrete
// step-N/) of saved particle `from`; `spawned`: a new particle copied from it, momentum reset.
struct ResumeSource {
  int from = 0;
  std::string dir;
  bool spawned = false;
};

// The checkpoint each of the config's particles continues from, for a run saved with
// `saved_particles` particles under run_dir/checkpoints/particle-<i>/. nosync: every particle its
// own latest checkpoint; with fewer particles than saved, the ones with the lowest fitness are kept;
// with more, the new ones start from the best (momentum reset). The collective baselines
// (sync, local-sgd, easgd) resume every worker from the newest step they all have; new workers copy
// worker 0. A missing or corrupt checkpoint is a UserError naming it. `notes` says what was chosen.
std::vector<train::CheckpointContent> resume_points(const Config& config, const data::Splits& splits,
                                                    const std::string& run_dir, int saved_particles,
                                                    std::vector<std::string>& notes);

// resume_points split in two, for launchers where one process decides and each loads its own
// (MPI: rank 0 plans, every rank loads its particle's checkpoint): the plan for each of the
// config's particles, then one particle's checkpoint. Ranking by fitness reads every saved
// checkpoint; otherwise the plan only resolves directories.
std::vector<ResumeSource> resume_plan(const Config& config, const data::Splits& splits, const std::string& run_dir,
                                      int saved_particles, std::vector<std::string>& notes);
train::CheckpointContent load_resume_point(const ResumeSource& source);

// The end of a swarm run, whatever launched it: evaluates the best particle, the swarm average and
// the ensemble of `nets` (results[i] belongs to nets[i]), saves the average as a checkpoint and
// writes summary.json; returns the summary.
nlohmann::json summarize_swarm(const Config& config, const std::vector<models::Net>& nets,
                               const std::vector<swarm::WorkerResult>& results,
                               const std::vector<train::TrainOptions>& particle_train, const data::Splits& splits,
                               const std::string& run_dir, const std::string& config_toml, double wall_s,
                               int64_t threads_total);

// The single-worker run described by a config (swarm.algo = single).
train::RunSetup single_run_setup(const Config& config, const std::string& run_dir, const std::string& config_toml,
                                 bool resume);

// Particles a config asks for (swarm.particles, 0 = one per core).
int particle_count(const Config& config);

}  // namespace nosync::app
