// The single-worker run loop.
#include "nosync/train/loop.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include "nosync/util/error.h"
#include "nosync/train/metrics.h"
#include "nosync/train/speed.h"
#include "nosync/util/fs.h"

namespace nosync::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

const char* kRngKey = "_rng.cpu_generator";

}  // namespace

data::LoaderOptions training_loader_options(const data::DataOptions& data, const TrainOptions& train) {
  data::LoaderOptions loader;
  loader.batch_size = train.batch_size;
  loader.seed = static_cast<uint64_t>(train.seed);
  loader.augment_crop = data.augment_crop;
  loader.augment_flip = data.augment_flip;
  loader.prefetch = train.prefetch;
  return loader;
}

int64_t total_steps(const TrainOptions& options, int64_t train_size) {
  if (options.steps > 0) return options.steps;
  const int64_t per_epoch = train_size / options.batch_size;
  if (per_epoch <= 0)
    throw UserError(fmt::format("train.batch_size: {} is larger than the training split ({} samples)",
                                options.batch_size, train_size),
                    "lower train.batch_size or data.val_size");
  return per_epoch * options.epochs;
}

RunResult run_single(const RunSetup& setup, const data::Splits& splits, Observer& observer) {
  const auto& opt = setup.train;
  torch::manual_seed(static_cast<uint64_t>(opt.seed));
  auto net = models::build_model(setup.model, splits.train.shape(), splits.train.num_classes);

  const data::LoaderOptions loader = training_loader_options(setup.data, opt);
  const int64_t total = total_steps(opt, splits.train.size());
  Trainer trainer(net, opt, splits.train, splits.norm, loader, total);
  const Evaluator val_eval(splits.val, splits.norm);
  const Evaluator test_eval(splits.test, splits.norm);

  const std::string checkpoints_dir = setup.run_dir + "/checkpoints";
  std::filesystem::create_directories(checkpoints_dir);
  double wall_offset = 0, train_s_offset = 0;
  if (setup.resume) {
    const std::string dir = resolve_checkpoint_dir(setup.run_dir);
    const CheckpointContent ck = read_checkpoint(dir);
    TensorList optimizer;
    for (const auto& [name, t] : ck.optimizer) {
      if (name == kRngKey) {
        auto generator = at::detail::getDefaultCPUGenerator();
        generator.set_state(t);
      } else {
        optimizer.emplace_back(name, t);
      }
    }
    trainer.restore(ck.model, optimizer, ck.state.at("trainer"));
    wall_offset = ck.state.value("wall_s", 0.0);
    train_s_offset = ck.state.value("train_s", 0.0);
    observer.on_resume(trainer.steps_done(), dir);
  }

  const int64_t steps_per_epoch = trainer.loader().batches_per_epoch();
  const int64_t eval_every = opt.eval_every > 0 ? opt.eval_every : steps_per_epoch;
  const int64_t checkpoint_every = setup.checkpoint.every > 0 ? setup.checkpoint.every : steps_per_epoch;
  const int64_t log_every = std::max<int64_t>(1, opt.log_every);
  const int64_t parameters = models::parameter_count(*net);
  MetricsWriter metrics(setup.run_dir + "/metrics.jsonl");
  observer.on_start(total, steps_per_epoch, parameters);

  const auto start = Clock::now();
  double train_s = 0;  // time inside optimizer steps only (what samples/s is measured on)
  double window_loss = 0, window_s = 0;
  int64_t window_steps = 0;
  const int64_t first_step = trainer.steps_done();
  Progress p;
  p.total_steps = total;
  EvalResult last_val, last_test;
  std::string last_checkpoint;

  auto fill = [&](int64_t step) {
    p.step = step;
    p.epoch = static_cast<double>(step) / steps_per_epoch;
    p.lr = trainer.lr();
    p.elapsed_s = wall_offset + seconds_since(start);
  };
  auto write_checkpoint_now = [&](int64_t step) {
    CheckpointContent ck;
    ck.model = trainer.model_state();
    ck.optimizer = trainer.optimizer_state();
    ck.optimizer.emplace_back(kRngKey, at::detail::getDefaultCPUGenerator().get_state());
    ck.state = {{"trainer", trainer.progress_state()},
                {"wall_s", wall_offset + seconds_since(start)},
                {"train_s", train_s_offset + train_s},
                {"model", setup.model.name}};
    ck.config_toml = setup.config_toml;
    const std::string dir = write_checkpoint(checkpoints_dir, step, ck, static_cast<int>(setup.checkpoint.keep));
    metrics.write({{"event", "checkpoint"}, {"step", step}, {"path", dir}});
    observer.on_checkpoint(dir);
    last_checkpoint = dir;
  };
  RunControl* control = setup.control;
  int checkpoint_requests_seen = control != nullptr ? control->checkpoint_requests.load() : 0;

  while (trainer.steps_done() < total) {
    const auto t0 = Clock::now();
    const float loss = trainer.step();
    const double dt = seconds_since(t0);
    train_s += dt;
    const int64_t step = trainer.steps_done();
    if (!std::isfinite(loss))
      throw UserError(fmt::format("training diverged: loss is {} at step {}", loss, step),
                      "lower train.lr or add train.warmup_steps; the last checkpoint is intact");
    window_loss += loss;
    window_s += dt;
    ++window_steps;
    fill(step);
    p.train_loss = window_loss / window_steps;
    p.samples_per_s = window_s > 0 ? window_steps * opt.batch_size / window_s : 0;
    p.val.reset();
    p.test.reset();
    observer.on_step(p);

    if (step % log_every == 0 || step == total) {
      metrics.write({{"event", "train"}, {"step", step}, {"epoch", p.epoch}, {"wall_s", p.elapsed_s},
                     {"train_loss", p.train_loss}, {"lr", p.lr}, {"samples_per_s", p.samples_per_s}});
      window_loss = window_s = 0;
      window_steps = 0;
    }
    if (step % eval_every == 0 || step == total) {
      last_val = val_eval.run(*net);
      last_test = test_eval.run(*net);
      p.val = last_val;
      p.test = last_test;
      p.elapsed_s = wall_offset + seconds_since(start);
      metrics.write({{"event", "eval"}, {"step", step}, {"epoch", p.epoch}, {"wall_s", p.elapsed_s},
                     {"lr", p.lr}, {"val_loss", last_val.loss}, {"val_accuracy", last_val.accuracy},
                     {"test_loss", last_test.loss}, {"test_accuracy", last_test.accuracy}});
      observer.on_eval(p);
    }
    bool requested = false;
    bool stop = observer.should_stop();
    if (control != nullptr) {
      const int requests = control->checkpoint_requests.load();
      requested = requests != checkpoint_requests_seen;
      checkpoint_requests_seen = requests;
      stop = stop || control->stop.load();
    }
    if (step % checkpoint_every == 0 || step == total || stop || requested) write_checkpoint_now(step);
    if (stop) break;
  }
  if (first_step == total) {  // resumed a finished run: evaluate so the summary is complete
    last_val = val_eval.run(*net);
    last_test = test_eval.run(*net);
  }

  RunResult r;
  r.completed = trainer.steps_done() == total;
  r.last_checkpoint = last_checkpoint;
  r.val = last_val;
  r.test = last_test;
  r.steps = trainer.steps_done();
  r.epochs = static_cast<double>(r.steps) / steps_per_epoch;
  r.wall_s = wall_offset + seconds_since(start);
  const double all_train_s = train_s_offset + train_s;
  r.samples_per_s = all_train_s > 0 ? r.steps * opt.batch_size / all_train_s : 0;
  r.parameters = parameters;
  r.summary = {{"algo", "single"},
               {"completed", r.completed},
               {"model", setup.model.name},
               {"parameters", parameters},
               {"test_accuracy", r.test.accuracy},
               {"test_loss", r.test.loss},
               {"val_accuracy", r.val.accuracy},
               {"val_loss", r.val.loss},
               {"steps", r.steps},
               {"epochs", r.epochs},
               {"samples", r.steps * opt.batch_size},
               {"wall_s", r.wall_s},
               {"samples_per_s", r.samples_per_s}};
  r.summary.update(speed_summary(opt, models::training_flops_per_sample(*net, splits.train.shape()), r.samples_per_s,
                                 cores_used(at::get_num_threads())));
  util::write_file_atomic(setup.run_dir + "/summary.json", r.summary.dump(2) + "\n");
  return r;
}

}  // namespace nosync::train
