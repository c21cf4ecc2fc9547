// samples/s of one training step: nosync's Trainer (its loader included) at a given model,
// precision and memory format, vs a bare libtorch loop (fp32, contiguous, pre-made batches).
// Rounds alternate between the two so that drift in the machine's speed hits both alike.
// Prints one JSON line per loop for run_step_bench.sh.
//
// Usage: nosync_bench_step [--threads N] [--seconds S] [--rounds R] [--batch B] [--model cnn|resnet|mlp]
//                          [--precision fp32|bf16] [--channels-last 0|1] [--prefetch K] [--bare 0|1]
//                          [--torchscript FILE] [--profile FILE]
// --torchscript FILE: the second loop is nosync's Trainer again, on the TorchScript module FILE
// (model.name = torchscript; bench/run_torchscript_bench.sh makes the twin of the built-in cnn)
// instead of the bare loop, at the same precision: the cost of running the model as TorchScript.
// --profile FILE: instead of timing, runs 200 of our steps under the autograd profiler and writes
// its Chrome trace to FILE (bench/profile_ops.py sums it per operator).
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <torch/nn/functional/loss.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/optim/sgd.h>

#include "nosync/data/dataset.h"
#include "nosync/models/registry.h"
#include "nosync/train/speed.h"
#include "nosync/train/trainer.h"
#include "nosync/util/allocator.h"
#include "nosync/util/machine.h"

using namespace nosync;
using Clock = std::chrono::steady_clock;

namespace {

double process_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Runs `step` for `seconds` of wall time; returns the wall seconds and adds the process's CPU
// seconds to cpu_s (at 1 thread, samples per CPU second is what an idle machine would give as
// samples per second, even while other processes share the cores).
double run_for(double seconds, const std::function<void()>& step, int64_t& steps, double& cpu_s) {
  const auto start = Clock::now();
  const double cpu0 = process_cpu_s();
  steps = 0;
  double elapsed = 0;
  while (elapsed < seconds) {
    step();
    ++steps;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  cpu_s += process_cpu_s() - cpu0;
  return elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  util::keep_freed_memory();  // as `nosync` does; run_step_bench.sh gives PyTorch the same setting
  int threads = 1, rounds = 3;
  double seconds = 4;
  int64_t batch = 64, prefetch = 0;
  std::string model = "cnn", precision = "fp32";
  bool channels_last = true, bare = true;
  std::string profile, torchscript;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    if (!std::strcmp(argv[i], "--precision")) precision = argv[i + 1];
    if (!std::strcmp(argv[i], "--channels-last")) channels_last = std::atoi(argv[i + 1]) != 0;
    if (!std::strcmp(argv[i], "--prefetch")) prefetch = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--bare")) bare = std::atoi(argv[i + 1]) != 0;
    if (!std::strcmp(argv[i], "--profile")) profile = argv[i + 1];
    if (!std::strcmp(argv[i], "--torchscript")) torchscript = argv[i + 1];
  }
  if (!torchscript.empty()) bare = true;  // the second loop of the rounds below
  torch::set_num_threads(threads);

  data::DataOptions data_options;  // Fashion-MNIST from the Debian package
  const data::Splits splits = data::load_splits(data_options);
  const data::Shape shape = splits.train.shape();
  train::TrainOptions train_options;
  train_options.batch_size = batch;
  train_options.schedule = "constant";
  train_options.precision = precision;
  train_options.channels_last = channels_last;
  data::LoaderOptions loader_options;
  loader_options.batch_size = batch;
  loader_options.prefetch = prefetch;

  torch::manual_seed(0);
  auto ours_net = models::build_model({model, 1.0, 0}, shape, 10);
  train::Trainer trainer(ours_net, train_options, splits.train, splits.norm, loader_options, 1 << 30);

  torch::manual_seed(0);
  auto bare_net = models::build_model({model, 1.0, 0}, shape, 10);
  torch::optim::SGD bare_opt(bare_net->parameters(),
                             torch::optim::SGDOptions(train_options.lr).momentum(0.9).weight_decay(5e-4));
  std::vector<torch::Tensor> xs, ys;
  for (int i = 0; i < 16; ++i) {
    xs.push_back(torch::randn({batch, shape.channels, shape.height, shape.width}));
    ys.push_back(torch::randint(0, 10, {batch}, torch::kInt64));
  }
  int64_t k = 0;
  std::function<void()> bare_step = [&] {
    const auto& x = xs[k % 16];
    const auto& y = ys[k % 16];
    ++k;
    bare_opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(bare_net->forward(x), y);
    loss.backward();
    bare_opt.step();
    loss.item<float>();
  };
  auto ours_step = [&] { trainer.step(); };
  std::unique_ptr<train::Trainer> ts_trainer;
  if (!torchscript.empty()) {
    models::ModelOptions ts_model;
    ts_model.name = "torchscript";
    ts_model.path = torchscript;
    ts_trainer = std::make_unique<train::Trainer>(models::build_model(ts_model, shape, 10), train_options,
                                                  splits.train, splits.norm, loader_options, 1 << 30);
    bare_step = [&] { ts_trainer->step(); };
  }

  int64_t steps = 0;
  double ignored = 0;
  run_for(1.0, ours_step, steps, ignored);  // warm-up: allocator, oneDNN primitive caches
  if (!profile.empty()) {
    torch::autograd::profiler::RecordProfile guard(profile);
    for (int i = 0; i < 200; ++i) ours_step();
    return 0;
  }
  if (bare) run_for(1.0, bare_step, steps, ignored);
  double ours_s = 0, bare_s = 0, ours_cpu = 0, bare_cpu = 0;
  int64_t ours_n = 0, bare_n = 0;
  for (int r = 0; r < rounds; ++r) {
    ours_s += run_for(seconds, ours_step, steps, ours_cpu);
    ours_n += steps;
    if (!bare) continue;
    bare_s += run_for(seconds, bare_step, steps, bare_cpu);
    bare_n += steps;
  }
  const double flops = models::training_flops_per_sample(*ours_net, shape);
  // What one core really reaches (the clock in /proc/cpuinfo is nominal in a virtual machine).
  const double measured_peak[2] = {util::measured_peak_gflops_per_core(false),
                                   util::measured_peak_gflops_per_core(true)};
  auto line = [&](const std::string& loop, const std::string& prec, double rate, double cpu_rate) {
    std::cout << fmt::format(
        "{{\"loop\": \"{}\", \"model\": \"{}\", \"precision\": \"{}\", \"threads\": {}, \"samples_per_s\": {:.1f}, "
        "\"samples_per_cpu_s\": {:.1f}, \"flops_per_sample\": {:.0f}, \"peak_gflops_per_core\": {:.1f}, "
        "\"measured_peak_gflops_per_core\": {:.1f}, \"blas\": \"{}\"}}\n",
        loop, model, prec, threads, rate, cpu_rate, flops,
        train::peak_gflops_per_core([&] {
          train::TrainOptions o;
          o.precision = prec;
          return o;
        }()),
        measured_peak[prec == "bf16"], util::blas_info().name);
  };
  line("nosync", precision, ours_n * batch / ours_s, ours_n * batch / ours_cpu);
  if (ts_trainer) line("torchscript", precision, bare_n * batch / bare_s, bare_n * batch / bare_cpu);
  else if (bare) line("bare_libtorch", "fp32", bare_n * batch / bare_s, bare_n * batch / bare_cpu);
  return 0;
}
