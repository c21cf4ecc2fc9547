// CPU detection from /proc/cpuinfo (Linux); the peak-rate model is documented in machine.h.
#include "nosync/util/machine.h"

#include <sys/resource.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace nosync::util {

namespace {

CpuInfo detect() {
  CpuInfo info;
  info.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  bool model = false, mhz = false, flags = false;
  while (std::getline(in, line) && !(model && mhz && flags)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && !model) {
      info.model = value;
      model = true;
    } else if (key == "cpu MHz" && !mhz) {
      info.mhz = std::atof(value.c_str());
      mhz = true;
    } else if (key == "flags" && !flags) {
      std::istringstream words(value);
      bool avx2 = false, fma = false;
      for (std::string f; words >> f;) {
        avx2 |= f == "avx2";
        fma |= f == "fma";
        info.avx512f |= f == "avx512f";
        info.avx512_bf16 |= f == "avx512_bf16";
      }
      info.avx2_fma = avx2 && fma;
      flags = true;
    }
  }
  // The nominal maximum clock, where the kernel exposes it, beats the momentary "cpu MHz".
  std::ifstream max_khz("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
  double khz = 0;
  if (max_khz >> khz && khz > 0) info.mhz = khz / 1000;
  return info;
}

}  // namespace

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

double peak_gflops_per_core(bool bf16) {
  const CpuInfo& c = cpu_info();
  const double flops_per_cycle = c.avx512f ? 64 : c.avx2_fma ? 32 : 8;
  const double bf16_factor = bf16 && c.avx512_bf16 ? 2 : 1;
  return c.mhz / 1000 * flops_per_cycle * bf16_factor;
}

std::string cpu_description() {
  const CpuInfo& c = cpu_info();
  return fmt::format("{}, {} cores, {:.0f} MHz, {}{}", c.model.empty() ? "unknown CPU" : c.model, c.cores, c.mhz,
                     c.avx512f ? "avx512" : c.avx2_fma ? "avx2" : "no avx2", c.avx512_bf16 ? " + avx512_bf16" : "");
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024;  // Linux reports KiB
}

}  // namespace nosync::util
