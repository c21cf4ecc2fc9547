// tokens/s of one gpt training step in nosync: forward (under the net's precision, as the
// Trainer runs it), cross-entropy over [B*T, V], backward into the flat gradient buffer, AdamW
// or SGD step. Batches are random tokens made in memory beforehand, as in
// bench/pytorch_gpt_step.py, so both sides time the same work. Prints one JSON line.
//
// Usage: nosync_bench_gpt [--threads N] [--seconds S] [--rounds R] [--batch B] [--context T]
//                         [--layers L] [--heads H] [--embed C] [--precision fp32|bf16]
//                         [--optimizer adamw|sgd] [--profile FILE]
// --profile FILE: instead of timing, runs 50 steps under the autograd profiler and writes its
// Chrome trace to FILE (bench/profile_ops.py sums it per operator).
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>

#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "nosync/models/registry.h"
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

}  // namespace

int main(int argc, char** argv) {
  util::keep_freed_memory();  // as `nosync` does; run_gpt_bench.sh gives PyTorch the same setting
  int threads = 1, rounds = 3;
  double seconds = 4;
  int64_t batch = 16, context = 128, vocab = 256;
  models::ModelOptions model{"gpt"};
  std::string precision = "fp32", optimizer = "adamw", profile;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* a = argv[i];
    const char* v = argv[i + 1];
    if (!std::strcmp(a, "--threads")) threads = std::atoi(v);
    if (!std::strcmp(a, "--seconds")) seconds = std::atof(v);
    if (!std::strcmp(a, "--rounds")) rounds = std::atoi(v);
    if (!std::strcmp(a, "--batch")) batch = std::atoll(v);
    if (!std::strcmp(a, "--context")) context = std::atoll(v);
    if (!std::strcmp(a, "--layers")) model.layers = std::atoll(v);
    if (!std::strcmp(a, "--heads")) model.heads = std::atoll(v);
    if (!std::strcmp(a, "--embed")) model.embed = std::atoll(v);
    if (!std::strcmp(a, "--precision")) precision = v;
    if (!std::strcmp(a, "--optimizer")) optimizer = v;
    if (!std::strcmp(a, "--profile")) profile = v;
  }
  torch::set_num_threads(threads);

  torch::manual_seed(0);
  const data::Shape shape{1, 1, context};
  auto net = models::build_model(model, shape, vocab);
  net->train();
  net->set_compute({/*bf16=*/precision == "bf16", /*channels_last=*/false});
  auto [flat_params, flat_grads] = train::flatten_parameters(*net);  // as the Trainer holds them
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (optimizer == "sgd")
    opt = std::make_unique<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  else
    opt = std::make_unique<torch::optim::AdamW>(net->parameters(), torch::optim::AdamWOptions(3e-4).weight_decay(0.1));
  std::vector<torch::Tensor> xs, ys;
  for (int i = 0; i < 16; ++i) {
    xs.push_back(torch::randint(0, vocab, {batch, context}, torch::kInt64));
    ys.push_back(torch::randint(0, vocab, {batch, context}, torch::kInt64));
  }
  int64_t k = 0;
  auto step = [&] {
    const auto& x = xs[k % 16];
    const auto& y = ys[k % 16];
    ++k;
    flat_grads.zero_();
    auto loss = torch::nn::functional::cross_entropy(net->logits(x).view({-1, vocab}), y.view({-1}));
    loss.backward();
    opt->step();
    loss.item<float>();
  };
  auto run_for = [&](double sec, int64_t& steps, double& cpu_s) {
    const auto start = Clock::now();
    const double cpu0 = process_cpu_s();
    steps = 0;
    double elapsed = 0;
    while (elapsed < sec) {
      step();
      ++steps;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    }
    cpu_s += process_cpu_s() - cpu0;
    return elapsed;
  };

  int64_t steps = 0;
  double ignored = 0;
  run_for(1.0, steps, ignored);  // warm-up: allocator, BLAS buffers
  if (!profile.empty()) {
    torch::autograd::profiler::RecordProfile guard(profile);
    for (int i = 0; i < 50; ++i) step();
    return 0;
  }
  double wall_s = 0, cpu_s = 0;
  int64_t n = 0;
  for (int r = 0; r < rounds; ++r) {
    wall_s += run_for(seconds, steps, cpu_s);
    n += steps;
  }
  const double tokens = static_cast<double>(n * batch * context);
  const double flops_per_window = models::training_flops_per_sample(*net, shape);
  std::cout << fmt::format(
      "{{\"loop\": \"nosync\", \"precision\": \"{}\", \"threads\": {}, \"optimizer\": \"{}\", \"batch\": {}, "
      "\"context\": {}, \"parameters\": {}, \"tokens_per_s\": {:.1f}, \"tokens_per_cpu_s\": {:.1f}, "
      "\"flops_per_token\": {:.0f}, \"blas\": \"{}\"}}\n",
      precision, threads, optimizer, batch, context, models::parameter_count(*net), tokens / wall_s, tokens / cpu_s,
      flops_per_window / static_cast<double>(context), util::blas_info().name);
  return 0;
}
