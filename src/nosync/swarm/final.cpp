#include "nosync/swarm/final.h"

#include "nosync/swarm/algorithm.h"
#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {

nlohmann::json eval_json(const train::EvalResult& r) {
  return {{"test_accuracy", r.accuracy}, {"test_loss", r.loss}};
}

torch::Tensor flat_copy(const models::NetImpl& net) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : net.parameters()) parts.push_back(p.detach().reshape({-1}));
  return torch::cat(parts);
}

}  // namespace

nlohmann::json FinalResults::to_json() const {
  return {{"best", eval_json(best)}, {"best_particle", best_particle}, {"average", eval_json(average)},
          {"ensemble", eval_json(ensemble)}, {"final_diversity", diversity}};
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
  for (const auto& net : nets) flats.push_back(flat_copy(*net));
  out.diversity = diversity(flats);

  // Average: mean of the weights, then batch-norm statistics re-estimated on training batches.
  out.average_net = models::build_model(model, splits.train.shape(), splits.train.num_classes);
  out.average_net->set_compute(nets[0]->compute());
  {
    torch::NoGradGuard no_grad;
    auto mean = torch::stack(flats).mean(0);
    int64_t offset = 0;
    for (auto& p : out.average_net->parameters()) {
      p.copy_(mean.narrow(0, offset, p.numel()).view(p.sizes()));
      offset += p.numel();
    }
    auto src = nets[out.best_particle]->named_buffers();
    for (auto& b : out.average_net->named_buffers()) b.value().copy_(src[b.key()]);
  }
  if (train::has_batchnorm(*out.average_net)) {
    data::LoaderOptions lo;
    lo.batch_size = 128;
    lo.seed = seed ^ 0xB17E57ULL;
    data::BatchLoader loader(splits.train, splits.norm, lo);
    train::recompute_batchnorm(*out.average_net, loader, 50);
  }
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
