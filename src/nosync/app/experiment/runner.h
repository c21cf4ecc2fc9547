// The runner of `nosync experiment`: trains every (arm, seed) once, in this process or under
// mpirun for the MPI claims, and reuses a finished run whose effective config matches. Every
// planned arm's config and data are checked before the first run starts.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "nosync/app/config.h"
#include "nosync/app/experiment/common.h"
#include "nosync/data/dataset.h"
#include "nosync/models/registry.h"
#include "nosync/train/checkpoint.h"

namespace nosync::app::experiment {

class Runner {
 public:
  Runner(Config base, std::string runs_dir, int seeds);

  // Checks the config and data of every arm (a UserError for the first that no run can use)
  // and counts its work for the time-left estimate; an arm planned again counts once.
  void plan(const std::vector<Arm>& arms);
  // Trains (or reuses) every seed of each arm not run yet, in order, with a progress line each.
  void run(const std::vector<Arm>& arms);
  // The outcomes of an arm that run() has seen, one per seed.
  const Outcomes& outcomes(const Arm& arm) const;

  // The data of `options`, loaded once.
  const data::Splits& splits(const data::DataOptions& options);
  // A net of the run's model holding saved weights `state` (read from `origin`), computing as
  // the run trained.
  models::Net load_net(const Outcome& o, const train::TensorList& state, const std::string& origin);

  const std::vector<std::string>& failures() const { return failures_; }
  const Config& base() const { return base_; }
  int runs() const { return runs_; }

 private:
  struct Ran {
    Outcome outcome;
    bool reused = false;
  };
  Ran run_seed(const Arm& arm, int seed);
  Config configure(const Arm& arm, int seed, const std::string& dir) const;
  void run_mpi(const Arm& arm, const std::string& dir, const std::string& toml);

  using Clock = std::chrono::steady_clock;
  Config base_;
  std::string runs_dir_;
  int seeds_;
  Clock::time_point start_;
  std::set<std::string> planned_;
  double cost_total_ = 0, cost_done_ = 0;
  int runs_ = 0;
  std::map<std::string, Outcomes> done_;
  std::map<std::string, data::Splits> splits_;
  std::vector<std::string> failures_;
};

}  // namespace nosync::app::experiment
