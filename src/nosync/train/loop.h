// The single-worker run: train for a number of steps, evaluate, log metrics, checkpoint, resume.
// The run directory's metrics.jsonl, checkpoints/ and summary.json are written here; printing
// is left to an Observer so the loop knows nothing of terminals.
#pragma once

#include <optional>
#include <string>

#include "nosync/data/dataset.h"
#include "nosync/data/loader.h"
#include "nosync/models/registry.h"
#include "nosync/train/control.h"
#include "nosync/train/options.h"
#include "nosync/train/trainer.h"

namespace nosync::train {

struct Progress {
  int64_t step = 0;
  int64_t total_steps = 0;
  double epoch = 0;          // fractional epochs done
  double train_loss = 0;     // mean over the last log window
  double lr = 0;
  double samples_per_s = 0;  // over the last log window
  double elapsed_s = 0;
  std::optional<EvalResult> val, test;  // set on evaluation events
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_start(int64_t total_steps, int64_t steps_per_epoch, int64_t parameters) {}
  virtual void on_step(const Progress& p) {}  // after every step (cheap: called often)
  virtual void on_eval(const Progress& p) {}
  virtual void on_checkpoint(const std::string& dir) {}
  virtual void on_resume(int64_t step, const std::string& dir) {}
  // Polled after every step: true makes the loop checkpoint and return early (preemption).
  virtual bool should_stop() { return false; }
};

struct RunSetup {
  data::DataOptions data;     // augmentation options of the training stream
  TrainOptions train;
  CheckpointOptions checkpoint;
  models::ModelOptions model;
  std::string run_dir;        // metrics.jsonl, summary.json and checkpoints/ go here
  std::string config_toml;    // the effective config, stored in every checkpoint
  bool resume = false;        // continue from run_dir's latest checkpoint
  RunControl* control = nullptr;  // optional: checkpoint on request; checkpoint and return on stop
};

struct RunResult {
  bool completed = false;  // false when the observer or the control stopped the run early
  std::string last_checkpoint;  // the directory of the last checkpoint written, if any
  EvalResult val;
  EvalResult test;
  int64_t steps = 0;
  double epochs = 0;
  double wall_s = 0;
  double samples_per_s = 0;
  int64_t parameters = 0;
  nlohmann::json summary;  // what summary.json holds
};

// The training stream of one worker: batch size and seed from `train`, augmentation from `data`.
data::LoaderOptions training_loader_options(const data::DataOptions& data, const TrainOptions& train);

// Steps to run: train.steps, or train.epochs full epochs of the training split.
int64_t total_steps(const TrainOptions& options, int64_t train_size);

RunResult run_single(const RunSetup& setup, const data::Splits& splits, Observer& observer);

}  // namespace nosync::train
