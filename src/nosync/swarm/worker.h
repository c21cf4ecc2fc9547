// One particle's run under any transport: train, and every tau steps exchange with the swarm
// according to the algorithm (nosync, local-sgd, easgd) or all-reduce gradients every step
// (sync). Knows the Transport interface only: not threads, not MPI.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nosync/comm/transport.h"
#include "nosync/data/dataset.h"
#include "nosync/models/registry.h"
#include "nosync/swarm/options.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/control.h"
#include "nosync/train/loop.h"
#include "nosync/train/options.h"

namespace nosync::swarm {

// Where a particle's events go. Implementations must be thread-safe.
class Recorder {
 public:
  virtual ~Recorder() = default;
  virtual void record(const nlohmann::json& event) = 0;             // one metrics.jsonl record
  virtual void progress(int particle, const train::Progress& p) {}   // after every step
  virtual void warn(const std::string& message) = 0;
};

// Requests from outside the training thread (signal handlers), looked at after every step.
using WorkerControl = train::RunControl;

// Thrown by run_worker after the checkpoint that WorkerControl::stop asked for.
class Stopped : public std::runtime_error {
 public:
  explicit Stopped(int64_t step) : std::runtime_error(fmt::format("stopped at step {} on request", step)), step(step) {}
  int64_t step;
};

struct WorkerSetup {
  int particle = 0;
  SwarmOptions swarm;
  train::TrainOptions train;  // this particle's options (seed, lr, batch size may differ)
  train::CheckpointOptions checkpoint;
  data::DataOptions data;
  std::string run_dir;        // checkpoints go to run_dir/checkpoints/particle-<i>/
  std::string config_toml;
  int64_t threads = 1;        // intra-op threads of this particle
  // A checkpoint of this particle to continue from (swarm resume); none = a fresh start. Its
  // optimizer list may hold the swarm's own state ("swarm.*": easgd center, pso personal best).
  std::optional<train::CheckpointContent> resume;
  WorkerControl* control = nullptr;  // optional: checkpoint / stop on request
  // Hybrid (swarm.group_size > 1, nosync only): this particle is a data-parallel group of ranks.
  // `group` all-reduces the gradients of its members every step and carries the leader's weights
  // to them after every exchange. Only the leader exchanges with the swarm (the `transport`
  // argument; a member passes its group), evaluates and writes checkpoints.
  comm::Transport* group = nullptr;
  bool group_leader = true;
};

struct WorkerResult {
  int particle = 0;
  int64_t steps = 0;
  double train_s = 0;      // seconds inside training steps
  double exchange_s = 0;   // seconds inside exchanges, on the training thread
  int64_t exchanges = 0;
  int64_t respawns = 0;
};

// Runs `net` (already initialised) as particle setup.particle. The net is trained in place.
WorkerResult run_worker(const WorkerSetup& setup, models::Net net, const data::Splits& splits,
                        comm::Transport& transport, Recorder& recorder);

}  // namespace nosync::swarm
