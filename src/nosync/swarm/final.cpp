#include "nosync/swarm/final.h"

#include "nosync/swarm/algorithm.h"
#include "nosync/train/flat_state.h"
#include "nosync/util/error.h"

namespace nosync::swarm {

models::Net average_model(const std::vector<models::Net>& nets, int reference, const models::ModelOptions& model,
                          const data::Splits& splits, uint64_t seed) {
  NOSYNC_CHECK(!nets.empty() && reference >= 0 && reference < static_cast<int>(nets.size()),
               "average of {} nets, reference {}", nets.size(), reference);
  std::vector<torch::Tensor> flats;
  for (const auto& net : nets) flats.push_back(train::flat_parameters(*net));
  models::Net average = models::build_model_for(model, splits.train);
  average->set_compute(nets[0]->compute());
  {
    torch::NoGradGuard no_grad;
    train::load_flat_parameters(*average, torch::stack(flats).mean(0));
    auto src = nets[reference]->named_buffers();
    for (auto& b : average->named_buffers()) b.value().copy_(src[b.key()]);
  }
  train::reestimate_batchnorm(*average, splits, seed ^ 0xB17E57ULL, 50);
  return average;
}

FinalResults evaluate_final(const std::vector<models::Net>& nets, const models::ModelOptions& model,
                            const data::Splits& splits, uint64_t seed) {
  NOSYNC_CHECK(!nets.empty(), "no particles");
  FinalResults out;
  const train::Evaluator val(splits.val, splits.norm), test(splits.test, splits.norm);
  for (const auto& net : nets) out.particles_val.push_back(val.run(*net));
  out.best_particle = 0;
  for (size_t i = 1; i < nets.size(); ++i)
    if (out.particles_val[i].loss < out.particles_val[out.best_particle].loss) out.best_particle = static_cast<int>(i);
  out.best = test.run(*nets[out.best_particle]);

  std::vector<torch::Tensor> flats;
  for (const auto& net : nets) flats.push_back(train::flat_parameters(*net));
  out.diversity = diversity(flats);

  out.average_net = average_model(nets, out.best_particle, model, splits, seed);
  out.average = test.run(*out.average_net);

  torch::Tensor probs;
  for (const auto& net : nets) {
    auto p = test.probabilities(*net);
    probs = probs.defined() ? probs.add_(p) : p;
  }
  out.ensemble = test.score(probs.div_(static_cast<double>(nets.size())));
  return out;
}

}  // namespace nosync::swarm
