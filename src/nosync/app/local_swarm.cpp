// The local launcher: one thread per particle, each with its own intra-op thread count, all
// exchanging through a LocalBoard. A particle that fails aborts the board so no peer hangs.
#include "nosync/app/local_swarm.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <set>
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

nlohmann::json summarize_swarm(const Config& config, const std::vector<models::Net>& nets,
                               const std::vector<swarm::WorkerResult>& results,
                               const std::vector<train::TrainOptions>& particle_train, const data::Splits& splits,
                               const std::string& run_dir, const std::string& config_toml, double wall_s,
                               int64_t threads_total) {
  const int n = static_cast<int>(nets.size());
  const int64_t numel = models::parameter_count(*nets[0]);
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
  for (const auto& r : results) {
    samples += r.steps * particle_train[r.particle].batch_size;
    if (r.train_s > 0) train_rate += r.steps * particle_train[r.particle].batch_size / r.train_s;
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
  return summary;
}

std::vector<ResumeSource> resume_plan(const Config& config, const data::Splits& splits, const std::string& run_dir,
                                      int saved_particles, std::vector<std::string>& notes) {
  namespace fs = std::filesystem;
  const int n = particle_count(config);
  const bool collective = config.swarm.algo != "nosync";
  auto particle_dir = [&](int i) { return fmt::format("{}/checkpoints/particle-{}", run_dir, i); };
  for (int i = 0; i < saved_particles; ++i)
    if (!fs::is_directory(particle_dir(i)))
      throw UserError(fmt::format("{}: missing: particle {} of {} has no checkpoint", particle_dir(i), i,
                                  saved_particles),
                      "the run stopped before its first checkpoint; start it again");

  std::vector<std::string> dirs;  // the checkpoint each saved particle continues from
  if (collective) {  // every worker from one step: they meet in collectives by step count
    std::set<int64_t> common;
    for (int i = 0; i < saved_particles; ++i) {
      std::set<int64_t> steps;
      for (const int64_t step : train::checkpoint_steps(particle_dir(i)))
        if (i == 0 || common.count(step)) steps.insert(step);
      common = std::move(steps);
    }
    if (common.empty())
      throw UserError(fmt::format("{}/checkpoints: the {} workers have no checkpoint step in common", run_dir,
                                  saved_particles),
                      "a collective run resumes every worker from one step; raise checkpoint.keep");
    const int64_t step = *common.rbegin();
    for (int i = 0; i < saved_particles; ++i) dirs.push_back(fmt::format("{}/step-{}", particle_dir(i), step));
    notes.push_back(fmt::format("resuming {} worker(s) of {} at step {}", n, config.swarm.algo, step));
  } else {
    for (int i = 0; i < saved_particles; ++i) dirs.push_back(train::resolve_checkpoint_dir(particle_dir(i)));
  }

  std::vector<int> order(saved_particles);  // saved particles, best first (nosync) or in order
  std::iota(order.begin(), order.end(), 0);
  if (!collective && n != saved_particles) {
    // Ranked by the fitness the swarm itself uses: loss on the fixed validation subset.
    const train::Evaluator fitness(splits.val.slice(0, std::min(config.swarm.fitness_samples, splits.val.size())),
                                   splits.norm);
    std::vector<double> loss(saved_particles);
    for (int i = 0; i < saved_particles; ++i) {
      const train::CheckpointContent ck = train::read_checkpoint(dirs[i]);
      auto net = train::load_trained_net(config.model, config.train, splits.train.shape(), splits.train.num_classes,
                                         ck.model, dirs[i]);
      loss[i] = fitness.run(*net).loss;
      if (!std::isfinite(loss[i])) loss[i] = std::numeric_limits<double>::infinity();
    }
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return loss[a] < loss[b]; });
    notes.push_back(fmt::format("resuming {} particle(s) from {} saved; best saved particle {} (fitness {:.4f})", n,
                                saved_particles, order[0], loss[order[0]]));
  }
  std::vector<ResumeSource> plan;
  for (int i = 0; i < n; ++i) {
    ResumeSource source;
    if (n <= saved_particles) {
      source.from = n == saved_particles ? i : order[i];
      if (source.from != i) notes.push_back(fmt::format("particle {} continues saved particle {}", i, source.from));
    } else if (i < saved_particles) {
      source.from = i;
    } else {  // a new particle: the best (nosync) or worker 0 (collectives), momentum reset
      source.from = collective ? 0 : order[0];
      source.spawned = true;
      notes.push_back(fmt::format("particle {} is new: spawned from saved particle {}", i, source.from));
    }
    source.dir = dirs[source.from];
    plan.push_back(std::move(source));
  }
  return plan;
}

train::CheckpointContent load_resume_point(const ResumeSource& source) {
  train::CheckpointContent ck = train::read_checkpoint(source.dir);
  if (source.spawned) {  // keep only the swarm's own state: the optimizer (momentum) starts afresh
    train::TensorList swarm_state;
    for (auto& [name, t] : ck.optimizer)
      if (name.rfind("swarm.", 0) == 0) swarm_state.emplace_back(name, t);
    ck.optimizer = std::move(swarm_state);
  }
  return ck;
}

std::vector<train::CheckpointContent> resume_points(const Config& config, const data::Splits& splits,
                                                    const std::string& run_dir, int saved_particles,
                                                    std::vector<std::string>& notes) {
  std::vector<train::CheckpointContent> points;
  for (const auto& source : resume_plan(config, splits, run_dir, saved_particles, notes))
    points.push_back(load_resume_point(source));
  return points;
}

nlohmann::json run_local_swarm(const Config& config, const data::Splits& splits, const std::string& run_dir,
                               const std::string& config_toml, ConsoleObserver& console, int resume_particles,
                               train::RunControl* control) {
  const int n = particle_count(config);
  std::vector<train::CheckpointContent> resume;
  if (resume_particles > 0) {
    std::vector<std::string> notes;
    resume = resume_points(config, splits, run_dir, resume_particles, notes);
    for (const auto& note : notes) console.message(note);
  }
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

  const bool waits_for_peers = config.swarm.algo != "nosync" || config.swarm.deterministic;
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
        if (!resume.empty()) setup.resume = resume[i];
        setup.control = control;
        results[i] = swarm::run_worker(setup, nets[i], splits, *transport, recorder);
      } catch (const swarm::Stopped&) {
        errors[i] = std::current_exception();
        // Every particle sees the same stop request after its own step and checkpoints. Only a
        // peer that waits for this one (collectives, lock-step exchanges) must be woken.
        if (waits_for_peers) board.abort();
      } catch (...) {
        errors[i] = std::current_exception();
        board.abort();  // wake any peer blocked in a collective
      }
    });
  }
  for (auto& w : workers) w.join();
  std::exception_ptr first_error, stopped;
  for (const auto& error : errors) {
    if (!error) continue;
    try {
      std::rethrow_exception(error);
    } catch (const comm::Aborted&) {
      // a consequence of another particle's failure or stop
    } catch (const swarm::Stopped&) {
      if (!stopped) stopped = std::current_exception();
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
  if (stopped) {
    console.finish();
    std::rethrow_exception(stopped);  // every particle that ran to its check has checkpointed
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  console.finish();
  console.message("evaluating best particle, swarm average and ensemble ...");
  at::set_num_threads(cores);
  int64_t threads_total = 0;
  for (int i = 0; i < n; ++i) threads_total += threads_of(i);
  nlohmann::json summary = summarize_swarm(config, nets, results, particle_train, splits, run_dir, config_toml,
                                           wall_s, threads_total);
  recorder.record({{"event", "final"}, {"summary", summary}});
  return summary;
}

}  // namespace nosync::app
