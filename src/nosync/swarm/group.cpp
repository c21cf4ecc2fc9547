// The hybrid particle's group (see group.h).
#include "nosync/swarm/group.h"

namespace nosync::swarm {

namespace {

class GroupExchange final : public Exchange {
 public:
  GroupExchange(std::unique_ptr<Exchange> inner, comm::Transport& group, train::Trainer& trainer)
      : inner_(std::move(inner)),
        group_(group),
        trainer_(trainer),
        buffer_(torch::empty({trainer.flat_params().numel() + 1}, torch::kFloat)) {
    const int g = group.particles();
    trainer.set_gradient_hook([&trainer, &group, g] {
      group.allreduce_sum(trainer.flat_grads());
      trainer.flat_grads().div_(g);
    });
  }

  bool tolerates_divergence() const override { return inner_ ? inner_->tolerates_divergence() : true; }
  double momentum_factor() const override { return inner_ ? inner_->momentum_factor() : 1; }
  int64_t respawns() const override { return inner_ ? inner_->respawns() : 0; }
  void save(train::CheckpointContent& ck) const override {
    if (inner_) inner_->save(ck);
  }
  void restore(const train::CheckpointContent& ck) override {
    if (inner_) inner_->restore(ck);
  }

  nlohmann::json exchange(const ExchangeInput& in) override {
    nlohmann::json rec = inner_ ? inner_->exchange(in) : nlohmann::json{{"event", "group_sync"}};
    // The leader's weights and momentum factor to every member: the others contribute zeros, so
    // the sum is exactly the leader's values.
    torch::Tensor& x = trainer_.flat_params();
    const int64_t numel = x.numel();
    if (inner_) {
      buffer_.narrow(0, 0, numel).copy_(x);
      buffer_[numel] = static_cast<float>(inner_->momentum_factor());
    } else {
      buffer_.zero_();
    }
    group_.allreduce_sum(buffer_);
    if (!inner_) {
      x.copy_(buffer_.narrow(0, 0, numel));
      const double factor = buffer_[numel].item<double>();
      if (factor != 1) trainer_.scale_momentum(factor);
    }
    return rec;
  }

 private:
  std::unique_ptr<Exchange> inner_;
  comm::Transport& group_;
  train::Trainer& trainer_;
  torch::Tensor buffer_;  // [weights, momentum factor]
};

}  // namespace

std::unique_ptr<Exchange> make_group_exchange(std::unique_ptr<Exchange> leader_exchange, comm::Transport& group,
                                              train::Trainer& trainer) {
  return std::make_unique<GroupExchange>(std::move(leader_exchange), group, trainer);
}

}  // namespace nosync::swarm
