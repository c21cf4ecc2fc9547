// One particle's run: the step loop with its algorithm's exchange every tau steps (or every
// swarm.period_s seconds), the diversity record, and the particle faults of swarm.fault.
#include "nosync/swarm/worker.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <thread>

#include "nosync/swarm/algo.h"
#include "nosync/swarm/algorithm.h"
#include "nosync/swarm/exchange.h"
#include "nosync/swarm/fault.h"
#include "nosync/swarm/group.h"
#include "nosync/train/loop.h"
#include "nosync/train/model_card.h"
#include "nosync/train/step_loop.h"
#include "nosync/util/clock.h"
#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {

using util::Clock;
using util::seconds_since;

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

// The particle faults of swarm.fault / NOSYNC_FAULT (fault.h) that concern `particle`.
struct ParticleFaults {
  int64_t nan_after = -1, throw_after = -1;
  double slow_factor = 1;
  ParticleFaults(const std::string& spec, int particle) {
    for (const auto& f : active_faults(spec)) {
      if (f.particle != particle) continue;
      if (f.kind == "nan") nan_after = f.step;
      if (f.kind == "throw") throw_after = f.step;
      if (f.kind == "slow") slow_factor = f.factor;
    }
  }
};

// The swarm's part of a particle's step loop.
class ParticleHook final : public train::StepHook {
 public:
  ParticleHook(const WorkerSetup& setup, train::Trainer& trainer, std::unique_ptr<Exchange> exchange,
               comm::Transport& transport, const train::Evaluator& fitness_eval, train::EventSink& sink)
      : setup_(setup),
        trainer_(trainer),
        exchange_(std::move(exchange)),
        transport_(transport),
        fitness_eval_(fitness_eval),
        sink_(sink),
        faults_(setup.swarm.fault, setup.particle),
        by_clock_(setup.swarm.period_s > 0),
        start_(Clock::now()),
        last_exchange_(start_) {}

  bool tolerates_divergence() const override { return exchange_->tolerates_divergence(); }

  void after_optimizer_step(int64_t step, double step_s) override {
    if (faults_.slow_factor > 1)  // injected straggler: stretch this step to factor x its time
      std::this_thread::sleep_for(std::chrono::duration<double>(step_s * (faults_.slow_factor - 1)));
    if (step == faults_.nan_after) {
      trainer_.flat_params().fill_(std::numeric_limits<float>::quiet_NaN());
      sink_.warn(fmt::format("fault injected: particle {} weights set to NaN after step {}", setup_.particle, step));
    }
  }

  void after_step(int64_t step, float loss) override {
    loss_ema_ = !std::isfinite(loss_ema_) || !std::isfinite(loss) ? loss : 0.9 * loss_ema_ + 0.1 * loss;
    const SwarmOptions& sw = setup_.swarm;
    if (!exchange_->periodic() || step >= trainer_.total_steps()) return;
    if (by_clock_ ? seconds_since(last_exchange_) < sw.period_s : step % sw.tau != 0) return;
    const auto e0 = Clock::now();
    last_exchange_ = e0;
    ExchangeInput in;
    in.step = step;
    in.progress = static_cast<double>(step) / trainer_.total_steps();
    in.loss_ema = loss_ema_;
    in.fitness = [&] { return sw.fitness == "train_ema" ? loss_ema_ : fitness_eval_.run(*trainer_.net()).loss; };
    nlohmann::json rec = {{"event", "exchange"}, {"particle", setup_.particle}, {"step", step}};
    rec.update(exchange_->exchange(in));
    const double ex_s = seconds_since(e0);
    exchange_s_ += ex_s;
    ++exchanges_;
    rec["exchange_ms"] = 1e3 * ex_s;
    rec["wall_s"] = seconds_since(start_);
    sink_.record(rec);
    if (setup_.particle == 0 && setup_.group_leader)
      sink_.record({{"event", "swarm"}, {"step", step}, {"wall_s", seconds_since(start_)},
                    {"diversity", published_diversity(transport_, trainer_.flat_params())}});
  }

  void end_of_step(int64_t step) override {
    if (step == faults_.throw_after)  // after the checkpoint of this step: what a crash leaves behind
      throw std::runtime_error(fmt::format("fault injected: particle {} throws at step {}", setup_.particle, step));
  }

  void save(train::CheckpointContent& ck) const override { exchange_->save(ck); }
  void restore(const train::CheckpointContent& ck) override { exchange_->restore(ck); }

  double exchange_s() const { return exchange_s_; }
  int64_t exchanges() const { return exchanges_; }
  int64_t respawns() const { return exchange_->respawns(); }

 private:
  const WorkerSetup& setup_;
  train::Trainer& trainer_;
  std::unique_ptr<Exchange> exchange_;
  comm::Transport& transport_;
  const train::Evaluator& fitness_eval_;
  train::EventSink& sink_;
  const ParticleFaults faults_;
  const bool by_clock_;  // nosync may exchange on a clock: a slow particle then pulls as often in wall time
  const Clock::time_point start_;
  Clock::time_point last_exchange_;
  double loss_ema_ = std::numeric_limits<double>::quiet_NaN();
  double exchange_s_ = 0;
  int64_t exchanges_ = 0;
};

}  // namespace

WorkerResult run_worker(const WorkerSetup& setup, models::Net net, const data::Splits& splits,
                        comm::Transport& transport, train::EventSink& sink) {
  const auto& opt = setup.run.train;
  const auto& sw = setup.swarm;
  const Algo algo = parse_algo(sw.algo);
  NOSYNC_CHECK(algo != Algo::kSingle, "run_worker needs a swarm algorithm, not single");
  NOSYNC_CHECK(sw.period_s <= 0 || (algo == Algo::kNoSync && !sw.deterministic),
               "swarm.period_s needs nosync, not deterministic");
  const int n = transport.particles();
  data::LoaderOptions loader = train::training_loader_options(setup.run.data, opt);
  if (sw.shard) {
    loader.shard_index = setup.particle;
    loader.shard_count = n;
  }
  const int64_t total = train::total_steps(opt, splits.train.size() / (sw.shard ? n : 1));
  train::Trainer trainer(std::move(net), opt, splits.train, splits.norm, loader, total);
  const train::Evaluator fitness_eval(splits.val.slice(0, std::min(sw.fitness_samples, splits.val.size())),
                                      splits.norm);
  const train::Evaluator val_eval(splits.val, splits.norm), test_eval(splits.test, splits.norm);

  const bool leader = setup.group == nullptr || setup.group_leader;
  std::unique_ptr<Exchange> exchange;
  if (leader)
    exchange = make_exchange(algo, ExchangeContext{setup.particle, n, sw, trainer, transport, sink,
                                                   static_cast<uint64_t>(opt.seed)});
  if (setup.group != nullptr) exchange = make_group_exchange(std::move(exchange), *setup.group, trainer);
  ParticleHook hook(setup, trainer, std::move(exchange), transport, fitness_eval, sink);

  train::LoopSetup loop;
  loop.particle = setup.particle;
  loop.train = opt;
  loop.checkpoint = setup.run.checkpoint;
  loop.checkpoints_dir = fmt::format("{}/checkpoints/particle-{}", setup.run.run_dir, setup.particle);
  loop.config_toml = setup.run.config_toml;
  loop.state = {{"particle", setup.particle},
                {"algo", sw.algo},
                {"model", setup.run.model.name},
                {train::kModelCardKey, train::model_card(setup.run.model, setup.run.data, splits, trainer.net()->compute())}};
  loop.resume = setup.resume;
  loop.resume_dir = setup.resume_dir;
  loop.leader = leader;
  loop.control = setup.run.control;
  const train::LoopResult r = train::run_loop(loop, trainer, val_eval, test_eval, sink, &hook);
  if (r.stopped) throw Stopped(r.steps);

  WorkerResult result;
  result.particle = setup.particle;
  result.steps = r.steps;
  result.train_s = r.train_s;
  result.exchange_s = hook.exchange_s();
  result.exchanges = hook.exchanges();
  result.respawns = hook.respawns();
  return result;
}

}  // namespace nosync::swarm
