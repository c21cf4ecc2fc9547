// The three results of a swarm run (docs/algorithm.md): the best particle (lowest validation loss),
// the swarm-average model (batch norm re-estimated) and the ensemble (averaged probabilities),
// each evaluated on the test set.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "nosync/data/dataset.h"
#include "nosync/models/registry.h"
#include "nosync/train/trainer.h"

namespace nosync::swarm {

struct FinalResults {
  int best_particle = -1;
  train::EvalResult best, average, ensemble;  // on the test set
  std::vector<train::EvalResult> particles_val;  // each particle on the validation set
  models::Net average_net;
  double diversity = 0;
};

// The swarm-average model of `nets` (not modified): the mean of their parameters, buffers from
// nets[reference], then batch-norm statistics re-estimated on training batches drawn with `seed`
// (train::reestimate_batchnorm). `model` builds its network. The run's final average and
// `nosync eval --model average` both come from here.
models::Net average_model(const std::vector<models::Net>& nets, int reference, const models::ModelOptions& model,
                          const data::Splits& splits, uint64_t seed);

// `nets` are the particles' final models (not modified). `model` builds the average's network.
FinalResults evaluate_final(const std::vector<models::Net>& nets, const models::ModelOptions& model,
                            const data::Splits& splits, uint64_t seed);

}  // namespace nosync::swarm
