// How fast a run trained, in the units that compare with the hardware: achieved GFLOP/s
// (analytic FLOPs per sample x samples/s) and the fraction of the CPU's peak for the precision.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "nosync/train/options.h"

namespace nosync::train {

// Peak GFLOP/s of one core for options.precision: train.peak_gflops when set, else detected
// (util::peak_gflops_per_core).
double peak_gflops_per_core(const TrainOptions& options);

// Summary fields: precision, flops_per_sample, achieved_gflops, peak_gflops (of `cores` cores),
// peak_fraction, peak_rss_mib. flops_per_sample 0 (unknown model) leaves out the rates.
nlohmann::json speed_summary(const TrainOptions& options, double flops_per_sample, double samples_per_s,
                             int64_t cores);

// Cores a run occupies: the intra-op threads of all its workers, at most the machine's.
int64_t cores_used(int64_t threads_total);

}  // namespace nosync::train
