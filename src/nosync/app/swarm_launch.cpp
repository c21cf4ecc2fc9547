// Starting and ending a swarm, for every launcher.
#include "nosync/app/swarm_launch.h"

#include <algorithm>
#include <thread>

#include "nosync/swarm/final.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/model_card.h"
#include "nosync/train/speed.h"
#include "nosync/train/trainer.h"

namespace nosync::app {

int particle_count(const Config& config) {
  if (swarm::parse_algo(config.swarm.algo) == swarm::Algo::kSingle) return 1;
  if (config.swarm.particles > 0) return static_cast<int>(config.swarm.particles);
  return static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
}

Config resolve_config(const Config& config, int particles, int64_t threads) {
  Config c = config;
  if (swarm::parse_algo(c.swarm.algo) != swarm::Algo::kSingle && c.swarm.particles == 0) c.swarm.particles = particles;
  if (c.train.threads == 0) c.train.threads = threads;
  c.train.precision = train::resolved_precision(c.train);
  return c;
}

SwarmPlan plan_swarm(const Config& config, int particles) {
  SwarmPlan plan;
  plan.algo = swarm::parse_algo(config.swarm.algo);
  plan.particles = particles;
  for (int i = 0; i < particles; ++i) plan.train.push_back(particle_train_options(config, i, particles));
  return plan;
}

models::Net initial_net(const Config& config, const SwarmPlan& plan, int particle, const data::Splits& splits) {
  const bool same_start = swarm::is_collective(plan.algo);
  torch::manual_seed(static_cast<uint64_t>(config.train.seed + (same_start ? 0 : 1000003LL * particle)));
  return models::build_model_for(config.model, splits.train);
}

void check_model(const Config& config, const data::Splits& splits) {
  auto net = models::build_model_for(config.model, splits.train);
  net->set_compute(train::compute_settings(config.train, *net));
  net->train();
  const std::string origin =
      config.model.name == "torchscript" ? "model.path: " + config.model.path : "model.name: " + config.model.name;
  models::check_forward(*net, splits.train.shape(), splits.train.num_classes, origin,
                        splits.train.task == data::Task::language_model);
}

train::RunSetup run_setup(const Config& config, const std::string& run_dir, const std::string& config_toml) {
  train::RunSetup setup;
  setup.data = config.data;
  setup.train = config.train;
  setup.checkpoint = config.checkpoint;
  setup.model = config.model;
  setup.run_dir = run_dir;
  setup.config_toml = config_toml;
  return setup;
}

swarm::WorkerSetup worker_setup(const Config& config, const SwarmPlan& plan, int particle, int stream,
                                const std::string& run_dir, const std::string& config_toml, int64_t threads) {
  swarm::WorkerSetup setup;
  setup.particle = particle;
  setup.swarm = config.swarm;
  setup.run = run_setup(config, run_dir, config_toml);
  setup.run.train = plan.train[particle];
  setup.run.train.seed = plan.train[particle].seed + stream;  // each worker its own data stream
  setup.threads = threads;
  return setup;
}

train::RunSummary summarize_swarm(const Config& config, const SwarmPlan& plan, const std::vector<models::Net>& nets,
                                  const std::vector<swarm::WorkerResult>& results, const data::Splits& splits,
                                  const std::string& run_dir, const std::string& config_toml, double wall_s,
                                  int64_t threads_total, std::optional<train::RunSummary::Mpi> mpi) {
  const int n = static_cast<int>(nets.size());
  const auto final = swarm::evaluate_final(nets, config.model, splits, static_cast<uint64_t>(config.train.seed));

  // The average model is saved as a checkpoint of its own, loadable by `nosync eval`.
  train::CheckpointContent ck;
  ck.model = train::model_state(*final.average_net);
  ck.state = {{"trainer", {{"step", results[0].steps}}},
              {"model", "swarm-average"},
              {train::kModelCardKey, train::model_card(config.model, config.data, splits, final.average_net->compute())}};
  ck.config_toml = config_toml;
  train::write_checkpoint(run_dir + "/checkpoints/average", results[0].steps, ck, 1);

  const int64_t batches_per_step = mpi ? mpi->group_size : 1;
  int64_t samples = 0;
  double exchange_s = 0;
  int64_t respawns = 0;
  for (const auto& r : results) {
    samples += r.steps * plan.train[r.particle].batch_size * batches_per_step;
    exchange_s += r.exchange_s;
    respawns += r.respawns;
  }
  train::RunSummary s;
  s.algo = config.swarm.algo;
  s.model = config.model.name;
  s.parameters = models::parameter_count(*nets[0]);
  s.test = final.best;  // the headline: the best particle
  s.val = final.particles_val[final.best_particle];
  s.steps = results[0].steps;
  s.samples = samples;
  s.wall_s = wall_s;
  // Every rate from one wall-clock window, the run's: per-particle rates summed over windows that
  // do not overlap (a particle trains while another evaluates) claimed up to 40x what was done.
  s.samples_per_s = wall_s > 0 ? samples / wall_s : 0;
  s.speed = train::speed_summary(config.train, models::training_flops_per_sample(*nets[0], splits.train.shape()),
                                 s.samples_per_s, train::cores_used(threads_total));
  train::RunSummary::Swarm sw;
  sw.particles = n;
  sw.best_particle = final.best_particle;
  sw.best = final.best;
  sw.average = final.average;
  sw.ensemble = final.ensemble;
  sw.final_diversity = final.diversity;
  sw.exchange_s_per_particle = exchange_s / n;
  sw.respawns = respawns;
  s.swarm = sw;
  s.mpi = mpi;
  s.write(run_dir);
  return s;
}

}  // namespace nosync::app
