// CPU detection from /proc/cpuinfo (Linux); the peak-rate model is documented in machine.h.
#include "nosync/util/machine.h"

#include <dlfcn.h>
#include <immintrin.h>
#include <sys/resource.h>

#include <climits>
#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "nosync/util/clock.h"

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

namespace {


// kAcc independent accumulator chains: more than latency x pipes (about 4 x 2 on current cores),
// so the loop is bound by throughput. FLOPs per iteration are counted by the callers.
constexpr int kAcc = 16;
constexpr int64_t kIters = 1 << 14;

// The sum of a vector's lanes, stored to memory (the result keeps the timed loop alive). Not
// _mm512_reduce_add_ps: GCC 12 warns inside its header that an undefined vector is used.
template <size_t N>
double lane_sum(const float (&lanes)[N]) {
  double total = 0;
  for (float x : lanes) total += x;
  return total;
}

__attribute__((target("avx512f,avx512bf16"))) double dpbf16_loop(int64_t rounds) {
  __m512 acc[kAcc];
  for (int k = 0; k < kAcc; ++k) acc[k] = _mm512_set1_ps(0.0f);
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80);  // 1.0 in bf16
  const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3c00);  // 2^-7: sums stay small and exact
  for (int64_t r = 0; r < rounds; ++r)
    for (int64_t i = 0; i < kIters; ++i)
      for (int k = 0; k < kAcc; ++k) acc[k] = _mm512_dpbf16_ps(acc[k], a, b);
  __m512 sum = acc[0];
  for (int k = 1; k < kAcc; ++k) sum = _mm512_add_ps(sum, acc[k]);
  float lanes[16];
  _mm512_storeu_ps(lanes, sum);
  return lane_sum(lanes);
}

__attribute__((target("avx512f"))) double fma512_loop(int64_t rounds) {
  __m512 acc[kAcc];
  for (int k = 0; k < kAcc; ++k) acc[k] = _mm512_set1_ps(0.0f);
  const __m512 a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(0x1p-20f);
  for (int64_t r = 0; r < rounds; ++r)
    for (int64_t i = 0; i < kIters; ++i)
      for (int k = 0; k < kAcc; ++k) acc[k] = _mm512_fmadd_ps(a, b, acc[k]);
  __m512 sum = acc[0];
  for (int k = 1; k < kAcc; ++k) sum = _mm512_add_ps(sum, acc[k]);
  float lanes[16];
  _mm512_storeu_ps(lanes, sum);
  return lane_sum(lanes);
}

__attribute__((target("avx2,fma"))) double fma256_loop(int64_t rounds) {
  __m256 acc[kAcc];
  for (int k = 0; k < kAcc; ++k) acc[k] = _mm256_set1_ps(0.0f);
  const __m256 a = _mm256_set1_ps(1.0f), b = _mm256_set1_ps(0x1p-20f);
  for (int64_t r = 0; r < rounds; ++r)
    for (int64_t i = 0; i < kIters; ++i)
      for (int k = 0; k < kAcc; ++k) acc[k] = _mm256_fmadd_ps(a, b, acc[k]);
  __m256 sum = acc[0];
  for (int k = 1; k < kAcc; ++k) sum = _mm256_add_ps(sum, acc[k]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  return lane_sum(lanes);
}

}  // namespace

double measured_peak_gflops_per_core(bool bf16, double seconds) {
  const CpuInfo& c = cpu_info();
  double (*loop)(int64_t) = nullptr;
  double flops_per_round = 0;  // per round of kIters x kAcc instructions
  if (bf16) {
    if (!c.avx512_bf16) return 0;
    loop = dpbf16_loop;
    flops_per_round = 16.0 * 2 * 2;  // 16 float lanes, each 2 bf16 products and their sums
  } else if (c.avx512f) {
    loop = fma512_loop;
    flops_per_round = 16.0 * 2;
  } else if (c.avx2_fma) {
    loop = fma256_loop;
    flops_per_round = 8.0 * 2;
  } else {
    return 0;
  }
  flops_per_round *= static_cast<double>(kIters) * kAcc;
  volatile double sink = loop(4);  // warm-up: the clock ramps up, vector units power on
  int64_t rounds = 8;
  double best = 0;  // best of several timings: an interruption only lowers one of them
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    sink = sink + loop(rounds);
    const double s = seconds_since(t0);
    best = std::max(best, flops_per_round * static_cast<double>(rounds) / s / 1e9);
  }
  return best;
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

ThreadShare share_threads(int64_t asked, int64_t workers) {
  const int64_t cores = cpu_info().cores;
  workers = std::max<int64_t>(1, workers);
  const int64_t share = std::max<int64_t>(1, cores / workers);
  ThreadShare t;
  t.threads = asked > 0 ? std::min(asked, share) : share;
  if (asked > share)
    t.warning = fmt::format(
        "train.threads = {} for each of {} worker(s) oversubscribes the {} cores: using {} (set train.threads to at "
        "most cores / workers, or 0 for an equal share)",
        asked, workers, cores, t.threads);
  return t;
}

BlasInfo classify_blas(const std::string& path, int openblas_parallel) {
  BlasInfo b;
  b.path = path;
  const auto has = [&](const char* part) { return path.find(part) != std::string::npos; };
  if (path.empty()) {
    b.name = "none loaded";
  } else if (openblas_parallel >= 0 || has("openblas")) {
    b.name = openblas_parallel == 2 ? "OpenBLAS (openmp)" : openblas_parallel == 1 ? "OpenBLAS (pthreads)"
             : openblas_parallel == 0                     ? "OpenBLAS (serial)"
                                                          : "OpenBLAS";
    if (openblas_parallel == 1)
      b.advice = fmt::format(
          "float32 matrix products use OpenBLAS's pthreads build ({}), which runs its own threads and ignores "
          "train.threads, so particles sharing the cores oversubscribe them; install libopenblas0-openmp and "
          "select it with `update-alternatives --config libblas.so.3-x86_64-linux-gnu`",
          path);
  } else if (has("blis")) {
    b.name = "BLIS";
  } else if (has("mkl")) {
    b.name = "MKL";
  } else if (has("libblas.so")) {
    b.name = "reference BLAS";
    b.reference = true;
    b.advice = fmt::format(
        "float32 matrix products (fp32 linear layers, the mlp) run on the reference BLAS ({}), about 10x "
        "slower than an optimized one; install libopenblas0-openmp (scripts/install-deps.sh does)",
        path);
  } else {
    b.name = "unknown";
  }
  return b;
}

const BlasInfo& blas_info() {
  static const BlasInfo info = [] {
    std::string path;
    if (void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_")) {
      Dl_info where{};
      if (dladdr(sgemm, &where) != 0 && where.dli_fname != nullptr) {
        char resolved[PATH_MAX];
        path = realpath(where.dli_fname, resolved) != nullptr ? resolved : where.dli_fname;
      }
    }
    int parallel = -1;
    if (void* get = dlsym(RTLD_DEFAULT, "openblas_get_parallel")) parallel = reinterpret_cast<int (*)()>(get)();
    return classify_blas(path, parallel);
  }();
  return info;
}

}  // namespace nosync::util
