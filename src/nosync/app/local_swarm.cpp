// The local launcher: one thread per particle, each with its own intra-op thread count, all
// exchanging through a LocalBoard. A particle that fails aborts the board so no peer hangs.
#include "nosync/app/local_swarm.h"

#include <omp.h>

#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "nosync/comm/local_board.h"
#include "nosync/swarm/final.h"
#include "nosync/swarm/worker.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/metrics.h"
#include "nosync/train/speed.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::app {

namespace {

class SharedRecorder : public swarm::Recorder {
 public:
  SharedRecorder(const std::string& metrics_path, ConsoleObserver& console)
      : metrics_(metrics_path), console_(console) {}
  void record(const nlohmann::json& event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.write(event);
  }
  void progress(int particle, const train::Progress& p) override {
    if (particle != 0) return;  // the console follows particle 0; metrics hold everyone
    std::lock_guard<std::mutex> lock(mutex_);
    if (p.val) console_.on_eval(p);
    else console_.on_step(p);
  }
  void warn(const std::string& message) override {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.write({{"event", "warning"}, {"message", message}});
    console_.message("warning: " + message);
  }

 private:
  std::mutex mutex_;
  train::MetricsWriter metrics_;
  ConsoleObserver& console_;
};

}  // namespace

train::RunSetup single_run_setup(const Config& config, const std::string& run_dir, const std::string& config_toml,
                                 bool resume) {
  train::RunSetup setup;
  setup.data = config.data;
  setup.train = config.train;
  setup.checkpoint = config.checkpoint;
  setup.model = config.model;
  setup.run_dir = run_dir;
  setup.config_toml = config_toml;
  setup.resume = resume;
  return setup;
}

int particle_count(const Config& config) {
  if (config.swarm.algo == "single") return 1;
  if (config.swarm.particles > 0) return static_cast<int>(config.swarm.particles);
  return static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
}

nlohmann::json run_local_swarm(const Config& config, const data::Splits& splits, const std::string& run_dir,
                               const std::string& config_toml, ConsoleObserver& console) {
  const int n = particle_count(config);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<train::TrainOptions> particle_train;
  for (int i = 0; i < n; ++i) particle_train.push_back(particle_train_options(config, i, n));
  auto threads_of = [&](int i) {
    return particle_train[i].threads > 0 ? particle_train[i].threads : std::max<int64_t>(1, cores / n);
  };
  const int64_t threads = threads_of(0);
  const bool same_start = config.swarm.algo != "nosync";  // baselines start from one model

  std::vector<models::Net> nets;
  for (int i = 0; i < n; ++i) {
    torch::manual_seed(static_cast<uint64_t>(config.train.seed + (same_start ? 0 : 1000003LL * i)));
    nets.push_back(models::build_model(config.model, splits.train.shape(), splits.train.num_classes));
  }
  const int64_t numel = models::parameter_count(*nets[0]);
  comm::LocalBoard board(n, numel);
  SharedRecorder recorder(run_dir + "/metrics.jsonl", console);
  console.message(fmt::format("swarm: {} x {} particles, {} intra-op thread(s) each, {} parameters",
                              config.swarm.algo, n, threads, numel));

  std::vector<swarm::WorkerResult> results(n);
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    workers.emplace_back([&, i] {
      try {
        omp_set_num_threads(static_cast<int>(threads_of(i)));
        at::set_num_threads(static_cast<int>(threads_of(i)));
        auto transport = board.endpoint(i);
        swarm::WorkerSetup setup;
        setup.particle = i;
        setup.swarm = config.swarm;
        setup.train = particle_train[i];
        setup.train.seed = particle_train[i].seed + i;  // each particle its own data stream
        setup.checkpoint = config.checkpoint;
        setup.data = config.data;
        setup.run_dir = run_dir;
        setup.config_toml = config_toml;
        setup.threads = threads_of(i);
        results[i] = swarm::run_worker(setup, nets[i], splits, *transport, recorder);
      } catch (...) {
        errors[i] = std::current_exception();
        board.abort();  // wake any peer blocked in a collective
      }
    });
  }
  for (auto& w : workers) w.join();
  std::exception_ptr first_error;
  for (const auto& error : errors) {
    if (!error) continue;
    try {
      std::rethrow_exception(error);
    } catch (const comm::Aborted&) {
      // a consequence of another particle's failure
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  console.finish();
  console.message("evaluating best particle, swarm average and ensemble ...");
  at::set_num_threads(cores);
  const auto final = swarm::evaluate_final(nets, config.model, splits, static_cast<uint64_t>(config.train.seed));

  // The average model is saved as a checkpoint of its own, loadable by `nosync eval`.
  train::CheckpointContent ck;
  ck.model = train::model_state(*final.average_net);
  ck.state = {{"trainer", {{"step", results[0].steps}}}, {"model", "swarm-average"}};
  ck.config_toml = config_toml;
  train::write_checkpoint(run_dir + "/checkpoints/average", results[0].steps, ck, 1);

  int64_t samples = 0;
  double train_s = 0, exchange_s = 0;
  int64_t respawns = 0;
  double train_rate = 0;  // samples per second of training time, summed over particles
  int64_t threads_total = 0;
  for (const auto& r : results) {
    samples += r.steps * particle_train[r.particle].batch_size;
    if (r.train_s > 0) train_rate += r.steps * particle_train[r.particle].batch_size / r.train_s;
    threads_total += threads_of(r.particle);
    train_s = std::max(train_s, r.train_s);
    exchange_s += r.exchange_s;
    respawns += r.respawns;
  }
  nlohmann::json summary = final.to_json();
  summary["algo"] = config.swarm.algo;
  summary["particles"] = n;
  summary["model"] = config.model.name;
  summary["parameters"] = numel;
  summary["test_accuracy"] = final.best.accuracy;  // the headline: the best particle
  summary["test_loss"] = final.best.loss;
  summary["steps"] = results[0].steps;
  summary["samples"] = samples;
  summary["wall_s"] = wall_s;
  summary["samples_per_s"] = samples / wall_s;
  summary["exchange_s_per_particle"] = exchange_s / n;
  summary["respawns"] = respawns;
  summary["completed"] = true;
  summary["train_samples_per_s"] = train_rate;
  summary.update(train::speed_summary(config.train,
                                      models::training_flops_per_sample(*nets[0], splits.train.shape()),
                                      train_rate, train::cores_used(threads_total)));
  util::write_file_atomic(run_dir + "/summary.json", summary.dump(2) + "\n");
  recorder.record({{"event", "final"}, {"summary", summary}});
  return summary;
}

}  // namespace nosync::app
