// What every swarm launcher (threads: local_swarm.h; MPI ranks: mpi_swarm.h) needs to start and
// end the particles of a config, built in one place: the per-particle options, the initial
// models, each worker's setup, and the run summary.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nosync/app/config.h"
#include "nosync/data/dataset.h"
#include "nosync/swarm/algo.h"
#include "nosync/swarm/worker.h"
#include "nosync/train/run_summary.h"

namespace nosync::app {

// Particles a config asks for (swarm.particles, 0 = one per core; single: 1).
int particle_count(const Config& config);

// `config` with what this machine decides written out: swarm.particles = 0 (not for single) ->
// `particles`, train.threads = 0 -> `threads` (each worker's), train.precision = auto -> what
// this CPU runs (train::resolved_precision). The saved config.toml holds these values, so that it
// reproduces the run on another machine, and a resume continues with them.
Config resolve_config(const Config& config, int particles, int64_t threads);

struct SwarmPlan {
  swarm::Algo algo = swarm::Algo::kNoSync;
  int particles = 0;
  std::vector<train::TrainOptions> train;  // per particle: config.train with swarm.overrides applied
};

// Checks swarm.overrides for every particle (UserError naming it).
SwarmPlan plan_swarm(const Config& config, int particles);

// Particle `particle`'s initial model: the collective baselines start every worker from one
// model, NoSync particles each from a seed of their own.
models::Net initial_net(const Config& config, const SwarmPlan& plan, int particle, const data::Splits& splits);

// Builds the model once and runs it on a dry batch of the data's shape under train.precision
// (models::check_forward): a model that cannot train on this data is refused (UserError) before
// a launcher writes anything. A TorchScript module is checked here for the first time.
void check_model(const Config& config, const data::Splits& splits);

// A run of `config` into run_dir: for a single run as it is, and the base of every worker's setup.
train::RunSetup run_setup(const Config& config, const std::string& run_dir, const std::string& config_toml);

// The setup of particle `particle`. `stream` makes each worker's data stream its own (the
// particle id on threads, the rank under MPI, where a hybrid group's members differ).
swarm::WorkerSetup worker_setup(const Config& config, const SwarmPlan& plan, int particle, int stream,
                                const std::string& run_dir, const std::string& config_toml, int64_t threads);

// The end of a swarm run, whatever launched it: evaluates the best particle, the swarm average
// and the ensemble of `nets` (results[i] belongs to nets[i]; each particle trained
// `batches_per_step` batches per step: a hybrid group's size), saves the average as a checkpoint
// and writes summary.json once.
train::RunSummary summarize_swarm(const Config& config, const SwarmPlan& plan, const std::vector<models::Net>& nets,
                                  const std::vector<swarm::WorkerResult>& results, const data::Splits& splits,
                                  const std::string& run_dir, const std::string& config_toml, double wall_s,
                                  int64_t threads_total, std::optional<train::RunSummary::Mpi> mpi = std::nullopt);

}  // namespace nosync::app
