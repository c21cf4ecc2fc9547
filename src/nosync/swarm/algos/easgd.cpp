// EASGD, synchronous form (Zhang et al. 2015, eq. 5-6): every tau steps each worker moves by
// alpha toward a centre variable, and the centre moves by alpha times the sum of the workers'
// differences (one all-reduce). Every worker keeps an identical copy of the centre.
#include "nosync/swarm/exchange.h"

#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {

const char* kCenterKey = "swarm.easgd_center";

class EasgdExchange final : public Exchange {
 public:
  explicit EasgdExchange(const ExchangeContext& c) : c_(c), center_(c.trainer.flat_params().clone()) {}

  nlohmann::json exchange(const ExchangeInput& in) override {
    torch::NoGradGuard no_grad;
    torch::Tensor& x = c_.trainer.flat_params();
    const double alpha = c_.options.easgd_alpha;
    c_.transport.publish(x, in.loss_ema, in.step);
    auto diff = x - center_;
    x.sub_(diff, alpha);
    c_.transport.allreduce_sum(diff);
    center_.add_(diff, alpha);
    return {{"attractor", "center"}, {"distance", (x - center_).norm().item<double>()}};
  }
  void save(train::CheckpointContent& ck) const override { ck.optimizer.emplace_back(kCenterKey, center_.clone()); }
  void restore(const train::CheckpointContent& ck) override {
    // A checkpoint without the centre (e.g. a spawned particle's) restarts it at the weights.
    const torch::Tensor saved = find_tensor(ck, kCenterKey);
    if (saved.defined())
      NOSYNC_CHECK(saved.numel() == center_.numel(), "easgd centre of {} values, model of {}", saved.numel(),
                   center_.numel());
    center_.copy_(saved.defined() ? saved.reshape({-1}) : c_.trainer.flat_params());
  }

 private:
  ExchangeContext c_;
  torch::Tensor center_;
};

}  // namespace

std::unique_ptr<Exchange> make_easgd_exchange(const ExchangeContext& context) {
  return std::make_unique<EasgdExchange>(context);
}

}  // namespace nosync::swarm
