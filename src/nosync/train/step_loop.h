// The one step loop of every run: a single worker is this loop with no hook; a swarm particle
// is this loop with its exchange as the hook (swarm/particle.h). The loop owns the cadence:
// the log window, evaluation, checkpoints, signals and control requests, divergence, resume.
//
// Order of one step: optimizer step -> hook.after_optimizer_step -> step event and, every
// train.log_every steps, a train record -> divergence check -> hook.after_step (the exchange) ->
// evaluation -> checkpoint (scheduled, requested, or before a stop) -> hook.end_of_step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "nosync/train/checkpoint.h"
#include "nosync/train/control.h"
#include "nosync/train/evaluator.h"
#include "nosync/train/events.h"
#include "nosync/train/options.h"
#include "nosync/train/trainer.h"

namespace nosync::train {

// What a run adds to the plain loop. Called on the training thread.
class StepHook {
 public:
  virtual ~StepHook() = default;
  // Right after the optimizer step, which took `step_s` seconds (fault injection acts here).
  virtual void after_optimizer_step(int64_t step, double step_s) {}
  // false: a non-finite training loss ends the run with a UserError; true: the hook deals with it.
  virtual bool tolerates_divergence() const { return false; }
  // After the step is logged, before evaluation and checkpoint (a swarm exchanges here).
  virtual void after_step(int64_t step, float loss) {}
  // Last thing of a step, after its checkpoint.
  virtual void end_of_step(int64_t step) {}
  // The hook's own state in checkpoints: tensors named "swarm.*", keys of the state object.
  virtual void save(CheckpointContent& ck) const {}
  virtual void restore(const CheckpointContent& ck) {}
};

struct LoopSetup {
  int particle = -1;               // -1: a single worker (records name no particle)
  TrainOptions train;              // log_every, eval_every, batch_size of this worker
  CheckpointOptions checkpoint;
  std::string checkpoints_dir;     // step-N/ directories and `latest` go here
  std::string config_toml;         // stored in every checkpoint
  nlohmann::json state = nlohmann::json::object();  // extra checkpoint state (model, algo, particle)
  std::optional<CheckpointContent> resume;  // continue from this checkpoint
  std::string resume_dir;          // where `resume` was read from (for the resume event)
  bool leader = true;              // evaluates and checkpoints (a hybrid group member does neither)
  bool owns_global_rng = false;    // the process's CPU generator belongs to this run: checkpoint it
  RunControl* control = nullptr;   // checkpoint on request; checkpoint and stop on stop
};

struct LoopResult {
  bool completed = false;  // ran every step
  bool stopped = false;    // stopped early on request (sink or control), after a checkpoint
  int64_t steps = 0;
  double wall_s = 0;       // of the whole run, resumed parts included
  double train_s = 0;      // inside optimizer steps, resumed parts included
  std::string last_checkpoint;
  EvalResult val, test;    // the last evaluation (a finished run resumed is evaluated once more)
};

// Runs `trainer` to trainer.total_steps(). `hook` may be null.
LoopResult run_loop(const LoopSetup& setup, Trainer& trainer, const Evaluator& val, const Evaluator& test,
                    EventSink& sink, StepHook* hook = nullptr);

}  // namespace nosync::train
