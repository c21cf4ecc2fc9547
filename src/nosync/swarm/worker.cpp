// One particle's training run with the exchange of its algorithm.
#include "nosync/swarm/worker.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <thread>

#include "nosync/swarm/algorithm.h"
#include "nosync/swarm/fault.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/trainer.h"
#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr int64_t kBatchNormBatches = 20;  // training batches to re-estimate BN statistics

// The exchange of the NoSync algorithm (DESIGN.md §2) for one particle.
class NoSyncExchange {
 public:
  NoSyncExchange(const WorkerSetup& setup, train::Trainer& trainer, comm::Transport& transport)
      : options_(setup.swarm),
        self_(setup.particle),
        trainer_(trainer),
        transport_(transport),
        seed_(static_cast<uint64_t>(setup.train.seed) * 0x9E3779B97F4A7C15ULL + 0x5157ULL),
        attractor_(torch::empty_like(trainer.flat_params())),
        own_(attractor_) {
    if (options_.attractor == "pso") pbest_ = trainer.flat_params().clone();
  }

  // What the last exchange multiplied the optimizer momentum by (1 = untouched).
  double momentum_factor() const { return momentum_factor_; }

  // Returns the metrics record of this exchange. `evaluate_fitness` gives the fitness of the
  // current weights (it must not change them).
  nlohmann::json exchange(int64_t step, const std::function<double()>& evaluate_fitness, double progress,
                          Recorder& recorder, bool& respawned) {
    torch::Tensor& x = trainer_.flat_params();
    momentum_factor_ = 1;
    // The snapshot is taken while its fitness is evaluated: the MPI transport copies it on its
    // communication thread meanwhile, so the training thread does not wait for a model-sized copy.
    transport_.stage(x);
    double fitness = evaluate_fitness();
    const bool finite = std::isfinite(fitness) && all_finite(x);
    if (!finite) fitness = std::numeric_limits<double>::infinity();
    last_fitness_ = fitness;
    last_step_ = step;
    transport_.publish_staged(fitness, step);
    if (options_.attractor == "pso" && finite && fitness < pbest_fitness_) {
      pbest_fitness_ = fitness;
      pbest_.copy_(x);
    }
    if (options_.deterministic) transport_.barrier();  // everyone has published this step

    const auto view = transport_.headers();
    const double rho = rho_at(options_, progress);
    // r is a function of (seed, step), not a stream: a resumed particle draws the same values.
    std::mt19937_64 rng(seed_ ^ (static_cast<uint64_t>(step) * 0xD1B54A32D192ED03ULL));
    const double r = options_.random_r ? std::uniform_real_distribution<double>(0, 1)(rng) : 1.0;
    nlohmann::json rec = {{"event", "exchange"}, {"particle", self_}, {"step", step}, {"fitness", fitness},
                          {"rho", rho}, {"r", r}};

    int target = -1;
    int64_t published_step = step;
    if (options_.attractor == "mean") {
      published_step = swarm_mean(view);
      target = published_step >= 0 ? -2 : -1;  // the mean is a point of its own
      if (published_step < 0) published_step = step;
    } else {
      target = options_.attractor == "lbest" ? best_in_neighbourhood(view, self_, static_cast<int>(options_.lbest_k))
                                             : best_particle(view);
      // Across processes without a copy (the MPI transport lends its received snapshot:
      // attractor_ is then read-only until the next exchange); locally into our own buffer.
      if (target >= 0 && target != self_) {
        if (transport_.remote()) {
          published_step = transport_.fetch_shared(target, x, attractor_).step;
        } else {
          attractor_ = own_;
          published_step = transport_.fetch(target, attractor_).step;
        }
      }
    }
    rec["attractor"] = target == -2 ? nlohmann::json("mean") : nlohmann::json(target);
    rec["staleness"] = step - published_step;
    respawned = false;

    const bool have_point = target == -2 || (target >= 0 && target != self_);
    if (!finite) {
      // A diverged particle is re-spawned from the attractor (or stays put if nobody is usable).
      if (have_point) {
        x.copy_(attractor_);
        trainer_.scale_momentum(0);
        momentum_factor_ = 0;
        respawned = true;
        recorder.warn(fmt::format("particle {} has non-finite loss or weights at step {}: re-spawned from {}",
                                  self_, step, rec["attractor"].dump()));
      }
      rec["respawned"] = respawned;
      if (options_.deterministic) transport_.barrier();
      return rec;
    }
    if (have_point) {
      rec["distance"] = (attractor_ - x).norm().item<double>();
      const double coeff = rho * r;
      if (options_.attractor == "pso") {
        const double r2 = options_.random_r ? std::uniform_real_distribution<double>(0, 1)(rng) : 1.0;
        pso_pull(x, pbest_, attractor_, options_.c1 * r * rho, options_.c2 * r2 * rho);
      } else {
        pull(x, attractor_, coeff);
      }
      if (options_.momentum_on_pull == "reset") momentum_factor_ = 0;
      else if (options_.momentum_on_pull == "scale") momentum_factor_ = 1 - coeff;
      if (momentum_factor_ != 1) trainer_.scale_momentum(momentum_factor_);
      if (options_.attractor == "mean" && coeff > 0 && train::has_batchnorm(*trainer_.net()))
        train::recompute_batchnorm(*trainer_.net(), const_cast<data::BatchLoader&>(trainer_.loader()),
                                   kBatchNormBatches);
    } else {
      rec["distance"] = 0.0;  // this particle is the attractor: it is not pulled
    }
    if (options_.deterministic) transport_.barrier();  // nobody publishes again before all have read
    return rec;
  }

  // The exchange's own state for checkpoints: the pso personal best.
  void save(train::CheckpointContent& ck) const {
    if (!pbest_.defined()) return;
    ck.optimizer.emplace_back("swarm.pbest", pbest_.clone());
    ck.state["pbest_fitness"] = std::isfinite(pbest_fitness_) ? nlohmann::json(pbest_fitness_) : nlohmann::json();
  }
  void restore(const torch::Tensor& pbest, const nlohmann::json& state) {
    if (!pbest_.defined() || !pbest.defined()) return;
    NOSYNC_CHECK(pbest.numel() == pbest_.numel(), "pbest of {} values, model of {}", pbest.numel(), pbest_.numel());
    pbest_.copy_(pbest.reshape({-1}));
    const auto& f = state.value("pbest_fitness", nlohmann::json());
    pbest_fitness_ = f.is_number() ? f.get<double>() : std::numeric_limits<double>::infinity();
  }

 private:
  // Mean of every valid, finite published snapshot into attractor_; returns the oldest step used,
  // or -1 when no particle is usable.
  int64_t swarm_mean(const std::vector<comm::Header>& view) {
    attractor_ = own_;  // written below: never a snapshot lent by fetch_shared
    if (transport_.remote()) return swarm_mean_collective();
    attractor_.zero_();
    if (!scratch_.defined()) scratch_ = torch::empty_like(attractor_);
    int used = 0;
    int64_t oldest = std::numeric_limits<int64_t>::max();
    for (const auto& h : view) {
      if (!h.valid() || !std::isfinite(h.fitness)) continue;
      const auto got = transport_.fetch(h.particle, scratch_);
      attractor_.add_(scratch_);
      oldest = std::min(oldest, got.step);
      ++used;
    }
    NOSYNC_CHECK(used > 0, "mean attractor with no valid particle (self just published)");
    attractor_.div_(used);
    return oldest;
  }

  // Across processes, fetching every particle would move O(particles x model) bytes per
  // exchange: the mean is one all-reduce of [x, 1] over the finite particles instead (every
  // particle exchanges at the same step, so the call is collective; the mean is never stale).
  int64_t swarm_mean_collective() {
    const torch::Tensor& x = trainer_.flat_params();
    const int64_t numel = x.numel();
    if (!scratch_.defined()) scratch_ = torch::empty({numel + 1}, x.options());
    const bool usable = all_finite(x) && std::isfinite(last_fitness_);
    if (usable) {
      scratch_.narrow(0, 0, numel).copy_(x);
      scratch_[numel] = 1.0f;
    } else {
      scratch_.zero_();
    }
    transport_.allreduce_sum(scratch_);
    const float used = scratch_[numel].item<float>();
    if (used < 1) return -1;
    attractor_.copy_(scratch_.narrow(0, 0, numel));
    attractor_.div_(used);
    return last_step_;
  }

  const SwarmOptions& options_;
  int self_;
  train::Trainer& trainer_;
  comm::Transport& transport_;
  uint64_t seed_;
  torch::Tensor attractor_;  // the point pulled toward; may be a read-only snapshot of the transport
  torch::Tensor own_;        // our buffer for the attractor (mean, local fetch)
  torch::Tensor scratch_, pbest_;
  double pbest_fitness_ = std::numeric_limits<double>::infinity();
  double last_fitness_ = std::numeric_limits<double>::infinity();  // of this exchange
  double momentum_factor_ = 1;  // what the last exchange multiplied the momentum by
  int64_t last_step_ = 0;
};

// Mean distance to their centroid of the snapshots the swarm has published (exploration).
double published_diversity(comm::Transport& transport, const torch::Tensor& like) {
  std::vector<torch::Tensor> points;
  for (const auto& h : transport.headers()) {
    if (!h.valid()) continue;
    torch::Tensor t = torch::empty_like(like);
    if (transport.fetch(h.particle, t).valid() && all_finite(t)) points.push_back(std::move(t));
  }
  return diversity(points);
}

}  // namespace

WorkerResult run_worker(const WorkerSetup& setup, models::Net net, const data::Splits& splits,
                        comm::Transport& transport, Recorder& recorder) {
  const auto& opt = setup.train;
  const auto& sw = setup.swarm;
  const int n = transport.particles();
  data::LoaderOptions loader = train::training_loader_options(setup.data, opt);
  if (sw.shard) {
    loader.shard_index = setup.particle;
    loader.shard_count = n;
  }
  const int64_t total = train::total_steps(opt, splits.train.size() / (sw.shard ? n : 1));
  train::Trainer trainer(std::move(net), opt, splits.train, splits.norm, loader, total);
  const int64_t steps_per_epoch = trainer.loader().batches_per_epoch();
  const int64_t fitness_n = std::min(sw.fitness_samples, splits.val.size());
  const train::Evaluator fitness_eval(splits.val.slice(0, fitness_n), splits.norm);
  const int64_t checkpoint_every = setup.checkpoint.every > 0 ? setup.checkpoint.every : steps_per_epoch;
  const int64_t eval_every = opt.eval_every > 0 ? opt.eval_every : steps_per_epoch;
  const train::Evaluator val_eval(splits.val, splits.norm), test_eval(splits.test, splits.norm);
  const std::string checkpoints_dir = fmt::format("{}/checkpoints/particle-{}", setup.run_dir, setup.particle);

  std::unique_ptr<NoSyncExchange> nosync;
  if (sw.algo == "nosync") nosync = std::make_unique<NoSyncExchange>(setup, trainer, transport);
  torch::Tensor center;  // easgd
  if (sw.algo == "easgd") center = trainer.flat_params().clone();
  comm::Transport* group = setup.group;
  const bool leader = group == nullptr || setup.group_leader;
  torch::Tensor group_buffer;  // hybrid: [weights, momentum factor], from the leader to its group
  if (group != nullptr) {
    const int g = group->particles();
    trainer.set_gradient_hook([&trainer, group, g] {
      group->allreduce_sum(trainer.flat_grads());
      trainer.flat_grads().div_(g);
    });
    group_buffer = torch::empty({trainer.flat_params().numel() + 1}, torch::kFloat);
  }
  if (sw.algo == "sync") {
    if (sw.sync_scale_lr) trainer.set_lr_multiplier(n);
    trainer.set_gradient_hook([&trainer, &transport, n] {
      transport.allreduce_sum(trainer.flat_grads());
      trainer.flat_grads().div_(n);
    });
  }

  auto save_checkpoint = [&](int64_t step) {
    train::CheckpointContent ck;
    ck.model = trainer.model_state();
    ck.optimizer = trainer.optimizer_state();
    ck.state = {{"trainer", trainer.progress_state()}, {"particle", setup.particle}, {"algo", sw.algo}};
    if (center.defined()) ck.optimizer.emplace_back("swarm.easgd_center", center.clone());
    if (nosync) nosync->save(ck);
    ck.config_toml = setup.config_toml;
    train::write_checkpoint(checkpoints_dir, step, ck, static_cast<int>(setup.checkpoint.keep));
  };

  if (setup.resume) {
    const auto& ck = *setup.resume;
    train::TensorList optimizer;
    torch::Tensor saved_center, saved_pbest;
    for (const auto& [name, t] : ck.optimizer) {
      if (name == "swarm.easgd_center") saved_center = t;
      else if (name == "swarm.pbest") saved_pbest = t;
      else optimizer.emplace_back(name, t);
    }
    trainer.restore(ck.model, optimizer, ck.state.at("trainer"));
    if (center.defined())  // a checkpoint without the center (e.g. a spawned particle): restart it here
      center.copy_(saved_center.defined() ? saved_center.reshape({-1}) : trainer.flat_params());
    if (nosync) nosync->restore(saved_pbest, ck.state);
    const int from = ck.state.value("particle", setup.particle);
    recorder.record({{"event", "resume"}, {"particle", setup.particle}, {"step", trainer.steps_done()}, {"from", from}});
    // Continuing another particle's checkpoint (a new particle, or a smaller swarm keeping the
    // best): this particle's directory gets its starting point at once, so that the run can be
    // resumed with its new size even before the next checkpoint is due. (Every launcher has read
    // all resume checkpoints before any worker starts.)
    if (from != setup.particle && leader) save_checkpoint(trainer.steps_done());
  }

  double nan_after = -1, slow_factor = 1;
  int64_t throw_after = -1;
  for (const auto& f : active_faults(sw.fault)) {
    if (f.particle != setup.particle) continue;
    if (f.kind == "nan") nan_after = static_cast<double>(f.step);
    if (f.kind == "throw") throw_after = f.step;
    if (f.kind == "slow") slow_factor = f.factor;
  }

  WorkerResult result;
  result.particle = setup.particle;
  const auto start = Clock::now();
  // nosync may exchange on a clock instead of a step count: a slow particle then still exchanges
  // as often in wall time as a fast one (its steps are longer, its pulls are not rarer).
  const bool by_clock = sw.period_s > 0;
  NOSYNC_CHECK(!by_clock || (sw.algo == "nosync" && !sw.deterministic), "swarm.period_s needs nosync, not deterministic");
  auto last_exchange = start;
  double loss_ema = std::numeric_limits<double>::quiet_NaN();
  double window_loss = 0, window_s = 0;
  int64_t window_steps = 0;
  train::Progress p;
  p.total_steps = total;
  int checkpoint_requests_seen = setup.control ? setup.control->checkpoint_requests.load() : 0;
  while (trainer.steps_done() < total) {
    const auto t0 = Clock::now();
    const float loss = trainer.step();
    if (slow_factor > 1)  // injected straggler: stretch this step to factor x its time
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds_since(t0) * (slow_factor - 1)));
    if (nan_after >= 0 && trainer.steps_done() == static_cast<int64_t>(nan_after)) {
      trainer.flat_params().fill_(std::numeric_limits<float>::quiet_NaN());
      recorder.warn(fmt::format("fault injected: particle {} weights set to NaN after step {}", setup.particle,
                                trainer.steps_done()));
    }
    const double dt = seconds_since(t0);
    result.train_s += dt;
    const int64_t step = trainer.steps_done();
    loss_ema = !std::isfinite(loss_ema) || !std::isfinite(loss) ? loss : 0.9 * loss_ema + 0.1 * loss;
    window_loss += loss;
    window_s += dt;
    ++window_steps;
    p.step = step;
    p.epoch = static_cast<double>(step) / steps_per_epoch;
    p.lr = trainer.lr();
    p.elapsed_s = seconds_since(start);
    p.train_loss = window_loss / window_steps;
    p.samples_per_s = window_s > 0 ? window_steps * opt.batch_size / window_s : 0;
    recorder.progress(setup.particle, p);
    if (step % opt.log_every == 0 || step == total) {
      recorder.record({{"event", "train"}, {"particle", setup.particle}, {"step", step}, {"epoch", p.epoch},
                       {"wall_s", p.elapsed_s}, {"train_loss", p.train_loss}, {"lr", p.lr},
                       {"samples_per_s", p.samples_per_s}});
      window_loss = window_s = 0;
      window_steps = 0;
    }
    if (sw.algo == "single" || sw.algo == "sync") {
      if (!std::isfinite(loss))
        throw UserError(fmt::format("training diverged: loss is {} at step {} (particle {})", loss, step,
                                    setup.particle),
                        "lower train.lr or add train.warmup_steps");
    } else if (step < total && (by_clock ? seconds_since(last_exchange) >= sw.period_s : step % sw.tau == 0)) {
      const auto e0 = Clock::now();
      last_exchange = e0;
      nlohmann::json rec;
      if (sw.algo == "nosync" && !leader) {
        rec = {{"event", "group_sync"}, {"particle", setup.particle}, {"step", step}};
      } else if (sw.algo == "nosync") {
        const auto fitness = [&] {
          return sw.fitness == "train_ema" ? loss_ema : fitness_eval.run(*trainer.net()).loss;
        };
        bool respawned = false;
        rec = nosync->exchange(step, fitness, static_cast<double>(step) / total, recorder, respawned);
        result.respawns += respawned;
      } else if (sw.algo == "local-sgd") {
        transport.publish(trainer.flat_params(), loss_ema, step);  // for the diversity record
        transport.allreduce_sum(trainer.flat_params());
        trainer.flat_params().div_(n);
        rec = {{"event", "exchange"}, {"particle", setup.particle}, {"step", step}, {"attractor", "average"}};
      } else {  // easgd, synchronous form (Zhang et al. 2015, eq. 5-6)
        torch::NoGradGuard no_grad;
        transport.publish(trainer.flat_params(), loss_ema, step);
        auto diff = trainer.flat_params() - center;
        trainer.flat_params().sub_(diff, sw.easgd_alpha);
        transport.allreduce_sum(diff);
        center.add_(diff, sw.easgd_alpha);
        rec = {{"event", "exchange"}, {"particle", setup.particle}, {"step", step}, {"attractor", "center"},
               {"distance", (trainer.flat_params() - center).norm().item<double>()}};
      }
      if (group != nullptr) {
        // The leader's weights after its exchange, and what it did to its momentum, to every
        // member (the others contribute zeros, so the sum is exactly the leader's values).
        const int64_t numel = trainer.flat_params().numel();
        if (leader) {
          group_buffer.narrow(0, 0, numel).copy_(trainer.flat_params());
          group_buffer[numel] = static_cast<float>(nosync ? nosync->momentum_factor() : 1.0);
        } else {
          group_buffer.zero_();
        }
        group->allreduce_sum(group_buffer);
        if (!leader) {
          trainer.flat_params().copy_(group_buffer.narrow(0, 0, numel));
          const double factor = group_buffer[numel].item<double>();
          if (factor != 1) trainer.scale_momentum(factor);
        }
      }
      const double ex_s = seconds_since(e0);
      result.exchange_s += ex_s;
      ++result.exchanges;
      rec["exchange_ms"] = 1e3 * ex_s;
      rec["wall_s"] = seconds_since(start);
      recorder.record(rec);
      if (setup.particle == 0 && leader && !transport.remote()) {  // remote: fetching all would cost O(n x model)
        recorder.record({{"event", "swarm"}, {"step", step}, {"wall_s", seconds_since(start)},
                         {"diversity", published_diversity(transport, trainer.flat_params())}});
      }
    }
    if (leader && (step % eval_every == 0 || step == total)) {
      const auto val = val_eval.run(*trainer.net());
      const auto test = test_eval.run(*trainer.net());
      recorder.record({{"event", "eval"}, {"particle", setup.particle}, {"step", step}, {"epoch", p.epoch},
                       {"wall_s", seconds_since(start)}, {"val_loss", val.loss}, {"val_accuracy", val.accuracy},
                       {"test_loss", test.loss}, {"test_accuracy", test.accuracy}});
      p.val = val;
      p.test = test;
      recorder.progress(setup.particle, p);
      p.val.reset();
      p.test.reset();
    }
    bool requested = false, stop = false;
    if (setup.control != nullptr) {
      const int requests = setup.control->checkpoint_requests.load();
      requested = requests != checkpoint_requests_seen;
      checkpoint_requests_seen = requests;
      stop = setup.control->stop.load();
    }
    if (leader && (step % checkpoint_every == 0 || step == total || requested || stop)) {
      save_checkpoint(step);
      if (requested || stop)
        recorder.record({{"event", "checkpoint"}, {"particle", setup.particle}, {"step", step},
                         {"reason", stop ? "stop" : "request"}});
      if (stop) throw Stopped(step);
    }
    if (step == throw_after)  // after the checkpoint of this step: what a crash leaves behind
      throw std::runtime_error(fmt::format("fault injected: particle {} throws at step {}", setup.particle, step));
  }
  result.steps = trainer.steps_done();
  return result;
}

}  // namespace nosync::swarm
