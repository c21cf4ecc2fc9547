// Which model of a run `nosync eval --checkpoint PATH --model M` evaluates.
//
// PATH is a single worker's run directory (or its checkpoints/, or one step-<N>), a swarm run
// directory (checkpoints/particle-<i>/, plus checkpoints/average/ once it finished) or its
// checkpoints/ directory, or one particle's or step's directory. M:
//   best        (default) a swarm's best particle: the lowest validation loss recorded by the run
//               (summary.json's best_particle when it belongs to the particles' latest
//               checkpoints, else each latest checkpoint's state.json "val_loss"); a directory of
//               one model: that model
//   average     the mean of the particles' latest weights, batch norm re-estimated
//               (swarm::average_model, as the run's own final average)
//   particle-N  particle N's latest checkpoint
// Anything that does not fit is a UserError naming the path or the value.
#pragma once

#include <string>
#include <vector>

namespace nosync::app {

struct EvalTarget {
  std::string description;                   // what was chosen and why, for the eval table
  std::vector<std::string> checkpoint_dirs;  // one step-<N> directory, or every particle's (average)
  int reference = 0;                         // average: the index (in checkpoint_dirs) of the best particle
  bool average = false;
};

// The particle ids i of `checkpoints_dir`/particle-<i> directories, ascending (none: empty).
std::vector<int> particle_ids(const std::string& checkpoints_dir);

EvalTarget choose_eval_target(const std::string& path, const std::string& model);

}  // namespace nosync::app
