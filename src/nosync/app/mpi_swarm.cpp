// One rank of `nosync train` under mpirun/srun (see mpi_swarm.h).
//
// Order of a rank's life: MPI up; rank 0 picks, checks and creates the run directory and
// broadcasts it; every rank loads the data, builds its particle and trains it over the MPI
// transport while a watchdog thread watches its steps; the transport is closed; then, on this
// (main) thread, which owns MPI again, the ranks' metrics lines, results and final models are
// gathered on rank 0, which evaluates best / average / ensemble exactly as the local launcher does.
//
// Failures never leave a peer waiting: an exception on any rank prints one line naming the rank
// and calls MPI_Abort, which ends every rank (Open MPI cannot continue without a rank anyway,
// docs/mpi.md). Signals: SIGUSR1 (forwarded by mpirun) makes every rank checkpoint after its
// current step and continue; SIGTERM makes a best-effort checkpoint and exits.
#include "nosync/app/mpi_swarm.h"

#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include "nosync/app/console.h"
#include "nosync/app/preflight.h"
#include "nosync/app/run_dir.h"
#include "nosync/app/swarm_launch.h"
#include "nosync/app/swarm_resume.h"
#include "nosync/app/watchdog.h"
#include "nosync/app/signals.h"
#include "nosync/comm/mpi_transport.h"
#include "nosync/data/dataset.h"
#include "nosync/swarm/fault.h"
#include "nosync/swarm/worker.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/events.h"
#include "nosync/train/flat_state.h"
#include "nosync/util/clock.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "nosync/util/machine.h"

namespace nosync::app {

namespace fs = std::filesystem;

namespace {

using util::Clock;

constexpr int kExitStopped = 128 + SIGTERM;
constexpr int kExitWatchdog = 3;

std::string rank_tag(int rank, int size) { return fmt::format("[rank {}/{}]", rank, size); }

// What a rank adds to its sinks: every step feeds the watchdog and the rank faults; a rank other
// than 0 (no console) prints its warnings tagged with its rank.
class RankSink : public train::EventSink {
 public:
  RankSink(int rank, int size, std::function<void(int64_t)> on_step)
      : rank_(rank), size_(size), on_step_(std::move(on_step)) {}
  void stepped(const train::StepEvent& e) override { on_step_(e.step); }
  void warn(const std::string& message) override {
    if (rank_ != 0) std::cerr << fmt::format("nosync: {} warning: {}\n", rank_tag(rank_, size_), message) << std::flush;
  }

 private:
  const int rank_, size_;
  std::function<void(int64_t)> on_step_;
};

// The rank-addressed faults of swarm.fault / NOSYNC_FAULT, acted on after each step.
void inject_rank_faults(const std::vector<swarm::Fault>& faults, int rank, int64_t step) {
  for (const auto& f : faults) {
    if (f.rank != rank || step != f.step) continue;
    if (f.kind == "throw") throw std::runtime_error(fmt::format("fault injected: rank {} throws at step {}", rank, step));
    if (f.kind == "kill") {
      std::cerr << fmt::format("nosync: [rank {}] fault injected: killing myself (SIGKILL) at step {}\n", rank, step)
                << std::flush;
      std::raise(SIGKILL);
    }
    if (f.kind == "stall") {
      std::cerr << fmt::format("nosync: [rank {}] fault injected: stalling at step {}\n", rank, step) << std::flush;
      while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

void bcast_string(std::string& s, int root) {
  int64_t len = static_cast<int64_t>(s.size());
  comm::mpi_check(MPI_Bcast(&len, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "MPI_Bcast(length)");
  s.resize(static_cast<size_t>(len));
  if (len > 0)
    comm::mpi_check(MPI_Bcast(s.data(), static_cast<int>(len), MPI_CHAR, root, MPI_COMM_WORLD), "MPI_Bcast(text)");
}

// Every rank's `s`, on rank 0 (empty elsewhere).
std::vector<std::string> gather_strings(const std::string& s, int rank, int size) {
  int len = static_cast<int>(s.size());
  std::vector<int> lens(size), displs(size);
  comm::mpi_check(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather(lengths)");
  std::string all;
  if (rank == 0) {
    int total = 0;
    for (int r = 0; r < size; ++r) {
      displs[r] = total;
      total += lens[r];
    }
    all.resize(static_cast<size_t>(total));
  }
  comm::mpi_check(MPI_Gatherv(s.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, 0,
                              MPI_COMM_WORLD),
                  "MPI_Gatherv(text)");
  std::vector<std::string> out;
  if (rank == 0)
    for (int r = 0; r < size; ++r) out.push_back(all.substr(displs[r], lens[r]));
  return out;
}

// Runs `check` on every rank; returns, on every rank, the first rank's UserError as one line
// ("" when every rank passed).
std::string first_problem(const std::function<void()>& check, int rank, int size) {
  std::string mine;
  try {
    check();
  } catch (const UserError& e) {
    mine = rank == 0 ? one_line(e) : fmt::format("{} {}", rank_tag(rank, size), one_line(e));
  } catch (const std::filesystem::filesystem_error& e) {
    try {
      util::throw_fs(e);
    } catch (const UserError& mapped) {
      mine = one_line(mapped);
    }
  }
  std::string first;
  for (const auto& p : gather_strings(mine, rank, size))
    if (first.empty()) first = p;
  bcast_string(first, 0);
  return first;
}

// A refused job: rank 0 prints the one line; every rank exits 2 without an MPI abort.
int refuse(const std::string& problem, int rank) {
  if (rank == 0) std::cerr << "nosync: error: " << problem << "\n" << std::flush;
  return kExitUserError;
}

// train.threads, clamped to this rank's share of the cores (util/machine.h); rank 0 says so.
int intra_op_threads(const Config& config, int rank) {
  int local_ranks = 1;
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    if (const char* v = std::getenv(var)) {
      local_ranks = std::max(1, std::atoi(v));
      break;
    }
  }
  const util::ThreadShare share = util::share_threads(config.train.threads, local_ranks);
  if (rank == 0 && !share.warning.empty()) std::cerr << "nosync: warning: " << share.warning << "\n" << std::flush;
  return static_cast<int>(share.threads);
}

int train_rank(Config config, std::string run_dir, int resume_particles,
               const std::function<std::string()>& default_dir,
               const std::function<void(const nlohmann::json&, const std::string&)>& print_summary, int rank,
               int size) {
  const auto& sw = config.swarm;
  if (swarm::parse_algo(sw.algo) == swarm::Algo::kSingle)
    throw UserError(fmt::format("swarm.algo = single trains one worker, but this is an MPI job of {} ranks", size),
                    "choose nosync, sync, local-sgd, easgd or diloco, or run single without mpirun");
  // Hybrid: particle g is the group of ranks g*G .. g*G+G-1; its leader is the first of them.
  const int group_size = static_cast<int>(sw.group_size);
  if (size % group_size != 0)
    throw UserError(fmt::format("swarm.group_size = {} does not divide the {} ranks of the MPI job", group_size, size),
                    "start a multiple of swarm.group_size ranks");
  if (group_size > 1 && (swarm::parse_algo(sw.algo) != swarm::Algo::kNoSync || sw.shard))
    throw UserError(fmt::format("swarm.group_size = {} needs swarm.algo = nosync without swarm.shard", group_size),
                    "groups of ranks are NoSync particles; for plain data parallelism use swarm.algo = sync");
  const int particles = size / group_size;
  const int particle = rank / group_size;
  const bool leader = rank % group_size == 0;
  if (sw.particles != 0 && sw.particles != particles)
    throw UserError(fmt::format("swarm.particles = {}, but the MPI job has {} ranks = {} particle(s) of "
                                "swarm.group_size = {}",
                                sw.particles, size, particles, group_size),
                    "leave swarm.particles = 0 under mpirun: the job's size decides");
  Config asked = config;  // saved as the [asked] record of config.toml
  config.swarm.particles = particles;  // saved in config.toml: what a resume (MPI or local) starts from

  // The run directory: rank 0 decides it and everybody learns it; nothing is written until
  // every rank has passed every check (preflight.h), so a refused job leaves it as it was.
  if (rank == 0 && resume_particles == 0 && run_dir.empty())
    run_dir = !config.run.dir.empty() ? config.run.dir : default_dir();
  bcast_string(run_dir, 0);
  config.run.dir = asked.run.dir = run_dir;
  const int threads = intra_op_threads(config, rank);
  config = resolve_config(config, particles, threads);  // each rank its own threads
  const std::string effective = to_toml(config, &asked);

  omp_set_num_threads(threads);
  at::set_num_threads(threads);
  std::optional<data::Splits> loaded;
  std::string problem = first_problem(
      [&] {
        loaded.emplace(data::load_splits(config.data));
        check_run(config, *loaded, particles, size);
      },
      rank, size);
  if (!problem.empty()) return refuse(problem, rank);
  const data::Splits& splits = *loaded;

  // Rank 0 owns the directory: it holds its lock for the whole job (a resume from before the
  // checkpoints are read) and checks the resume against the run.
  std::unique_ptr<RunDirLock> lock;
  std::unique_ptr<NewRunDir> new_dir;
  std::string finished;
  problem = first_problem(
      [&] {
        if (rank != 0) return;
        if (resume_particles == 0) {
          new_dir = std::make_unique<NewRunDir>(run_dir);
          return;
        }
        lock = std::make_unique<RunDirLock>(run_dir);
        const CheckedResume checked = check_resume(config, splits, run_dir, resume_particles, particles);
        if (checked.finished)
          finished = fmt::format(
              "nosync: {}: the run has finished (step {} of {}); nothing to do, nothing changed\n"
              "nosync: to train it further, ask for more steps, e.g. --resume {} --set train.steps={}\n",
              run_dir, checked.step, checked.total_steps, run_dir, 2 * checked.total_steps);
      },
      rank, size);
  if (!problem.empty()) return refuse(problem, rank);
  bcast_string(finished, 0);
  if (!finished.empty()) {
    if (rank == 0) std::cerr << finished << std::flush;
    return 0;
  }
  // Every rank writes its particle's checkpoints under the run directory.
  problem = first_problem([&] { util::check_writable_dir(run_dir); }, rank, size);
  if (!problem.empty()) {
    if (new_dir) new_dir->abandon();
    return refuse(problem, rank);
  }
  const bool talk = rank == 0 && config.run.progress != "quiet";
  if (rank == 0) warn_if_slow_blas(config.run.progress);

  const SwarmPlan plan = plan_swarm(config, particles);
  models::Net net = initial_net(config, plan, particle, splits);
  const int64_t numel = models::parameter_count(*net);
  const auto faults = swarm::active_faults(sw.fault);

  // Resume: rank 0 chooses which saved particle each particle continues (ranking them by fitness
  // when the number changes) and broadcasts the plan; every rank then reads its own checkpoint
  // (hybrid: every member of a group reads its particle's). Needs the run directory on every rank.
  std::optional<train::CheckpointContent> resume_point;
  std::string resume_dir;
  if (resume_particles > 0) {
    std::string plan_text;
    std::vector<std::string> notes;
    problem.clear();
    if (rank == 0) {
      try {
        nlohmann::json plan = nlohmann::json::array();
        for (const auto& source : resume_plan(config, splits, run_dir, resume_particles, notes))
          plan.push_back({{"from", source.from}, {"dir", source.dir}, {"spawned", source.spawned}});
        plan_text = plan.dump();
      } catch (const UserError& e) {
        problem = one_line(e);
      }
    }
    bcast_string(problem, 0);
    if (!problem.empty()) return refuse(problem, rank);
    bcast_string(plan_text, 0);
    const auto mine = nlohmann::json::parse(plan_text).at(particle);
    ResumeSource source;
    source.from = mine.at("from").get<int>();
    source.dir = mine.at("dir").get<std::string>();
    source.spawned = mine.at("spawned").get<bool>();
    resume_point = load_resume_point(source);
    resume_dir = source.dir;
    // A particle that continues another's checkpoint rewrites its own directory when it starts
    // (swarm/worker.cpp): only once every rank has read what it resumes from.
    comm::mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier(resume)");
    if (talk)
      for (const auto& note : notes) std::cerr << note << "\n";
  }
  // Written once the job can start (resume: once the plan stands, so a refused resume leaves the
  // saved particle count as it was).
  if (rank == 0) util::write_file_atomic(run_dir + "/config.toml", effective);
  if (talk) print_run_header(run_dir, effective, splits);

  std::unique_ptr<ConsoleSink> console;
  if (rank == 0) console = std::make_unique<ConsoleSink>(config.run.progress, config.train.log_every);
  if (console)
    console->message(fmt::format("swarm: {} x {} particle(s) of {} MPI rank(s), {} intra-op thread(s) per rank, {} "
                                 "parameters",
                                 sw.algo, particles, group_size, threads, numel));

  swarm::WorkerResult result;
  const auto start = Clock::now();
  // Rank 0 writes metrics.jsonl and drives the console; the other ranks keep their records until
  // the end (they may run on hosts without the run directory).
  std::unique_ptr<train::MetricsSink> metrics =
      rank == 0 ? std::make_unique<train::MetricsSink>(run_dir, nlohmann::json{{"rank", rank}})
                : std::make_unique<train::MetricsSink>(nlohmann::json{{"rank", rank}});
  {
    // One transport per particle among the particles (leaders only, in the hybrid), plus one
    // inside each group (all-reduce of gradients, the leader's weights to the members).
    MPI_Comm group_comm = MPI_COMM_NULL, swarm_comm = MPI_COMM_NULL;
    std::unique_ptr<comm::MpiTransport> group_transport, swarm_transport;
    if (group_size > 1) {
      comm::mpi_check(MPI_Comm_split(MPI_COMM_WORLD, particle, rank, &group_comm), "MPI_Comm_split(group)");
      comm::mpi_check(MPI_Comm_split(MPI_COMM_WORLD, leader ? 0 : MPI_UNDEFINED, rank, &swarm_comm),
                      "MPI_Comm_split(leaders)");
      group_transport = std::make_unique<comm::MpiTransport>(group_comm, 0);
      if (leader) swarm_transport = std::make_unique<comm::MpiTransport>(swarm_comm, numel);
    } else {
      swarm_transport = std::make_unique<comm::MpiTransport>(MPI_COMM_WORLD, numel);
    }
    comm::MpiTransport& transport = swarm_transport ? *swarm_transport : *group_transport;
    Watchdog watchdog(
        config.comm.watchdog_s, rank, size,
        [&] {
          return std::max(swarm_transport ? swarm_transport->collective_wait_s() : 0.0,
                          group_transport ? group_transport->collective_wait_s() : 0.0);
        },
        [](const std::string& message) { comm::mpi_abort_job(message, kExitWatchdog); });
    RankSink rank_sink(rank, size, [&](int64_t step) {
      watchdog.step(step);
      inject_rank_faults(faults, rank, step);
    });
    train::TeeSink sink({metrics.get(), &rank_sink, console.get()});
    train::RunControl control;
    SignalScope signals(&control);
    swarm::WorkerSetup setup = worker_setup(config, plan, particle, rank, run_dir, effective, threads);
    setup.group = group_transport.get();
    setup.group_leader = leader;
    setup.run.control = &control;
    setup.resume = std::move(resume_point);
    setup.resume_dir = resume_dir;
    watchdog.arm(true);
    try {
      result = swarm::run_worker(setup, net, splits, transport, sink);
    } catch (const swarm::Stopped& stopped) {
      std::cerr << fmt::format("nosync: {} stopped by {} at step {}: checkpoint written\n", rank_tag(rank, size),
                               stop_signal_name(control), stopped.step)
                << std::flush;
      std::_Exit(kExitStopped);  // peers stop on their own signal; nothing collective is safe now
    }
    watchdog.arm(false);
    if (swarm_transport) swarm_transport->close();
    if (group_transport) group_transport->close();
    for (MPI_Comm* c : {&group_comm, &swarm_comm})
      if (*c != MPI_COMM_NULL) comm::mpi_check(MPI_Comm_free(c), "MPI_Comm_free");
  }
  const double wall_s = util::seconds_since(start);

  // Back on the main thread, the only MPI user now: collect everything on rank 0.
  const std::vector<std::string> all_lines = gather_strings(metrics->take_lines(), rank, size);
  double mine[5] = {static_cast<double>(result.steps), result.train_s, result.exchange_s,
                    static_cast<double>(result.exchanges), static_cast<double>(result.respawns)};
  std::vector<double> all_results(rank == 0 ? 5 * size : 0);
  comm::mpi_check(MPI_Gather(mine, 5, MPI_DOUBLE, all_results.data(), 5, MPI_DOUBLE, 0, MPI_COMM_WORLD),
                  "MPI_Gather(results)");
  const torch::Tensor state = train::flat_state(*net);
  torch::Tensor all_states = torch::empty({rank == 0 ? size * state.numel() : 0}, torch::kFloat);
  comm::mpi_check(MPI_Gather(state.data_ptr<float>(), static_cast<int>(state.numel()), MPI_FLOAT,
                             all_states.data_ptr<float>(), static_cast<int>(state.numel()), MPI_FLOAT, 0,
                             MPI_COMM_WORLD),
                  "MPI_Gather(final models)");
  if (rank != 0) return 0;

  for (int r = 1; r < size; ++r) metrics->append_lines(all_lines[r]);
  // Particle p is its leader's model, rank p * group_size; members must have ended identical.
  std::vector<models::Net> nets;
  std::vector<swarm::WorkerResult> results(particles);
  double group_divergence = 0;
  for (int p = 0; p < particles; ++p) {
    const int r = p * group_size;
    const torch::Tensor leader_state = all_states.narrow(0, r * state.numel(), state.numel());
    for (int m = r + 1; m < r + group_size; ++m)
      group_divergence = std::max(
          group_divergence,
          (all_states.narrow(0, m * state.numel(), state.numel()) - leader_state).abs().max().item<double>());
    models::Net n = r == 0 ? net : models::build_model_for(config.model, splits.train);
    if (r != 0) {
      train::load_flat_state(*n, leader_state);
      n->set_compute(net->compute());  // evaluated in the precision and layout it was trained with
    }
    nets.push_back(n);
    results[p].particle = p;
    results[p].steps = static_cast<int64_t>(all_results[5 * r]);
    results[p].train_s = all_results[5 * r + 1];
    results[p].exchange_s = all_results[5 * r + 2];
    results[p].exchanges = static_cast<int64_t>(all_results[5 * r + 3]);
    results[p].respawns = static_cast<int64_t>(all_results[5 * r + 4]);
  }
  console->finish();
  console->message("evaluating best particle, swarm average and ensemble ...");
  at::set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  train::RunSummary::Mpi mpi;
  mpi.ranks = size;
  mpi.group_size = group_size;
  mpi.group_max_divergence = group_divergence;
  const nlohmann::json summary = summarize_swarm(config, plan, nets, results, splits, run_dir, effective, wall_s,
                                                 static_cast<int64_t>(threads) * size, mpi)
                                     .to_json();
  metrics->record({{"event", "final"}, {"summary", summary}});
  print_summary(summary, run_dir);
  return 0;
}

}  // namespace

bool wants_mpi(const Config& config) {
  if (config.comm.transport == "local") return false;
  const bool launched = comm::MpiScope::launched_by_mpi();
  if (config.comm.transport == "mpi" && !launched)
    throw UserError("comm.transport = mpi, but this process was not started by mpirun or srun",
                    "run e.g. `mpirun -np 4 nosync train ...`, or set comm.transport = auto");
  return launched;
}

int launcher_rank() { return comm::MpiScope::launcher_rank(); }

int run_mpi_train(Config config, std::string run_dir, int resume_particles,
                  const std::function<std::string()>& default_dir,
                  const std::function<void(const nlohmann::json&, const std::string&)>& print_summary) {
  // Two transports (hence two communication threads) per rank in the hybrid need THREAD_MULTIPLE.
  comm::MpiScope mpi(nullptr, nullptr, config.swarm.group_size > 1 ? MPI_THREAD_MULTIPLE : MPI_THREAD_SERIALIZED);
  const int rank = mpi.rank(), size = mpi.size();
  try {
    return train_rank(std::move(config), std::move(run_dir), resume_particles, default_dir, print_summary, rank,
                      size);
  } catch (const UserError& e) {
    comm::mpi_abort_job("error: " + one_line(e), kExitUserError);
  } catch (const InternalError& e) {
    comm::mpi_abort_job(fmt::format("internal error: {} (please report this)", e.what()), kExitInternalError);
  } catch (const c10::Error& e) {
    comm::mpi_abort_job(fmt::format("internal error: {} (please report this)", e.what_without_backtrace()),
                        kExitInternalError);
  } catch (const std::exception& e) {
    comm::mpi_abort_job(fmt::format("error: {}", e.what()), 1);
  }
}

}  // namespace nosync::app
