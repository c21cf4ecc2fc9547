// The step loop (see step_loop.h for the order of one step).
#include "nosync/train/step_loop.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>

#include "nosync/util/clock.h"
#include "nosync/util/error.h"

namespace nosync::train {

namespace {

using util::Clock;
using util::seconds_since;

// Checkpoint tensors that are not the optimizer's: the process's random generator, and the
// state of a hook (swarm.*).
const char* kRngKey = "_rng.cpu_generator";
bool is_hook_tensor(const std::string& name) { return name.rfind("swarm.", 0) == 0; }

// Mean training loss and samples/s over the steps since the last train record.
struct LogWindow {
  double loss = 0, seconds = 0;
  int64_t steps = 0;
  void add(float step_loss, double step_s) {
    loss += step_loss;
    seconds += step_s;
    ++steps;
  }
  double mean_loss() const { return steps > 0 ? loss / steps : 0; }
  double samples_per_s(int64_t batch) const { return seconds > 0 ? steps * batch / seconds : 0; }
  void reset() { *this = LogWindow(); }
};

}  // namespace

LoopResult run_loop(const LoopSetup& setup, Trainer& trainer, const Evaluator& val, const Evaluator& test,
                    EventSink& sink, StepHook* hook) {
  const auto& opt = setup.train;
  StepHook no_hook;
  StepHook& h = hook != nullptr ? *hook : no_hook;
  const int64_t total = trainer.total_steps();
  const int64_t steps_per_epoch = trainer.loader().batches_per_epoch();
  const int64_t eval_every = opt.eval_every > 0 ? opt.eval_every : steps_per_epoch;
  const int64_t checkpoint_every = setup.checkpoint.every > 0 ? setup.checkpoint.every : steps_per_epoch;
  const int64_t log_every = std::max<int64_t>(1, opt.log_every);
  if (setup.leader) std::filesystem::create_directories(setup.checkpoints_dir);

  const auto start = Clock::now();
  double wall_offset = 0, train_s_offset = 0, train_s = 0;
  LoopResult result;
  int64_t evaluated_step = -1;  // the step result.val belongs to

  auto save_checkpoint = [&](int64_t step, const char* reason) {
    CheckpointContent ck;
    ck.model = trainer.model_state();
    ck.optimizer = trainer.optimizer_state();
    if (setup.owns_global_rng) ck.optimizer.emplace_back(kRngKey, at::detail::getDefaultCPUGenerator().get_state());
    ck.state = setup.state;
    ck.state["trainer"] = trainer.progress_state();
    ck.state["wall_s"] = wall_offset + seconds_since(start);
    ck.state["train_s"] = train_s_offset + train_s;
    // The fitness of these weights: `nosync eval` picks a swarm's best particle by it
    // (app/eval_target.h) and checkpoint.keep_best the checkpoints to keep. Evaluated here only
    // when keep_best needs it and this step had no evaluation.
    if (evaluated_step == step) ck.state["val_loss"] = result.val.loss;
    else if (setup.checkpoint.keep_best > 0) ck.state["val_loss"] = val.run(*trainer.net()).loss;
    h.save(ck);
    ck.config_toml = setup.config_toml;
    const std::string dir =
        write_checkpoint(setup.checkpoints_dir, step, ck, static_cast<int>(setup.checkpoint.keep),
                         static_cast<int>(setup.checkpoint.keep_best));
    result.last_checkpoint = dir;
    sink.checkpointed({setup.particle, step, dir, reason});
  };

  if (setup.resume) {
    const CheckpointContent& ck = *setup.resume;
    TensorList optimizer;
    for (const auto& [name, t] : ck.optimizer) {
      if (name == kRngKey) {
        if (setup.owns_global_rng) {
          auto generator = at::detail::getDefaultCPUGenerator();
          generator.set_state(t);
        }
      } else if (!is_hook_tensor(name)) {
        optimizer.emplace_back(name, t);
      }
    }
    trainer.restore(ck.model, optimizer, ck.state.at("trainer"));
    h.restore(ck);
    wall_offset = ck.state.value("wall_s", 0.0);
    train_s_offset = ck.state.value("train_s", 0.0);
    const int from = setup.particle >= 0 ? ck.state.value("particle", setup.particle) : -1;
    sink.resumed({setup.particle, trainer.steps_done(), from, setup.resume_dir});
    // Continuing another particle's checkpoint (a new particle, or a smaller swarm keeping the
    // best): this particle's directory gets its starting point at once, so that the run can be
    // resumed with its new size before the next checkpoint is due. (Every launcher has read all
    // resume checkpoints before any worker starts.)
    if (from != setup.particle && setup.leader) save_checkpoint(trainer.steps_done(), "resume");
  }

  sink.started({setup.particle, total, steps_per_epoch, models::parameter_count(*trainer.net())});
  RunControl* control = setup.control;
  int requests_seen = control != nullptr ? control->checkpoint_requests.load() : 0;
  bool evaluated = false;
  LogWindow window;
  StepEvent p;
  p.particle = setup.particle;
  p.total_steps = total;

  while (trainer.steps_done() < total) {
    const auto t0 = Clock::now();
    const float loss = trainer.step();
    const int64_t step = trainer.steps_done();
    h.after_optimizer_step(step, seconds_since(t0));
    const double dt = seconds_since(t0);
    train_s += dt;
    if (!std::isfinite(loss) && !h.tolerates_divergence())
      throw UserError(fmt::format("training diverged: loss is {} at step {}{}", loss, step,
                                  setup.particle >= 0 ? fmt::format(" (particle {})", setup.particle) : ""),
                      "lower train.lr or add train.warmup_steps; the last checkpoint is intact");
    window.add(loss, dt);
    p.step = step;
    p.epoch = static_cast<double>(step) / steps_per_epoch;
    p.lr = trainer.lr();
    p.elapsed_s = wall_offset + seconds_since(start);
    p.train_loss = window.mean_loss();
    p.samples_per_s = window.samples_per_s(opt.batch_size);
    sink.stepped(p);
    if (step % log_every == 0 || step == total) {
      sink.logged(p);
      window.reset();
    }

    h.after_step(step, loss);

    if (setup.leader && (step % eval_every == 0 || step == total)) {
      result.val = val.run(*trainer.net());
      result.test = test.run(*trainer.net());
      evaluated = true;
      evaluated_step = step;
      sink.evaluated({setup.particle, step, p.epoch, p.lr, wall_offset + seconds_since(start), result.val, result.test});
    }
    bool requested = false;
    bool stop = sink.should_stop();
    if (control != nullptr) {
      const int requests = control->checkpoint_requests.load();
      requested = requests != requests_seen;
      requests_seen = requests;
      stop = stop || control->stop.load();
    }
    if (setup.leader && (step % checkpoint_every == 0 || step == total || stop || requested))
      save_checkpoint(step, stop ? "stop" : requested ? "request" : "schedule");
    if (stop) {
      result.stopped = true;
      break;
    }
    h.end_of_step(step);
  }
  if (!evaluated && !result.stopped && setup.leader) {  // resumed a finished run: evaluate so that the result is complete
    result.val = val.run(*trainer.net());
    result.test = test.run(*trainer.net());
  }
  result.completed = trainer.steps_done() == total;
  result.steps = trainer.steps_done();
  result.wall_s = wall_offset + seconds_since(start);
  result.train_s = train_s_offset + train_s;
  return result;
}

}  // namespace nosync::train
