// One swarm algorithm's exchange: what a particle does every tau steps (or every step, in its
// gradient hook) to cooperate with the others. Every algorithm implements this interface in a
// file of its own under swarm/algos/ and is made by make_exchange from its parsed enum; the
// step loop (train/step_loop.h) and the transports know none of them. Algorithms only use the
// Transport interface (comm/transport.h) and never ask which transport they run on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "nosync/comm/transport.h"
#include "nosync/swarm/algo.h"
#include "nosync/swarm/options.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/events.h"
#include "nosync/train/trainer.h"

namespace nosync::swarm {

// What an exchange works with. References outlive the exchange.
struct ExchangeContext {
  int particle = 0;   // this particle's id, 0..particles-1
  int particles = 1;
  const SwarmOptions& options;
  train::Trainer& trainer;
  comm::Transport& transport;
  train::EventSink& sink;  // warnings
  uint64_t seed = 0;       // of this particle's random draws (pull factors)
};

// One exchange's inputs.
struct ExchangeInput {
  int64_t step = 0;
  double progress = 0;   // step / total steps
  double loss_ema = 0;   // exponential moving average of the training loss
  std::function<double()> fitness;  // evaluates the current weights (swarm.fitness); lower is better
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  // false: the algorithm has nothing to do every tau steps (sync works in its gradient hook).
  virtual bool periodic() const { return true; }
  // true: a non-finite training loss is the algorithm's to handle (nosync re-spawns the particle);
  // false: it ends the run.
  virtual bool tolerates_divergence() const { return true; }
  // Returns the fields of the exchange record (metrics.jsonl event "exchange"; particle, step and
  // timing are added by the caller).
  virtual nlohmann::json exchange(const ExchangeInput& in) = 0;
  // What the last exchange multiplied the optimizer momentum by (1 = untouched; the hybrid group
  // passes it on to its members).
  virtual double momentum_factor() const { return 1; }
  // Particles re-spawned so far (non-finite weights replaced by the attractor).
  virtual int64_t respawns() const { return 0; }
  // The algorithm's own checkpoint state: tensors named "swarm.<algo>...", keys of the state.
  virtual void save(train::CheckpointContent& ck) const {}
  virtual void restore(const train::CheckpointContent& ck) {}
};

// The exchange of `algo` for one particle (InternalError for single, which has none).
std::unique_ptr<Exchange> make_exchange(Algo algo, const ExchangeContext& context);

// One factory per algorithm (swarm/algos/<algo>.cpp), registered in make_exchange.
std::unique_ptr<Exchange> make_nosync_exchange(const ExchangeContext& context);
std::unique_ptr<Exchange> make_sync_exchange(const ExchangeContext& context);
std::unique_ptr<Exchange> make_local_sgd_exchange(const ExchangeContext& context);
std::unique_ptr<Exchange> make_easgd_exchange(const ExchangeContext& context);
std::unique_ptr<Exchange> make_diloco_exchange(const ExchangeContext& context);

// A named tensor of a checkpoint's optimizer list (undefined when absent).
torch::Tensor find_tensor(const train::CheckpointContent& ck, const std::string& name);

}  // namespace nosync::swarm
