// The validation phase (preflight.h).
#include "nosync/app/preflight.h"

#include <algorithm>
#include <limits>
#include <map>

#include <c10/util/StringUtil.h>

#include "nosync/app/swarm_launch.h"
#include "nosync/models/registry.h"
#include "nosync/swarm/algo.h"
#include "nosync/swarm/fault.h"
#include "nosync/train/loop.h"
#include "nosync/train/trainer.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::app {

namespace {

// Training samples each worker draws from: its shard, or the whole split.
int64_t worker_share(const Config& config, const data::Splits& splits, int particles) {
  return splits.train.size() / (config.swarm.shard ? particles : 1);
}

// The steps particle i of the plan runs (as swarm/worker.cpp and train/loop.cpp count them).
int64_t steps_of(const Config& config, const SwarmPlan& plan, const data::Splits& splits, int i) {
  return train::total_steps(plan.train[i], worker_share(config, splits, plan.particles));
}

const char* kOtherModelHint = "the checkpoint was written by another model; check model.* in its config.toml";

// Every optimizer tensor of a checkpoint belongs to `net` and has the shape resuming expects.
void check_optimizer_tensors(const train::TensorList& optimizer, models::NetImpl& net, const std::string& source) {
  std::map<std::string, torch::Tensor> params;
  for (const auto& p : net.named_parameters()) params.emplace(p.key(), p.value());
  const int64_t numel = models::parameter_count(net);
  for (const auto& [name, t] : optimizer) {
    if (name.rfind("_rng.", 0) == 0) continue;  // the process's random generator
    if (name.rfind("swarm.", 0) == 0) {         // an exchange's flat state: one value per parameter
      if (t.numel() != numel)
        throw UserError(fmt::format("{}: '{}' holds {} values, but the model has {} parameters", source, name,
                                    t.numel(), numel),
                        kOtherModelHint);
      continue;
    }
    const auto dot = name.rfind('.');
    const std::string param = dot == std::string::npos ? name : name.substr(0, dot);
    const std::string kind = dot == std::string::npos ? "" : name.substr(dot + 1);
    const auto it = params.find(param);
    if (it == params.end())
      throw UserError(fmt::format("{}: tensor '{}' does not belong to this model", source, name), kOtherModelHint);
    if (kind == "step") {
      if (t.numel() != 1 || t.item<double>() < 0)
        throw UserError(fmt::format("{}: '{}' must be one count >= 0", source, name), kOtherModelHint);
      continue;
    }
    if (!t.sizes().equals(it->second.sizes()))
      throw UserError(fmt::format("{}: '{}' has shape {} but the parameter {}", source, name, c10::str(t.sizes()),
                                  c10::str(it->second.sizes())),
                      kOtherModelHint);
  }
}

}  // namespace

void check_run(const Config& config, const data::Splits& splits, int particles, int ranks) {
  if (splits.train.size() == 0)
    throw UserError("data: the training split is empty", "check data.dir, data.train_limit and data.val_size");
  const SwarmPlan plan = plan_swarm(config, particles);  // checks swarm.overrides
  const int64_t share = worker_share(config, splits, particles);
  for (int i = 0; i < particles; ++i) {
    const int64_t batch = plan.train[i].batch_size;
    if (batch > share)
      throw UserError(config.swarm.shard
                          ? fmt::format("train.batch_size: {} is larger than a worker's shard ({} samples = {} / {} "
                                        "particles)",
                                        batch, share, splits.train.size(), particles)
                          : fmt::format("train.batch_size: {} is larger than the training split ({} samples)", batch,
                                        share),
                      config.swarm.shard ? "lower train.batch_size, use fewer particles, or set swarm.shard = false"
                                         : "lower train.batch_size or data.val_size");
    steps_of(config, plan, splits, i);
  }
  check_model(config, splits);  // the model fits the data and runs on it
  swarm::check_fault_targets(swarm::active_faults(config.swarm.fault), particles, ranks,
                             swarm::active_faults_source());
}

CheckedResume check_resume(const Config& config, const data::Splits& splits, const std::string& run_dir,
                           int saved_particles, int particles) {
  CheckedResume out;
  const SwarmPlan plan = plan_swarm(config, particles);
  if (saved_particles == 0) {
    ResumeSource single;
    single.dir = train::resolve_checkpoint_dir(run_dir);
    out.sources.push_back(single);
  } else {
    out.sources = resume_plan(config, splits, run_dir, saved_particles, out.notes);
  }
  out.step = std::numeric_limits<int64_t>::max();
  bool all_done = true;
  for (size_t i = 0; i < out.sources.size(); ++i) {
    const ResumeSource& source = out.sources[i];
    const train::CheckpointContent ck = load_resume_point(source);
    train::StateExpectation expect;
    expect.step = train::checkpoint_dir_step(source.dir);
    if (expect.step < 0)
      throw UserError(fmt::format("{}: not a step-<N> checkpoint directory", source.dir),
                      "checkpoints/latest must name a step-<N> directory");
    expect.particle = saved_particles == 0 ? -1 : source.from;
    expect.algo = config.swarm.algo;
    expect.model = config.model.name;
    const train::SavedProgress saved = train::check_saved_progress(ck.state, expect, source.dir + "/state.json");
    const train::TrainOptions& options = saved_particles == 0 ? config.train : plan.train[i];
    auto net = train::load_trained_net(config.model, options, splits.train, ck.model, source.dir + "/model.pt");
    check_optimizer_tensors(ck.optimizer, *net, source.dir + "/optimizer.pt");
    const int64_t total = saved_particles == 0 ? train::total_steps(config.train, splits.train.size())
                                               : steps_of(config, plan, splits, static_cast<int>(i));
    if (saved.step < total) all_done = false;
    if (saved.step < out.step) {
      out.step = saved.step;
      out.total_steps = total;
    }
  }
  // A swarm resized on resume asks for something new (its spawned particles), even at the end.
  const bool resized = saved_particles != 0 && particles != saved_particles;
  out.finished = all_done && !resized && util::path_exists(run_dir + "/summary.json");
  return out;
}

}  // namespace nosync::app
