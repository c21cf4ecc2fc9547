// Resuming a swarm, possibly with another number of particles: where each particle continues
// from. Shared by the local launcher and the MPI one.
#pragma once

#include <string>
#include <vector>

#include "nosync/app/config.h"
#include "nosync/data/dataset.h"
#include "nosync/train/checkpoint.h"

namespace nosync::app {

// Where one particle of a resumed swarm continues from: the checkpoint directory (a concrete
// step-N/) of saved particle `from`; `spawned`: a new particle copied from it, momentum reset.
struct ResumeSource {
  int from = 0;
  std::string dir;
  bool spawned = false;
};

// Where each of the config's particles continues from, for a run saved with `saved_particles`
// particles under run_dir/checkpoints/particle-<i>/. nosync: every particle its own latest
// checkpoint; with fewer particles than saved, the ones with the lowest fitness are kept; with
// more, the new ones start from the best (momentum reset). The collective baselines resume every
// worker from the newest step they all have; new workers copy worker 0. A missing or corrupt
// checkpoint is a UserError naming it. `notes` says what was chosen. Ranking by fitness reads
// every saved checkpoint; otherwise the plan only resolves directories. A launcher loads each
// particle's checkpoint with load_resume_point (MPI: rank 0 plans, every rank loads its own).
std::vector<ResumeSource> resume_plan(const Config& config, const data::Splits& splits, const std::string& run_dir,
                                      int saved_particles, std::vector<std::string>& notes);
train::CheckpointContent load_resume_point(const ResumeSource& source);

}  // namespace nosync::app
