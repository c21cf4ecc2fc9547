// Internal: the small, platform-independent random helpers the data component uses. Everything
// here is exactly specified (no std::*_distribution, whose output differs between standard
// libraries), so orders and synthetic data are identical on every machine.
#pragma once

#include <cmath>
#include <cstdint>

namespace nosync::data {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Hash of a few words; different argument lists give independent-looking seeds.
inline uint64_t mix_seed(uint64_t a, uint64_t b) { return splitmix64(splitmix64(a) ^ (b * 0xd1b54a32d192ed03ULL + 0x632be59bd9b4e019ULL)); }
inline uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c) { return mix_seed(mix_seed(a, b), c); }
inline uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c, uint64_t d) { return mix_seed(mix_seed(a, b, c), d); }

// A tiny, fast generator (SplitMix64 stream).
struct SplitMix64 {
  uint64_t state;
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t operator()() { return next(); }
};

// Uniform integer in [0, bound) without modulo bias; `Rng` returns uniform uint64.
template <class Rng>
uint64_t uniform_below(Rng& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

// Uniform double in [0, 1) with 53 random bits.
template <class Rng>
double uniform01(Rng& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// Standard normal (Box-Muller; one value per call, simplicity over speed).
template <class Rng>
double standard_normal(Rng& rng) {
  double u1 = uniform01(rng);
  const double u2 = uniform01(rng);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace nosync::data
