// Achieved vs peak arithmetic rate for run summaries.
#include "nosync/train/speed.h"

#include <algorithm>

#include "nosync/util/machine.h"

namespace nosync::train {

std::string resolved_precision(const TrainOptions& options) {
  if (options.precision != "auto") return options.precision;
  return util::cpu_info().avx512_bf16 ? "bf16" : "fp32";
}

double peak_gflops_per_core(const TrainOptions& options) {
  if (options.peak_gflops > 0) return options.peak_gflops;
  return util::peak_gflops_per_core(resolved_precision(options) == "bf16");
}

int64_t cores_used(int64_t threads_total) {
  return std::clamp<int64_t>(threads_total, 1, util::cpu_info().cores);
}

nlohmann::json speed_summary(const TrainOptions& options, double flops_per_sample, double samples_per_s,
                             int64_t cores) {
  nlohmann::json s = {{"precision", resolved_precision(options)}, {"peak_rss_mib", util::peak_rss_mib()},
                      {"blas", util::blas_info().name}};
  if (flops_per_sample <= 0) return s;
  const double achieved = flops_per_sample * samples_per_s / 1e9;
  const double peak = peak_gflops_per_core(options) * static_cast<double>(cores);
  s["flops_per_sample"] = flops_per_sample;
  s["achieved_gflops"] = achieved;
  s["peak_gflops"] = peak;
  s["peak_cores"] = cores;
  if (peak > 0) s["peak_fraction"] = achieved / peak;
  return s;
}

}  // namespace nosync::train
