// What this machine can do: CPU model, clock, vector features and the peak arithmetic rate that
// achieved GFLOP/s are compared with; the process's peak memory.
#pragma once

#include <cstdint>
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

// Peak GFLOP/s of one core as measured: ~`seconds` of fused multiply-adds (float32), or of
// AVX512-BF16 dot products (bf16), with enough independent accumulators to fill every pipe, on
// the calling thread. It includes the real clock (turbo), which /proc/cpuinfo does not show in
// virtual machines, so it is what a kernel can reach at most. Run it on an otherwise idle core.
// 0 where the CPU lacks the instructions (bf16 without AVX512-BF16, or neither AVX-512 nor AVX2).
double measured_peak_gflops_per_core(bool bf16, double seconds = 0.2);

// Intra-op threads of one of `workers` particles or ranks sharing this machine's cores: `asked`
// (train.threads; 0 = an equal share of the cores), lowered to the share when workers x asked
// exceeds the cores. Above the cores every OpenMP region waits for descheduled threads: ten tiny
// steps took minutes with 1024, and a stop request waited as long. `warning` says what was lowered.
struct ThreadShare {
  int64_t threads = 1;
  std::string warning;  // empty unless `asked` was lowered
};
ThreadShare share_threads(int64_t asked, int64_t workers);

// "model, N cores, avx512_bf16" for benchmark and summary records.
std::string cpu_description();

// The BLAS library that ATen's float32 matrix products call (linear layers in fp32, the mlp):
// libtorch links libblas.so.3, which Debian resolves through update-alternatives. The Netlib
// reference BLAS (libblas3) runs them about 10x slower than OpenBLAS on one core.
struct BlasInfo {
  std::string path;      // resolved file of the library that defines sgemm_ ("" if none is loaded)
  std::string name;      // "OpenBLAS (openmp)", "reference BLAS", "BLIS", "MKL", "unknown"
  bool reference = false;
  std::string advice;    // non-empty when nosync will be slow with this library: what to install
};

// Classifies a BLAS by the resolved path of its file; `openblas_parallel` is what
// openblas_get_parallel() returns (0 sequential, 1 pthreads, 2 OpenMP; -1 when not OpenBLAS).
BlasInfo classify_blas(const std::string& path, int openblas_parallel);

// The BLAS of this process (looked up once, by the symbol sgemm_).
const BlasInfo& blas_info();

// Peak resident set size of this process so far, in MiB (getrusage).
double peak_rss_mib();

}  // namespace nosync::util
