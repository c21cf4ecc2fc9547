// The single-worker run.
#include "nosync/train/loop.h"

#include <filesystem>

#include <ATen/Parallel.h>

#include "nosync/train/model_card.h"
#include "nosync/train/speed.h"
#include "nosync/train/step_loop.h"
#include "nosync/util/error.h"

namespace nosync::train {

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

RunResult run_single(const RunSetup& setup, const data::Splits& splits, EventSink& sink) {
  const auto& opt = setup.train;
  torch::manual_seed(static_cast<uint64_t>(opt.seed));
  auto net = models::build_model_for(setup.model, splits.train);
  const int64_t total = total_steps(opt, splits.train.size());
  Trainer trainer(net, opt, splits.train, splits.norm, training_loader_options(setup.data, opt), total);
  const Evaluator val(splits.val, splits.norm), test(splits.test, splits.norm);

  LoopSetup loop;
  loop.train = opt;
  loop.checkpoint = setup.checkpoint;
  loop.checkpoints_dir = setup.run_dir + "/checkpoints";
  loop.config_toml = setup.config_toml;
  loop.state = {{"model", setup.model.name}, {"algo", "single"},
                {kModelCardKey, model_card(setup.model, setup.data, splits, trainer.net()->compute())}};
  loop.owns_global_rng = true;
  loop.control = setup.control;
  if (setup.resume) {
    loop.resume_dir = resolve_checkpoint_dir(setup.run_dir);
    loop.resume = read_checkpoint(loop.resume_dir);
  }
  std::filesystem::create_directories(setup.run_dir);
  MetricsSink metrics(setup.run_dir);
  TeeSink both({&metrics, &sink});
  const LoopResult l = run_loop(loop, trainer, val, test, both);

  RunResult r;
  r.completed = l.completed;
  r.last_checkpoint = l.last_checkpoint;
  r.val = l.val;
  r.test = l.test;
  r.steps = l.steps;
  r.epochs = static_cast<double>(r.steps) / trainer.loader().batches_per_epoch();
  r.wall_s = l.wall_s;
  r.samples_per_s = l.train_s > 0 ? r.steps * opt.batch_size / l.train_s : 0;
  r.parameters = models::parameter_count(*net);
  RunSummary& s = r.summary;
  s.completed = r.completed;
  s.model = setup.model.name;
  s.parameters = r.parameters;
  s.test = r.test;
  s.val = r.val;
  s.steps = r.steps;
  s.epochs = r.epochs;
  s.samples = r.steps * opt.batch_size;
  s.wall_s = r.wall_s;
  s.samples_per_s = r.samples_per_s;
  s.speed = speed_summary(opt, models::training_flops_per_sample(*net, splits.train.shape()), r.samples_per_s,
                          cores_used(at::get_num_threads()));
  s.write(setup.run_dir);
  return r;
}

}  // namespace nosync::train
