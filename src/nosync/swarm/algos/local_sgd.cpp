// Local SGD / periodic model averaging: every tau steps all workers replace their weights by
// the average of everybody's (one all-reduce).
#include "nosync/swarm/exchange.h"

namespace nosync::swarm {

namespace {

class LocalSgdExchange final : public Exchange {
 public:
  explicit LocalSgdExchange(const ExchangeContext& c) : c_(c) {}
  nlohmann::json exchange(const ExchangeInput& in) override {
    torch::Tensor& x = c_.trainer.flat_params();
    c_.transport.publish(x, in.loss_ema, in.step);  // for the diversity record
    c_.transport.allreduce_sum(x);
    x.div_(c_.particles);
    return {{"attractor", "average"}};
  }

 private:
  ExchangeContext c_;
};

}  // namespace

std::unique_ptr<Exchange> make_local_sgd_exchange(const ExchangeContext& context) {
  return std::make_unique<LocalSgdExchange>(context);
}

}  // namespace nosync::swarm
