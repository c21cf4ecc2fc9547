// The NoSync exchange (docs/algorithm.md): publish the weights and their fitness, pick an
// attractor from whatever the swarm has published (possibly stale), pull toward it. Nobody waits
// for anybody, on any transport (swarm.deterministic adds barriers for lock-step tests; the
// optional swarm.mean_form = allreduce computes the mean attractor as a collective).
#include <cmath>
#include <limits>
#include <random>

#include "nosync/swarm/algorithm.h"
#include "nosync/swarm/exchange.h"
#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {

constexpr int64_t kBatchNormBatches = 20;  // training batches to re-estimate BN statistics
const char* kPbestKey = "swarm.pbest";

enum class Attractor { kGbest, kLbest, kMean, kPso };
enum class MomentumOnPull { kKeep, kReset, kScale };

Attractor parse_attractor(const std::string& s) {
  if (s == "lbest") return Attractor::kLbest;
  if (s == "mean") return Attractor::kMean;
  if (s == "pso") return Attractor::kPso;
  NOSYNC_CHECK(s == "gbest", "unknown swarm.attractor '{}'", s);
  return Attractor::kGbest;
}

MomentumOnPull parse_momentum(const std::string& s) {
  if (s == "reset") return MomentumOnPull::kReset;
  if (s == "scale") return MomentumOnPull::kScale;
  NOSYNC_CHECK(s == "keep", "unknown swarm.momentum_on_pull '{}'", s);
  return MomentumOnPull::kKeep;
}

class NoSyncExchange final : public Exchange {
 public:
  explicit NoSyncExchange(const ExchangeContext& c)
      : c_(c),
        attractor_kind_(parse_attractor(c.options.attractor)),
        momentum_(parse_momentum(c.options.momentum_on_pull)),
        mean_allreduce_(c.options.mean_form == "allreduce"),
        seed_(c.seed * 0x9E3779B97F4A7C15ULL + 0x5157ULL),
        own_(torch::empty_like(c.trainer.flat_params())) {
    if (attractor_kind_ == Attractor::kPso) pbest_ = c.trainer.flat_params().clone();
  }

  double momentum_factor() const override { return momentum_factor_; }
  int64_t respawns() const override { return respawns_; }

  nlohmann::json exchange(const ExchangeInput& in) override {
    const SwarmOptions& o = c_.options;
    comm::Transport& transport = c_.transport;
    torch::Tensor& x = c_.trainer.flat_params();
    const int64_t step = in.step;
    momentum_factor_ = 1;
    // The snapshot is staged while its fitness is evaluated: a transport may copy it in the
    // background meanwhile (the MPI transport does), so this thread does not wait for the copy.
    transport.stage(x);
    double fitness = in.fitness();
    const bool finite = std::isfinite(fitness) && all_finite(x);
    if (!finite) fitness = std::numeric_limits<double>::infinity();
    last_fitness_ = fitness;
    transport.publish_staged(fitness, step);
    if (attractor_kind_ == Attractor::kPso && finite && fitness < pbest_fitness_) {
      pbest_fitness_ = fitness;
      pbest_.copy_(x);
    }
    if (o.deterministic) transport.barrier();  // everyone has published this step

    const auto view = transport.headers();
    const double rho = rho_at(o, in.progress);
    // r is a function of (seed, step), not a stream: a resumed particle draws the same values.
    std::mt19937_64 rng(seed_ ^ (static_cast<uint64_t>(step) * 0xD1B54A32D192ED03ULL));
    const double r = o.random_r ? std::uniform_real_distribution<double>(0, 1)(rng) : 1.0;
    nlohmann::json rec = {{"fitness", fitness}, {"rho", rho}, {"r", r}};

    // target: a particle id, kMeanPoint (a point of its own) or -1 (nobody usable).
    constexpr int kMeanPoint = -2;
    int target = -1;
    int64_t published_step = step;
    if (attractor_kind_ == Attractor::kMean) {
      published_step = mean_allreduce_ ? mean_collective(step) : mean_of_published(view);
      target = published_step >= 0 ? kMeanPoint : -1;
      if (published_step < 0) published_step = step;
    } else {
      target = attractor_kind_ == Attractor::kLbest
                   ? best_in_neighbourhood(view, c_.particle, static_cast<int>(o.lbest_k))
                   : best_particle(view);
      // fetch_shared: the MPI transport lends its received snapshot (read-only until the next
      // exchange) instead of copying it.
      if (target >= 0 && target != c_.particle) published_step = transport.fetch_shared(target, x, attractor_).step;
    }
    rec["attractor"] = target == kMeanPoint ? nlohmann::json("mean") : nlohmann::json(target);
    rec["staleness"] = step - published_step;

    const bool have_point = target == kMeanPoint || (target >= 0 && target != c_.particle);
    if (!finite) {
      // A diverged particle is re-spawned from the attractor (or stays put if nobody is usable).
      bool respawned = false;
      if (have_point) {
        x.copy_(attractor_);
        c_.trainer.scale_momentum(0);
        momentum_factor_ = 0;
        respawned = true;
        ++respawns_;
        c_.sink.warn(fmt::format("particle {} has non-finite loss or weights at step {}: re-spawned from {}",
                                 c_.particle, step, rec["attractor"].dump()));
      }
      rec["respawned"] = respawned;
      if (o.deterministic) transport.barrier();
      return rec;
    }
    if (have_point) {
      rec["distance"] = (attractor_ - x).norm().item<double>();
      const double coeff = rho * r;
      if (attractor_kind_ == Attractor::kPso) {
        const double r2 = o.random_r ? std::uniform_real_distribution<double>(0, 1)(rng) : 1.0;
        pso_pull(x, pbest_, attractor_, o.c1 * r * rho, o.c2 * r2 * rho);
      } else {
        pull(x, attractor_, coeff);
      }
      if (momentum_ == MomentumOnPull::kReset) momentum_factor_ = 0;
      else if (momentum_ == MomentumOnPull::kScale) momentum_factor_ = 1 - coeff;
      if (momentum_factor_ != 1) c_.trainer.scale_momentum(momentum_factor_);
      // The mean is a new point: its batch-norm statistics are re-estimated (docs/algorithm.md).
      if (attractor_kind_ == Attractor::kMean && coeff > 0 && train::has_batchnorm(*c_.trainer.net()))
        train::recompute_batchnorm(*c_.trainer.net(), c_.trainer.loader(), kBatchNormBatches);
    } else {
      rec["distance"] = 0.0;  // this particle is the attractor: it is not pulled
    }
    if (o.deterministic) transport.barrier();  // nobody publishes again before all have read
    return rec;
  }

  // The personal best of pso.
  void save(train::CheckpointContent& ck) const override {
    if (!pbest_.defined()) return;
    ck.optimizer.emplace_back(kPbestKey, pbest_.clone());
    ck.state["pbest_fitness"] = std::isfinite(pbest_fitness_) ? nlohmann::json(pbest_fitness_) : nlohmann::json();
  }
  void restore(const train::CheckpointContent& ck) override {
    const torch::Tensor pbest = find_tensor(ck, kPbestKey);
    if (!pbest_.defined() || !pbest.defined()) return;
    NOSYNC_CHECK(pbest.numel() == pbest_.numel(), "pbest of {} values, model of {}", pbest.numel(), pbest_.numel());
    pbest_.copy_(pbest.reshape({-1}));
    const auto& f = ck.state.value("pbest_fitness", nlohmann::json());
    pbest_fitness_ = f.is_number() ? f.get<double>() : std::numeric_limits<double>::infinity();
  }

 private:
  // Mean of every valid, finite published snapshot, into our own buffer; returns the oldest step
  // used, or -1 when no particle is usable. Reads what has arrived: waits for nobody.
  int64_t mean_of_published(const std::vector<comm::Header>& view) {
    attractor_ = own_;
    attractor_.zero_();
    if (!scratch_.defined()) scratch_ = torch::empty_like(attractor_);
    int used = 0;
    int64_t oldest = std::numeric_limits<int64_t>::max();
    for (const auto& h : view) {
      if (!h.valid() || !std::isfinite(h.fitness)) continue;
      const auto got = c_.transport.fetch(h.particle, scratch_);
      attractor_.add_(scratch_);
      oldest = std::min(oldest, got.step);
      ++used;
    }
    if (used == 0) return -1;
    attractor_.div_(used);
    return oldest;
  }

  // swarm.mean_form = allreduce: one all-reduce of [x, 1] over the finite particles. Collective:
  // every particle exchanges at the same step and waits for the others (never stale).
  int64_t mean_collective(int64_t step) {
    attractor_ = own_;
    const torch::Tensor& x = c_.trainer.flat_params();
    const int64_t numel = x.numel();
    if (!scratch_.defined() || scratch_.numel() != numel + 1) scratch_ = torch::empty({numel + 1}, x.options());
    if (all_finite(x) && std::isfinite(last_fitness_)) {
      scratch_.narrow(0, 0, numel).copy_(x);
      scratch_[numel] = 1.0f;
    } else {
      scratch_.zero_();
    }
    c_.transport.allreduce_sum(scratch_);
    const float used = scratch_[numel].item<float>();
    if (used < 1) return -1;
    attractor_.copy_(scratch_.narrow(0, 0, numel));
    attractor_.div_(used);
    return step;
  }

  ExchangeContext c_;
  const Attractor attractor_kind_;
  const MomentumOnPull momentum_;
  const bool mean_allreduce_;
  const uint64_t seed_;
  torch::Tensor attractor_;  // the point pulled toward; may be a read-only snapshot of the transport
  torch::Tensor own_;        // our buffer for the attractor (mean)
  torch::Tensor scratch_, pbest_;
  double pbest_fitness_ = std::numeric_limits<double>::infinity();
  double last_fitness_ = std::numeric_limits<double>::infinity();  // of this exchange
  double momentum_factor_ = 1;
  int64_t respawns_ = 0;
};

}  // namespace

std::unique_ptr<Exchange> make_nosync_exchange(const ExchangeContext& context) {
  return std::make_unique<NoSyncExchange>(context);
}

}  // namespace nosync::swarm
