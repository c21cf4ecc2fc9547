// The local launcher: one thread per particle, each with its own intra-op thread count, all
// exchanging through a LocalBoard. A particle that fails aborts the board so no peer hangs.
#include "nosync/app/local_swarm.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include <ATen/Parallel.h>

#include "nosync/comm/local_board.h"
#include "nosync/swarm/worker.h"
#include "nosync/train/events.h"
#include "nosync/util/clock.h"

namespace nosync::app {

nlohmann::json run_local_swarm(const Config& config, const data::Splits& splits, const std::string& run_dir,
                               const std::string& config_toml, ConsoleSink& console, int resume_particles,
                               train::RunControl* control) {
  const int n = particle_count(config);
  const SwarmPlan plan = plan_swarm(config, n);
  std::vector<ResumeSource> resume;
  if (resume_particles > 0) {
    std::vector<std::string> notes;
    resume = resume_plan(config, splits, run_dir, resume_particles, notes);
    for (const auto& note : notes) console.message(note);
  }
  std::vector<train::CheckpointContent> resume_points;  // every checkpoint is read before any worker starts
  for (const auto& source : resume) resume_points.push_back(load_resume_point(source));
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto threads_of = [&](int i) { return plan.train[i].threads > 0 ? plan.train[i].threads : default_worker_threads(n); };

  std::vector<models::Net> nets;
  for (int i = 0; i < n; ++i) nets.push_back(initial_net(config, plan, i, splits));
  const int64_t numel = models::parameter_count(*nets[0]);
  comm::LocalBoard board(n, numel);
  train::MetricsSink metrics(run_dir);
  train::TeeSink sink({&metrics, &console});
  console.message(fmt::format("swarm: {} x {} particles, {} intra-op thread(s) each, {} parameters",
                              config.swarm.algo, n, threads_of(0), numel));

  const bool waits_for_peers = swarm::is_collective(plan.algo) || config.swarm.deterministic;
  std::vector<swarm::WorkerResult> results(n);
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> workers;
  const auto start = util::Clock::now();
  for (int i = 0; i < n; ++i) {
    workers.emplace_back([&, i] {
      try {
        omp_set_num_threads(static_cast<int>(threads_of(i)));
        at::set_num_threads(static_cast<int>(threads_of(i)));
        auto transport = board.endpoint(i);
        swarm::WorkerSetup setup = worker_setup(config, plan, i, i, run_dir, config_toml, threads_of(i));
        if (!resume.empty()) {
          setup.resume = resume_points[i];
          setup.resume_dir = resume[i].dir;
        }
        setup.run.control = control;
        results[i] = swarm::run_worker(setup, nets[i], splits, *transport, sink);
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
  const double wall_s = util::seconds_since(start);
  console.finish();
  console.message("evaluating best particle, swarm average and ensemble ...");
  at::set_num_threads(cores);
  int64_t threads_total = 0;
  for (int i = 0; i < n; ++i) threads_total += threads_of(i);
  const nlohmann::json summary =
      summarize_swarm(config, plan, nets, results, splits, run_dir, config_toml, wall_s, threads_total).to_json();
  metrics.record({{"event", "final"}, {"summary", summary}});
  return summary;
}

}  // namespace nosync::app
