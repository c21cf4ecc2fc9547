// Runs each (arm, seed) once and reuses finished runs; estimates the time left.
#include "nosync/app/experiment/runner.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "nosync/app/compare.h"
#include "nosync/app/console.h"
#include "nosync/train/trainer.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "nosync/util/machine.h"
#include "nosync/util/shell.h"

namespace nosync::app::experiment {

namespace fs = std::filesystem;

namespace {

int cores() { return std::max(1, util::cpu_info().cores); }

// Work of one run in worker-steps, plus a fixed share for start-up and final evaluation (an
// MPI job also starts processes and loads the data once per rank).
double cost(const Arm& arm) { return static_cast<double>(arm.steps * arm.workers) + (arm.ranks > 0 ? 600.0 : 200.0); }

}  // namespace

Runner::Runner(Config base, std::string runs_dir, int seeds)
    : base_(std::move(base)), runs_dir_(std::move(runs_dir)), seeds_(seeds), start_(Clock::now()) {}

void Runner::plan(const std::vector<Arm>& arms) {
  for (const auto& arm : arms)
    if (planned_.insert(arm.id).second) {
      cost_total_ += cost(arm) * seeds_;
      splits(configure(arm, 0, "").data);
    }
}

void Runner::run(const std::vector<Arm>& arms) {
  for (const auto& arm : arms) {
    if (done_.count(arm.id)) continue;
    Outcomes out;
    for (int seed = 0; seed < seeds_; ++seed) {
      const auto t0 = Clock::now();
      Ran r = run_seed(arm, seed);
      const Outcome& o = r.outcome;
      if (r.reused)
        cost_total_ -= cost(arm);  // the time-left estimate counts only work done now
      else
        cost_done_ += cost(arm);
      ++runs_;
      const double took = std::chrono::duration<double>(Clock::now() - t0).count();
      const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      const double eta = cost_done_ > 0 ? elapsed / cost_done_ * std::max(0.0, cost_total_ - cost_done_) : 0;
      std::cerr << fmt::format("[{} elapsed, ~{} left] {} · seed {}: {}\n", format_duration(elapsed),
                               format_duration(eta), arm.label, seed,
                               !o.ok ? "FAILED: " + o.error
                                     : fmt::format("best {:.2f} % ({}{})", 100 * best_accuracy(o),
                                                   r.reused ? "reused" : "ran in ", r.reused ? "" : format_duration(took)));
      if (!o.ok) failures_.push_back(fmt::format("{} seed {}: {}", arm.label, seed, o.error));
      out.push_back(std::move(r.outcome));
    }
    done_.emplace(arm.id, std::move(out));
  }
}

const Outcomes& Runner::outcomes(const Arm& arm) const {
  const auto it = done_.find(arm.id);
  NOSYNC_CHECK(it != done_.end(), "experiment: arm '{}' was not run before its section", arm.id);
  return it->second;
}

const data::Splits& Runner::splits(const data::DataOptions& options) {
  Config key;
  key.data = options;
  const std::string k = to_toml(key);
  auto it = splits_.find(k);
  if (it == splits_.end()) it = splits_.emplace(k, data::load_splits(options)).first;
  return it->second;
}

models::Net Runner::load_net(const Outcome& o, const train::TensorList& state, const std::string& origin) {
  const data::Splits& s = splits(o.config.data);
  return train::load_trained_net(o.config.model, o.config.train, s.train, state, origin);
}

Runner::Ran Runner::run_seed(const Arm& arm, int seed) {
  Ran r;
  Outcome& o = r.outcome;
  const std::string dir = fmt::format("{}/{}/seed-{}", runs_dir_, arm.id, seed);
  try {
    const Config c = configure(arm, seed, dir);
    o.config = c;
    const std::string toml = to_toml(c);
    const std::string signature = fmt::format("ranks = {}\n{}", arm.ranks, toml);
    r.reused = fs::exists(dir + "/summary.json") && fs::exists(dir + "/arm.txt") &&
               util::read_text(dir + "/arm.txt") == signature;
    if (!r.reused) {
      fs::remove_all(dir);
      fs::create_directories(fs::path(dir).parent_path());
      if (arm.ranks > 0) {
        run_mpi(arm, dir, toml);
      } else {
        fs::create_directories(dir);
        util::write_file_atomic(dir + "/config.toml", toml);
        const int64_t threads = c.swarm.algo == "single" && c.train.threads > 0 ? c.train.threads : cores();
        torch::set_num_threads(static_cast<int>(threads));
        run_in_process(c, splits(c.data), dir, toml);
      }
      util::write_file_atomic(dir + "/arm.txt", signature);
    }
    o.run = read_run(dir);
    o.ok = true;
  } catch (const std::exception& e) {
    o.error = e.what();
  }
  return r;
}

Config Runner::configure(const Arm& arm, int seed, const std::string& dir) const {
  Config c = base_;
  for (const auto& s : arm.set) apply_override(c, s);
  c.train.seed = seed;
  c.run.dir = dir;
  c.run.progress = "quiet";
  check_consistency(c);
  return c;
}

void Runner::run_mpi(const Arm& arm, const std::string& dir, const std::string& toml) {
  const std::string config = dir + ".toml", log = dir + ".log";
  util::write_file_atomic(config, toml);
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  const std::string cmd =
      fmt::format("mpirun -np {} --oversubscribe --bind-to none {} train --config {} --run-dir {} > {} 2>&1", arm.ranks,
                  util::shell_quote(exe), util::shell_quote(config), util::shell_quote(dir), util::shell_quote(log));
  const int rc = std::system(cmd.c_str());
  if (rc != 0) throw UserError(fmt::format("mpirun -np {} exited with status {}; its output is in {}", arm.ranks, rc, log));
}

}  // namespace nosync::app::experiment
