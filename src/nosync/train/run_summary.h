// summary.json: what a finished run reports, for a single worker, a swarm on threads and an MPI
// job alike. Built by whoever ends the run and written once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "nosync/train/evaluator.h"

namespace nosync::train {

struct RunSummary {
  std::string algo = "single";
  bool completed = true;
  std::string model;
  int64_t parameters = 0;
  EvalResult test, val;      // the headline model: the worker, or a swarm's best particle
  int64_t steps = 0;         // per worker
  double epochs = -1;        // per worker; < 0: not reported (swarm)
  int64_t samples = 0;       // all workers
  double wall_s = 0;
  double samples_per_s = 0;  // all workers, over the wall time (single: over training time)
  nlohmann::json speed = nlohmann::json::object();  // train::speed_summary fields

  struct Swarm {
    int particles = 0;
    int best_particle = 0;
    EvalResult best, average, ensemble;  // on the test set
    double final_diversity = 0;
    double exchange_s_per_particle = 0;
    int64_t respawns = 0;
  };
  std::optional<Swarm> swarm;

  struct Mpi {
    int ranks = 0;
    int group_size = 1;
    double group_max_divergence = 0;  // hybrid: members vs. leader, 0 = one model
  };
  std::optional<Mpi> mpi;

  nlohmann::json to_json() const;
  // run_dir/summary.json, atomically.
  void write(const std::string& run_dir) const;
};

}  // namespace nosync::train
