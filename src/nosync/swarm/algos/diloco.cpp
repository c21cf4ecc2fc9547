// DiLoCo (Douillard et al. 2023, arXiv 2311.08105): every worker takes H = swarm.tau inner
// optimizer steps from the round's start weights; then the workers average their
// pseudo-gradients (start weights minus current weights, one all-reduce) and every worker applies
// the same outer Nesterov step to the start weights:
//
//   delta = mean_i (start - x_i)
//   v     = mu v + delta
//   start = start - lr_outer (delta + mu v)        x_i = start
//
// with lr_outer = swarm.outer_lr (0.7) and mu = swarm.outer_momentum (0.9). The inner optimizer
// keeps its own state across rounds, as in the paper.
#include "nosync/swarm/exchange.h"

#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {

const char* kStartKey = "swarm.diloco_start";
const char* kVelocityKey = "swarm.diloco_velocity";

class DiLoCoExchange final : public Exchange {
 public:
  explicit DiLoCoExchange(const ExchangeContext& c)
      : c_(c), start_(c.trainer.flat_params().clone()), velocity_(torch::zeros_like(start_)) {}

  nlohmann::json exchange(const ExchangeInput& in) override {
    torch::NoGradGuard no_grad;
    torch::Tensor& x = c_.trainer.flat_params();
    const double mu = c_.options.outer_momentum;
    c_.transport.publish(x, in.loss_ema, in.step);  // for the diversity record
    torch::Tensor delta = start_ - x;
    const double moved = delta.norm().item<double>();
    c_.transport.allreduce_sum(delta);
    delta.div_(c_.particles);
    velocity_.mul_(mu).add_(delta);
    start_.sub_(delta.add_(velocity_, mu), c_.options.outer_lr);
    x.copy_(start_);
    return {{"attractor", "outer"}, {"distance", moved}};
  }

  void save(train::CheckpointContent& ck) const override {
    ck.optimizer.emplace_back(kStartKey, start_.clone());
    ck.optimizer.emplace_back(kVelocityKey, velocity_.clone());
  }
  void restore(const train::CheckpointContent& ck) override {
    // A checkpoint without them (a spawned worker's) starts a round at its weights, at rest.
    const torch::Tensor start = find_tensor(ck, kStartKey), velocity = find_tensor(ck, kVelocityKey);
    for (const auto* t : {&start, &velocity})
      if (t->defined())
        NOSYNC_CHECK(t->numel() == start_.numel(), "diloco state of {} values, model of {}", t->numel(),
                     start_.numel());
    start_.copy_(start.defined() ? start.reshape({-1}) : c_.trainer.flat_params());
    if (velocity.defined()) velocity_.copy_(velocity.reshape({-1}));
    else velocity_.zero_();
  }

 private:
  ExchangeContext c_;
  torch::Tensor start_;     // the weights every worker started this round from (identical on all)
  torch::Tensor velocity_;  // outer momentum (identical on all)
};

}  // namespace

std::unique_ptr<Exchange> make_diloco_exchange(const ExchangeContext& context) {
  return std::make_unique<DiLoCoExchange>(context);
}

}  // namespace nosync::swarm
