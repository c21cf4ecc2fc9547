// Subcommands: `nosync train` and `nosync eval`. Parses flags, loads the config, sets up the run
// directory and hands over to the library; every error ends here as one line and an exit code.
#include "nosync/app/cli.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include "nosync/app/config.h"
#include "nosync/app/compare.h"
#include "nosync/app/console.h"
#include "nosync/app/eval_target.h"
#include "nosync/app/experiment.h"
#include "nosync/app/local_swarm.h"
#include "nosync/app/mpi_swarm.h"
#include "nosync/app/preflight.h"
#include "nosync/app/run_dir.h"
#include "nosync/app/signals.h"
#include "nosync/app/supervise.h"
#include "nosync/app/swarm_launch.h"
#include "nosync/data/dataset.h"
#include "nosync/models/torchscript.h"
#include "nosync/swarm/algo.h"
#include "nosync/swarm/final.h"
#include "nosync/swarm/worker.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/loop.h"
#include "nosync/train/trainer.h"
#include "nosync/util/allocator.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "nosync/util/machine.h"

namespace nosync::app {

namespace fs = std::filesystem;

namespace {

struct TrainArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string run_dir;
  std::string resume;
  int max_restarts = 0;
};

struct EvalArgs {
  std::string checkpoint;
  std::vector<std::string> overrides;
  std::string save_torchscript;  // model.name = torchscript: write the trained module here
  std::string model;             // --model: best (default), average or particle-N (eval_target.h)
};

// Intra-op threads of this process for `workers` particles sharing the cores (util/machine.h);
// a lowered train.threads is said once, here.
void set_threads(int64_t threads, int64_t workers = 1) {
  const util::ThreadShare share = util::share_threads(threads, workers);
  if (!share.warning.empty()) std::cerr << "nosync: warning: " << share.warning << "\n";
  torch::set_num_threads(static_cast<int>(share.threads));
}

std::string timestamp_dir() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  std::string dir = std::string("runs/") + buf;
  for (int i = 2; fs::exists(dir); ++i) dir = fmt::format("runs/{}-{}", buf, i);
  return dir;
}

// "310 GFLOP/s = 47 % of the 664 GFLOP/s bf16 peak of 2 cores", or "" without a FLOP count.
std::string speed_line(const nlohmann::json& s) {
  if (!s.contains("achieved_gflops")) return "";
  if (!s.contains("peak_fraction")) return fmt::format("{:.1f}", s["achieved_gflops"].get<double>());
  return fmt::format("{:.1f} = {:.1f} % of the {:.0f} GFLOP/s {} peak of {} core(s)", s["achieved_gflops"].get<double>(),
                     100 * s["peak_fraction"].get<double>(), s["peak_gflops"].get<double>(),
                     s["precision"].get<std::string>(), s["peak_cores"].get<int64_t>());
}

void print_summary(const train::RunResult& r, const std::string& run_dir) {
  const nlohmann::json fields = train::eval_fields("test", r.test), val = train::eval_fields("val", r.val);
  std::vector<std::pair<std::string, std::string>> rows = {
      train::headline_row(fields, "test"),
      {"test loss", fmt::format("{:.4f}", r.test.loss)},
      train::headline_row(val, "val"),
      {"steps", std::to_string(r.steps)},
      {"epochs", fmt::format("{:.2f}", r.epochs)},
      {"wall time", format_duration(r.wall_s)},
      {"samples/s (training)", fmt::format("{:.0f}", r.samples_per_s)}};
  if (const std::string speed = speed_line(r.summary.to_json()); !speed.empty()) rows.emplace_back("GFLOP/s (training)", speed);
  rows.emplace_back("parameters", std::to_string(r.parameters));
  rows.emplace_back("run directory", run_dir);
  std::cout << format_table("summary", rows);
}

void print_swarm_summary(const nlohmann::json& s, const std::string& run_dir) {
  auto metric = [](const std::string& who, const nlohmann::json& j) {
    auto [name, value] = train::headline_row(j, "test");
    return std::pair<std::string, std::string>{who + " " + name, value};
  };
  auto loss = [](const nlohmann::json& j) { return fmt::format("{:.4f}", j["test_loss"].get<double>()); };
  std::cout << format_table(
      fmt::format("summary: {} with {} particles", s["algo"].get<std::string>(), s["particles"].get<int>()),
      {metric(fmt::format("best particle ({})", s["best_particle"].get<int>()), s["best"]),
       {"best particle test loss", loss(s["best"])},
       metric("swarm average", s["average"]),
       {"swarm average test loss", loss(s["average"])},
       metric("ensemble", s["ensemble"]),
       {"ensemble test loss", loss(s["ensemble"])},
       {"steps per particle", std::to_string(s["steps"].get<int64_t>())},
       {"wall time", format_duration(s["wall_s"].get<double>())},
       {"samples/s (all particles)", fmt::format("{:.0f}", s["samples_per_s"].get<double>())},
       {"GFLOP/s (all particles, wall clock)", speed_line(s).empty() ? "unknown" : speed_line(s)},
       {"final diversity", fmt::format("{:.4g}", s["final_diversity"].get<double>())},
       {"run directory", run_dir}});
}

// A run stopped by SIGTERM, SIGINT or SIGHUP: where its checkpoint is and how to go on (stderr,
// exit 0).
void report_stopped(const train::RunControl& control, int64_t step, const std::string& checkpoint,
                    const std::string& run_dir) {
  std::cerr << fmt::format(
                   "nosync: stopped by {} at step {}: checkpoint written to {}\n"
                   "nosync: resume with: nosync train --resume {}\n",
                   stop_signal_name(control), step, checkpoint, run_dir)
            << std::flush;
}

// `--max-restarts K`: the same command line, run as a supervised child (see supervise.h).
int run_supervised(const TrainArgs& args) {
  std::string run_dir = args.resume;
  if (run_dir.empty()) {  // the supervisor fixes the directory so that a relaunch finds it
    const Config config =
        load_config(args.config_file.empty() ? std::nullopt : std::optional(args.config_file), args.overrides);
    if (wants_mpi(config))
      throw UserError("--max-restarts under mpirun or srun is not supported",
                      "run without --max-restarts; relaunch the MPI job with your scheduler's requeue");
    run_dir = !args.run_dir.empty() ? args.run_dir : !config.run.dir.empty() ? config.run.dir : timestamp_dir();
  }
  SuperviseOptions options;
  options.first_argv = {"nosync", "train"};
  if (!args.config_file.empty()) options.first_argv.insert(options.first_argv.end(), {"--config", args.config_file});
  if (!args.resume.empty()) options.first_argv.insert(options.first_argv.end(), {"--resume", run_dir});
  else options.first_argv.insert(options.first_argv.end(), {"--run-dir", run_dir});
  for (const auto& o : args.overrides) options.first_argv.insert(options.first_argv.end(), {"--set", o});
  options.resume_argv = {"nosync", "train", "--resume", run_dir};  // the saved config.toml has the overrides
  options.max_restarts = args.max_restarts;
  options.run_dir = run_dir;
  options.has_checkpoint = [run_dir] {  // single: checkpoints/latest; swarm: every particle has one
    const std::string dir = run_dir + "/checkpoints";
    if (fs::exists(dir + "/latest")) return true;
    const std::vector<int> ids = particle_ids(dir);
    for (int i : ids)
      if (!fs::exists(fmt::format("{}/particle-{}/latest", dir, i))) return false;
    return !ids.empty();
  };
  return supervise(options);
}

// `--resume RUN --run-dir OTHER`: a resumed run continues in its own directory.
void check_resume_dir(const TrainArgs& args) {
  if (args.run_dir.empty()) return;
  std::error_code ec;
  if (fs::equivalent(args.run_dir, args.resume, ec)) return;
  throw UserError(fmt::format("--resume {} and --run-dir {} name two directories", args.resume, args.run_dir),
                  "a resumed run continues in its own directory: leave out --run-dir (or copy the run first)");
}

int run_train(const TrainArgs& args) {
  if (args.max_restarts > 0) return run_supervised(args);
  Config config;
  Config asked;  // what the command asked for, before resolve_config (saved as [asked])
  std::string run_dir;
  bool resume = !args.resume.empty();
  int saved_particles = 0;  // resume: particles of the saved run
  std::unique_ptr<RunDirLock> lock;  // resume: held from before the checkpoints are read
  if (resume) {
    if (!args.config_file.empty())
      throw UserError("--resume and --config cannot be combined",
                      "a resumed run keeps the config saved in its run directory; use --set to change a key");
    check_resume_dir(args);
    run_dir = args.resume;
    const std::string saved = run_dir + "/config.toml";
    if (!util::path_exists(saved))
      throw UserError(fmt::format("{}: no config.toml here, so this is not a nosync run directory", run_dir),
                      "pass the directory printed at the start of the run (runs/<date>-<time>)");
    const std::string saved_text = util::read_text(saved);
    apply_toml(config, saved_text, saved);
    asked = config;
    apply_asked(asked, saved_text, saved);  // what the first command asked for stays on record
    const std::string saved_algo = config.swarm.algo;
    const int64_t saved_setting = config.swarm.particles;
    saved_particles = particle_count(config);
    for (const auto& o : args.overrides) {
      apply_override(config, o);
      apply_override(asked, o);
    }
    check_consistency(config);
    const bool mpi = wants_mpi(config);
    // Under mpirun the job's size decides how many particles go on, unless --set says otherwise.
    if (mpi && config.swarm.particles == saved_setting) config.swarm.particles = 0;
    if (config.swarm.algo != saved_algo)
      throw UserError(fmt::format("{}: swarm.algo cannot change on resume ({} -> {})", run_dir, saved_algo,
                                  config.swarm.algo),
                      "start a new run for another algorithm");
    // A run that died before its first checkpoint starts again from the start, with its config.
    const bool fresh = inspect_run_dir(run_dir) == RunDirKind::kFresh;
    if (fresh) {
      resume = false;
      saved_particles = 0;
    }
    if (mpi) return run_mpi_train(config, run_dir, saved_particles, timestamp_dir, print_swarm_summary);
    if (!fresh) lock = std::make_unique<RunDirLock>(run_dir);
  } else {
    config = load_config(args.config_file.empty() ? std::nullopt : std::optional(args.config_file), args.overrides);
    if (wants_mpi(config))  // one rank of an mpirun/srun job: rank 0 owns the run directory
      return run_mpi_train(config, args.run_dir, 0, timestamp_dir, print_swarm_summary);
    run_dir = !args.run_dir.empty() ? args.run_dir : !config.run.dir.empty() ? config.run.dir : timestamp_dir();
    asked = config;
  }
  config.run.dir = asked.run.dir = run_dir;
  config = resolve_config(config, particle_count(config), util::share_threads(0, particle_count(config)).threads);
  const std::string effective = to_toml(config, &asked);

  // Everything is validated before any work or any file is written (preflight.h).
  if (config.swarm.group_size > 1)
    throw UserError(fmt::format("swarm.group_size = {} needs an MPI job (groups are sets of MPI ranks)",
                                config.swarm.group_size),
                    "start with mpirun -np <particles x group_size>, or set swarm.group_size = 1");
  plan_swarm(config, particle_count(config));  // checks swarm.overrides before the data loads
  // Preemption: SIGUSR1 = checkpoint and go on; SIGTERM, SIGINT, SIGHUP = checkpoint and exit 0
  // (a second one forces). Installed before the data loads so that an early signal still ends in
  // a checkpoint (after the first step).
  train::RunControl control;
  SignalScope signals(&control);
  set_threads(config.train.threads, particle_count(config));
  warn_if_slow_blas(config.run.progress);
  const data::Splits splits = data::load_splits(config.data);
  check_run(config, splits, particle_count(config), /*ranks=*/0);
  std::unique_ptr<NewRunDir> new_dir;
  if (resume) {
    const CheckedResume checked = check_resume(
        config, splits, run_dir, swarm::parse_algo(config.swarm.algo) == swarm::Algo::kSingle ? 0 : saved_particles,
        particle_count(config));
    if (checked.finished) {
      std::cerr << fmt::format(
                       "nosync: {}: the run has finished (step {} of {}); nothing to do, nothing changed\n"
                       "nosync: to train it further, ask for more steps, e.g. --resume {} --set train.steps={}\n",
                       run_dir, checked.step, checked.total_steps, run_dir, 2 * checked.total_steps)
                << std::flush;
      return 0;
    }
  } else {
    new_dir = std::make_unique<NewRunDir>(run_dir);  // takes the lock; refuses a run or foreign files
  }

  util::write_file_atomic(run_dir + "/config.toml", effective);
  if (config.run.progress != "quiet") print_run_header(run_dir, effective, splits);

  ConsoleSink console(config.run.progress, config.train.log_every);
  if (swarm::parse_algo(config.swarm.algo) != swarm::Algo::kSingle) {
    try {
      const auto s = run_local_swarm(config, splits, run_dir, effective, console, resume ? saved_particles : 0,
                                     &control);
      print_swarm_summary(s, run_dir);
    } catch (const swarm::Stopped& stopped) {
      report_stopped(control, stopped.step, run_dir + "/checkpoints/particle-<i>", run_dir);
    }
    return 0;
  }

  train::RunSetup setup = run_setup(config, run_dir, effective);
  setup.resume = resume;
  setup.control = &control;
  const train::RunResult result = train::run_single(setup, splits, console);
  console.finish();
  if (!result.completed && control.stop.load()) {
    report_stopped(control, result.steps, result.last_checkpoint, run_dir);
    return 0;
  }
  print_summary(result, run_dir);
  return 0;
}

// The step a checkpoint holds: its step-<N> name (read_checkpoint checked manifest.json's against
// it), else state.json's if it is a number.
std::string eval_step(const train::CheckpointContent& ck, const std::string& dir) {
  if (const int64_t n = train::checkpoint_dir_step(dir); n >= 0) return std::to_string(n);
  const nlohmann::json trainer = ck.state.is_object() ? ck.state.value("trainer", nlohmann::json()) : nlohmann::json();
  const nlohmann::json step = trainer.is_object() ? trainer.value("step", nlohmann::json()) : nlohmann::json();
  return step.is_number_integer() ? step.dump() : "unknown";
}

int run_eval(const EvalArgs& args) {
  const EvalTarget target = choose_eval_target(args.checkpoint, args.model);
  const std::string& dir = target.checkpoint_dirs[0];
  const train::CheckpointContent ck = train::read_checkpoint(dir);
  Config config;
  apply_toml(config, ck.config_toml, dir + "/config.toml");
  for (const auto& o : args.overrides) apply_override(config, o);
  if (!args.save_torchscript.empty()) {
    if (config.model.name != "torchscript")
      throw UserError(fmt::format("--save-torchscript: {} trained model.name = {}, not a TorchScript module", dir,
                                  config.model.name),
                      "load its model.pt in Python into the twin module of python/nosync_models.py");
    const auto parent = fs::absolute(args.save_torchscript).parent_path();
    if (!fs::is_directory(parent))
      throw UserError(fmt::format("--save-torchscript: {}: no such directory", parent.string()),
                      "create it first, or choose another file");
  }
  // Every checkpoint is read and verified before the data loads.
  std::vector<train::CheckpointContent> others;
  for (size_t i = 1; i < target.checkpoint_dirs.size(); ++i)
    others.push_back(train::read_checkpoint(target.checkpoint_dirs[i]));
  set_threads(config.train.threads);
  const data::Splits splits = data::load_splits(config.data);
  models::Net net = train::load_trained_net(config.model, config.train, splits.train, ck.model, dir + "/model.pt");
  if (target.average) {
    std::vector<models::Net> nets = {net};
    for (size_t i = 1; i < target.checkpoint_dirs.size(); ++i)
      nets.push_back(train::load_trained_net(config.model, config.train, splits.train, others[i - 1].model,
                                             target.checkpoint_dirs[i] + "/model.pt"));
    net = swarm::average_model(nets, target.reference, config.model, splits, static_cast<uint64_t>(config.train.seed));
  }
  const auto val = train::Evaluator(splits.val, splits.norm).run(*net);
  const auto test = train::Evaluator(splits.test, splits.norm).run(*net);
  std::cout << format_table("eval " + args.checkpoint,
                            {{"evaluated", target.description},
                             {"model", config.model.name},
                             {"step", eval_step(ck, dir)},
                             train::headline_row(train::eval_fields("val", val), "val"),
                             {"val loss", fmt::format("{:.4f}", val.loss)},
                             train::headline_row(train::eval_fields("test", test), "test"),
                             {"test loss", fmt::format("{:.4f}", test.loss)}});
  if (!args.save_torchscript.empty()) {
    // Written under a temporary name and renamed: a reader never sees half a module.
    const std::string tmp = args.save_torchscript + ".tmp";
    std::dynamic_pointer_cast<models::TorchScriptNetImpl>(net)->save(tmp);
    fs::rename(tmp, args.save_torchscript);
    std::cout << "saved the TorchScript module with these weights to " << args.save_torchscript
              << " (torch.jit.load in Python)\n";
  }
  return 0;
}

// An error caught here under mpirun comes from before the MPI job starts (the command line, the
// config), which every rank reads alike: rank 0 says it, once (docs/mpi.md). Errors of the job
// itself are gathered and said once inside it (mpi_swarm.cpp).
int report(const std::string& kind, const std::string& message, int code) {
  if (launcher_rank() == 0) std::cerr << "nosync: " << kind << ": " << message << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  util::keep_freed_memory();  // before any thread starts: evaluation batches reuse memory
  CLI::App app{"nosync: train neural networks with NoSync, a particle-swarm-inspired distributed method"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nosync 0.1.0");

  TrainArgs train_args;
  auto* train_cmd = app.add_subcommand("train", "train a model: one worker, a NoSync swarm or a baseline (swarm.algo)");
  train_cmd->add_option("--config", train_args.config_file, "TOML config file")->check(CLI::ExistingFile);
  train_cmd->add_option("--set", train_args.overrides, "override a key: section.key=value (repeatable)")
      ->take_all();
  train_cmd->add_option("--run-dir", train_args.run_dir, "run directory (default runs/<date>-<time>)");
  train_cmd->add_option("--resume", train_args.resume, "continue the run in RUN_DIR from its latest checkpoint(s); under mpirun with as "
                              "many, more or fewer ranks; a finished run changes only if more steps are asked for; "
                              "--run-dir may only name RUN_DIR itself");
  train_cmd
      ->add_option("--max-restarts", train_args.max_restarts,
                   "after a crash, relaunch the run from its latest checkpoint, at most K times")
      ->check(CLI::NonNegativeNumber);
  train_cmd->footer(describe_keys());

  EvalArgs eval_args;
  auto* eval_cmd = app.add_subcommand("eval", "evaluate a checkpoint on the validation and test sets");
  eval_cmd->add_option("--checkpoint", eval_args.checkpoint,
                       "run directory (a single worker's or a swarm's), its checkpoints/, a particle-N/ or a step-N/ "
                       "directory")
      ->required();
  eval_cmd->add_option("--model", eval_args.model,
                       "a swarm's model: best (default: lowest validation loss recorded by the run), average (mean "
                       "of the particles' weights, batch norm re-estimated) or particle-N");
  eval_cmd->add_option("--set", eval_args.overrides, "override a key of the checkpoint's config (e.g. data.dir)")
      ->take_all();
  eval_cmd->add_option("--save-torchscript", eval_args.save_torchscript,
                       "model.name = torchscript: also write the module with the checkpoint's weights to FILE "
                       "(loads with torch.jit.load)");
  eval_cmd->footer(describe_keys());

  std::string compare_config;
  std::vector<std::string> compare_overrides;
  std::string compare_algos = "single,sync,local-sgd,easgd,nosync";
  CompareOptions compare_options;
  compare_options.out_dir = "";
  auto* compare_cmd = app.add_subcommand("compare", "run several algorithms under one budget and report side by side");
  compare_cmd->add_option("--config", compare_config, "TOML config file shared by every run")->check(CLI::ExistingFile);
  compare_cmd->add_option("--set", compare_overrides, "override a key: section.key=value (repeatable)")->take_all();
  compare_cmd->add_option("--algos", compare_algos, "comma-separated, from: " + fmt::format("{}", fmt::join(swarm::algo_names(), ",")))
      ->capture_default_str();
  compare_cmd->add_option("--budget", compare_options.budget,
                          "samples: equal total samples; steps: equal steps per worker")
      ->capture_default_str();
  compare_cmd->add_option("--target", compare_options.target, "test accuracy for time/samples to target")
      ->capture_default_str();
  compare_cmd->add_option("--out", compare_options.out_dir, "output directory (default runs/compare-<date>-<time>)");
  compare_cmd->footer(describe_keys());

  std::string experiment_config;
  std::vector<std::string> experiment_overrides;
  ExperimentOptions experiment_options;
  auto* experiment_cmd = app.add_subcommand(
      "experiment", "rerun the NoSync paper's claims and write report/claims.md (docs/experiments.md)");
  experiment_cmd->add_option("claims", experiment_options.claims, "1 2 3 4 5 sensitivity, or all")->required();
  experiment_cmd->add_flag("--quick", experiment_options.quick,
                           "preview: budgets x 0.25, 2 seeds, first 2,000 test images; ~11 minutes on 2 cores; writes "
                           "report/quick/");
  experiment_cmd->add_option("--scale", experiment_options.scale, "multiply every step budget by this factor")
      ->capture_default_str();
  experiment_cmd->add_option("--seeds", experiment_options.seeds, "seeds per configuration (default 3; quick: 2)")
      ->check(CLI::PositiveNumber);
  experiment_cmd->add_option("--out", experiment_options.out_dir, "report directory (default report, or report/quick)");
  experiment_cmd->add_option("--cifar-dir", experiment_options.cifar_dir,
                             "CIFAR-10 binary batches: adds a resnet section to claim 1 (skipped without)");
  experiment_cmd->add_option("--config", experiment_config, "TOML config file: the base of every run")
      ->check(CLI::ExistingFile);
  experiment_cmd->add_option("--set", experiment_overrides, "override a key of the base config (repeatable)")->take_all();
  experiment_cmd->footer(describe_keys());

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report("error", fmt::format("{} (hint: see nosync {}--help)", e.what(),
                                       app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name() + " "),
                  kExitUserError);
  }

  try {
    if (train_cmd->parsed()) return run_train(train_args);
    if (compare_cmd->parsed()) {
      const Config base = load_config(
          compare_config.empty() ? std::nullopt : std::optional(compare_config), compare_overrides);
      std::stringstream algos(compare_algos);
      for (std::string a; std::getline(algos, a, ',');)
        if (!a.empty()) compare_options.algos.push_back(a);
      if (compare_options.out_dir.empty()) {
        compare_options.out_dir = timestamp_dir();
        compare_options.out_dir.insert(5, "compare-");
      }
      set_threads(base.train.threads);
      return run_compare(base, compare_options);
    }
    if (experiment_cmd->parsed()) {
      const Config base = load_config(
          experiment_config.empty() ? std::nullopt : std::optional(experiment_config), experiment_overrides);
      experiment_options.command_line = "nosync";
      for (int i = 1; i < argc; ++i) experiment_options.command_line += std::string(" ") + argv[i];
      return run_experiment(base, experiment_options);
    }
    return run_eval(eval_args);
  } catch (const UserError& e) {
    return report("error", one_line(e), kExitUserError);
  } catch (const fs::filesystem_error& e) {  // a std::filesystem call without an error_code
    try {
      util::throw_fs(e);
    } catch (const UserError& mapped) {
      return report("error", one_line(mapped), kExitUserError);
    }
  } catch (const InternalError& e) {
    return report("internal error", std::string(e.what()) + " (please report this)", kExitInternalError);
  } catch (const c10::Error& e) {
    return report("internal error", std::string(e.what_without_backtrace()) + " (please report this)",
                  kExitInternalError);
  } catch (const std::exception& e) {
    return report("error", e.what(), 1);
  }
}

}  // namespace nosync::app
