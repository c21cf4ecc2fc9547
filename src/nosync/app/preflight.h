// The one validation phase of `nosync train` (docs/reliability.md): everything that can refuse a
// run is checked here, before the first byte is written to its run directory, so that a refused
// command leaves the directory exactly as it was.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nosync/app/config.h"
#include "nosync/app/swarm_resume.h"
#include "nosync/data/dataset.h"
#include "nosync/train/checkpoint.h"

namespace nosync::app {

// The data, the model, the swarm plan (swarm.overrides), each worker's batch against its share
// of the training set, and the fault spec (particles and ranks that exist) of `config` run as
// `particles` particles in an MPI job of `ranks` ranks (0: not an MPI job). UserError on the
// first problem.
void check_run(const Config& config, const data::Splits& splits, int particles, int ranks);

// A resume, checked: where each particle continues from, and every checkpoint read and checked
// against the run (every field of state.json, the model's and the optimizer's tensor shapes).
struct CheckedResume {
  std::vector<ResumeSource> sources;  // per particle (a single worker: one)
  std::vector<std::string> notes;     // what resume_plan chose
  int64_t step = 0;                   // the lowest step a particle continues from
  int64_t total_steps = 0;            // the steps the resumed config asks of that particle
  bool finished = false;              // every particle has done its steps and summary.json exists
};

// `config`: the run's saved config with the resume's overrides; saved_particles: the particles
// of the saved run (0: a single worker's run); `particles`: how many go on.
CheckedResume check_resume(const Config& config, const data::Splits& splits, const std::string& run_dir,
                           int saved_particles, int particles);

}  // namespace nosync::app
