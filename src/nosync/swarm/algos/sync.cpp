// Synchronous data-parallel SGD: the gradients of all workers are all-reduced and averaged at
// every step, before the optimizer step (what PyTorch DDP does). No periodic exchange.
#include "nosync/swarm/exchange.h"

namespace nosync::swarm {

namespace {

class SyncExchange final : public Exchange {
 public:
  explicit SyncExchange(const ExchangeContext& c) {
    const int n = c.particles;
    if (c.options.sync_scale_lr) c.trainer.set_lr_multiplier(n);
    train::Trainer& trainer = c.trainer;
    comm::Transport& transport = c.transport;
    trainer.set_gradient_hook([&trainer, &transport, n] {
      transport.allreduce_sum(trainer.flat_grads());
      trainer.flat_grads().div_(n);
    });
  }
  bool periodic() const override { return false; }
  bool tolerates_divergence() const override { return false; }
  nlohmann::json exchange(const ExchangeInput&) override { return {}; }
};

}  // namespace

std::unique_ptr<Exchange> make_sync_exchange(const ExchangeContext& context) {
  return std::make_unique<SyncExchange>(context);
}

}  // namespace nosync::swarm
