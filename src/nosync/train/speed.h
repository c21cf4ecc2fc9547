// How fast a run trained, in the units that compare with the hardware: achieved GFLOP/s
// (analytic FLOPs per sample x samples/s) and the fraction of the CPU's peak for the precision.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "nosync/train/options.h"

namespace nosync::train {

// The precision a run computes in: train.precision, with "auto" resolved to "bf16" on CPUs with
// native bf16 dot products (AVX512-BF16), "fp32" elsewhere (emulated bf16 is slower than fp32).
std::string resolved_precision(const TrainOptions& options);

// Peak GFLOP/s of one core for the resolved precision: train.peak_gflops when set, else detected
// (util::peak_gflops_per_core).
double peak_gflops_per_core(const TrainOptions& options);

// Summary fields: precision, flops_per_sample, achieved_gflops, peak_gflops (of `cores` cores),
// peak_fraction, peak_rss_mib. flops_per_sample 0 (unknown model) leaves out the rates.
nlohmann::json speed_summary(const TrainOptions& options, double flops_per_sample, double samples_per_s,
                             int64_t cores);

// Cores a run occupies: the intra-op threads of all its workers, at most the machine's.
int64_t cores_used(int64_t threads_total);

}  // namespace nosync::train
