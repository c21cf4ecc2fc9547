// Options of the swarm and of the baseline strategies (the [swarm] config section).
#pragma once

#include <cstdint>
#include <string>

namespace nosync::swarm {

struct SwarmOptions {
  std::string algo = "nosync";     // single | sync | local-sgd | easgd | diloco | nosync (algo.h)
  int64_t particles = 0;           // workers; 0 = one per core
  int64_t tau = 100;               // steps between exchanges (nosync, local-sgd, easgd, diloco: H)
  double period_s = 0;             // nosync: > 0 exchanges every period_s seconds instead of tau steps
  std::string attractor = "gbest"; // gbest | lbest | mean | pso
  std::string mean_form = "fetch"; // mean: average what was published (no waiting) | allreduce (lock-step)
  int64_t lbest_k = 1;             // lbest: neighbours on each side of the ring
  double c1 = 0.5;                 // pso: pull toward the personal best
  double c2 = 0.5;                 // pso: pull toward the global best
  std::string rho_schedule = "linear";  // constant | linear | cosine, from rho0 to rho1
  double rho0 = 0.1;
  double rho1 = 1.0;               // 1 at the end forces a single model
  bool random_r = true;            // multiply the pull by r ~ U(0,1) per exchange (seeded)
  std::string momentum_on_pull = "keep";  // keep | reset | scale (by 1 - rho*r)
  std::string fitness = "val";     // val: loss on a fixed validation subset | train_ema
  int64_t fitness_samples = 512;   // val fitness: samples of the validation split used
  bool shard = false;              // disjoint shards of the training set instead of own shuffles
  int64_t group_size = 1;          // mpi, nosync: ranks per particle (sync data-parallel inside)
  bool deterministic = false;      // exchanges in lock-step by step count (tests, debugging)
  double easgd_alpha = 0.1;        // easgd: elastic coefficient per exchange
  bool sync_scale_lr = false;      // sync: multiply lr by the number of workers
  double outer_lr = 0.7;           // diloco: learning rate of the outer Nesterov step
  double outer_momentum = 0.9;     // diloco: momentum of the outer Nesterov step
  std::string fault;               // fault injection (fault.h); NOSYNC_FAULT overrides it
  std::string overrides;           // per-particle train.* keys: "1:train.lr=0.1;2:train.batch_size=32"
};

}  // namespace nosync::swarm
