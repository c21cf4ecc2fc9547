// What this machine can do: CPU model, clock, vector features and the peak arithmetic rate that
// achieved GFLOP/s are compared with; the process's peak memory.
#pragma once

#include <string>

namespace nosync::util {

struct CpuInfo {
  std::string model;     // "AMD EPYC ..." (/proc/cpuinfo model name)
  double mhz = 0;        // nominal clock of core 0
  int cores = 1;         // logical CPUs available to this process
  bool avx2_fma = false;
  bool avx512f = false;
  bool avx512_bf16 = false;
};

// Read once from /proc/cpuinfo and sysfs (fields stay at their defaults where unreadable).
const CpuInfo& cpu_info();

// Peak GFLOP/s of one core: clock x FLOPs per cycle, assuming two fused multiply-add pipes of the
// widest vector width (AVX-512: 2 x 16 lanes x 2 = 64 float32 FLOPs per cycle; AVX2: 32; else
// 8). bf16 doubles it where the CPU has AVX512-BF16 dot products (two bf16 products per float32
// lane). An estimate: CPUs with one 512-bit FMA pipe reach half. 0 when the clock is unknown.
double peak_gflops_per_core(bool bf16);

// "model, N cores, avx512_bf16" for benchmark and summary records.
std::string cpu_description();

// Peak resident set size of this process so far, in MiB (getrusage).
double peak_rss_mib();

}  // namespace nosync::util
