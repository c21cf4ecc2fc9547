// One particle's run under any transport: the step loop (train/step_loop.h) with the exchange of
// its algorithm (swarm/exchange.h) as its hook. Knows the Transport interface only: not threads,
// not MPI.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "nosync/comm/transport.h"
#include "nosync/data/dataset.h"
#include "nosync/models/registry.h"
#include "nosync/swarm/options.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/control.h"
#include "nosync/train/events.h"
#include "nosync/train/loop.h"
#include "nosync/train/options.h"

namespace nosync::swarm {

// Thrown by run_worker after the checkpoint that RunControl::stop asked for.
class Stopped : public std::runtime_error {
 public:
  explicit Stopped(int64_t step) : std::runtime_error(fmt::format("stopped at step {} on request", step)), step(step) {}
  int64_t step;
};

struct WorkerSetup {
  int particle = 0;
  SwarmOptions swarm;
  // What a single run is given too, with this particle's train options (seed, lr, batch size may
  // differ); checkpoints go to run.run_dir/checkpoints/particle-<i>/. run.control: optional
  // checkpoint / stop on request. A worker resumes from `resume` below, not from run.resume.
  train::RunSetup run;
  int64_t threads = 1;        // intra-op threads of this particle
  // A checkpoint of this particle to continue from (swarm resume); none = a fresh start. Its
  // optimizer list may hold the algorithm's own state ("swarm.*").
  std::optional<train::CheckpointContent> resume;
  std::string resume_dir;
  // Hybrid (swarm.group_size > 1, nosync only): this particle is a data-parallel group of ranks
  // (swarm/group.h). Only the leader exchanges with the swarm (the `transport` argument; a member
  // passes its group), evaluates and writes checkpoints.
  comm::Transport* group = nullptr;
  bool group_leader = true;
};

struct WorkerResult {
  int particle = 0;
  int64_t steps = 0;
  double train_s = 0;      // seconds inside training steps (resumed parts included)
  double exchange_s = 0;   // seconds inside exchanges, on the training thread
  int64_t exchanges = 0;
  int64_t respawns = 0;
};

// Runs `net` (already initialised) as particle setup.particle; the net is trained in place.
// Throws Stopped after the checkpoint a stop request asked for.
WorkerResult run_worker(const WorkerSetup& setup, models::Net net, const data::Splits& splits,
                        comm::Transport& transport, train::EventSink& sink);

}  // namespace nosync::swarm
