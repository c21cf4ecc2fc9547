// Runs a swarm (or a baseline) as N particles on threads of this process over the local board.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nosync/app/config.h"
#include "nosync/app/console.h"
#include "nosync/data/dataset.h"
#include "nosync/swarm/worker.h"
#include "nosync/train/loop.h"

namespace nosync::app {

// Trains, writes metrics.jsonl, checkpoints and summary.json under run_dir; returns the summary.
nlohmann::json run_local_swarm(const Config& config, const data::Splits& splits, const std::string& run_dir,
                               const std::string& config_toml, ConsoleObserver& console);

// The end of a swarm run, whatever launched it: evaluates the best particle, the swarm average and
// the ensemble of `nets` (results[i] belongs to nets[i]), saves the average as a checkpoint and
// writes summary.json; returns the summary.
nlohmann::json summarize_swarm(const Config& config, const std::vector<models::Net>& nets,
                               const std::vector<swarm::WorkerResult>& results,
                               const std::vector<train::TrainOptions>& particle_train, const data::Splits& splits,
                               const std::string& run_dir, const std::string& config_toml, double wall_s);

// The single-worker run described by a config (swarm.algo = single).
train::RunSetup single_run_setup(const Config& config, const std::string& run_dir, const std::string& config_toml,
                                 bool resume);

// Particles a config asks for (swarm.particles, 0 = one per core).
int particle_count(const Config& config);

}  // namespace nosync::app
