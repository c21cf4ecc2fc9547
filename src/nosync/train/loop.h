// The single-worker run: the step loop (step_loop.h) with no exchange, plus what a run directory
// needs around it: metrics.jsonl, checkpoints/ and summary.json. Printing is left to the sink
// passed in, so the run knows nothing of terminals.
#pragma once

#include <string>

#include "nosync/data/dataset.h"
#include "nosync/data/loader.h"
#include "nosync/models/registry.h"
#include "nosync/train/control.h"
#include "nosync/train/events.h"
#include "nosync/train/options.h"
#include "nosync/train/run_summary.h"

namespace nosync::train {

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
  bool completed = false;  // false when the sink or the control stopped the run early
  std::string last_checkpoint;  // the directory of the last checkpoint written, if any
  EvalResult val;
  EvalResult test;
  int64_t steps = 0;
  double epochs = 0;
  double wall_s = 0;
  double samples_per_s = 0;
  int64_t parameters = 0;
  RunSummary summary;  // what summary.json holds
};

// The training stream of one worker: batch size and seed from `train`, augmentation from `data`.
data::LoaderOptions training_loader_options(const data::DataOptions& data, const TrainOptions& train);

// Steps to run: train.steps, or train.epochs full epochs of the training split.
int64_t total_steps(const TrainOptions& options, int64_t train_size);

// Trains; `sink` receives every event (metrics.jsonl is written here, whatever the sink does).
RunResult run_single(const RunSetup& setup, const data::Splits& splits, EventSink& sink);

}  // namespace nosync::train
