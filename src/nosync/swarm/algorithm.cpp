#include "nosync/swarm/algorithm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <torch/torch.h>

#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

double rho_at(const SwarmOptions& options, double progress) {
  NOSYNC_CHECK(!std::isnan(progress), "rho_at: progress is NaN");
  const double p = std::clamp(progress, 0.0, 1.0);
  const double r0 = options.rho0;
  const double r1 = options.rho1;
  // Written as w*rho0 + (1-w)*rho1 so that both ends are hit exactly (w = 1 or 0).
  if (options.rho_schedule == "constant") return r0;
  if (options.rho_schedule == "linear") return r0 * (1.0 - p) + r1 * p;
  if (options.rho_schedule == "cosine") {
    const double w = p >= 1.0 ? 0.0 : 0.5 * (1.0 + std::cos(kPi * p));  // weight of rho0
    return r0 * w + r1 * (1.0 - w);
  }
  NOSYNC_CHECK(false, "unknown rho schedule '{}' (constant | linear | cosine)", options.rho_schedule);
  return r0;  // unreachable
}

namespace {

// True when header `a` (at index ia) beats the current best (at index ib, -1 = none yet).
bool better(const comm::Header& a, int ia, const std::vector<comm::Header>& view, int ib) {
  if (!a.valid() || !std::isfinite(a.fitness)) return false;
  if (ib < 0) return true;
  const double fb = view[static_cast<size_t>(ib)].fitness;
  return a.fitness < fb || (a.fitness == fb && ia < ib);
}

}  // namespace

// The view is indexed by particle id (Transport::headers), so the index is the id.
int best_particle(const std::vector<comm::Header>& view) {
  int best = -1;
  for (size_t i = 0; i < view.size(); ++i) {
    if (better(view[i], static_cast<int>(i), view, best)) best = static_cast<int>(i);
  }
  return best;
}

std::vector<int> ring_neighbourhood(int self, int n, int k) {
  NOSYNC_CHECK(n > 0, "ring of {} particles", n);
  NOSYNC_CHECK(self >= 0 && self < n, "particle {} outside the ring of {}", self, n);
  NOSYNC_CHECK(k >= 0, "negative neighbourhood size {}", k);
  std::vector<int> out;
  if (2 * static_cast<int64_t>(k) + 1 >= n) {
    out.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) out[static_cast<size_t>(i)] = i;
    return out;
  }
  out.reserve(static_cast<size_t>(2 * k + 1));
  for (int d = -k; d <= k; ++d) out.push_back(((self + d) % n + n) % n);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int best_in_neighbourhood(const std::vector<comm::Header>& view, int self, int k) {
  int best = -1;
  for (int i : ring_neighbourhood(self, static_cast<int>(view.size()), k)) {
    if (better(view[static_cast<size_t>(i)], i, view, best)) best = i;
  }
  return best;
}

namespace {

void check_float_pair(const torch::Tensor& x, const torch::Tensor& a, const char* what) {
  NOSYNC_CHECK(x.defined() && a.defined(), "{}: undefined tensor", what);
  NOSYNC_CHECK(x.scalar_type() == torch::kFloat && a.scalar_type() == torch::kFloat,
               "{}: tensors must be float, got {} and {}", what, c10::toString(x.scalar_type()),
               c10::toString(a.scalar_type()));
  NOSYNC_CHECK(x.numel() == a.numel(), "{}: {} elements vs {}", what, x.numel(), a.numel());
}

// `a` seen with x's shape (a view when possible).
torch::Tensor as_shape_of(const torch::Tensor& a, const torch::Tensor& x) {
  return a.sizes() == x.sizes() ? a : a.reshape(x.sizes());
}

}  // namespace

void pull(torch::Tensor& x, const torch::Tensor& attractor, double coeff) {
  check_float_pair(x, attractor, "pull");
  NOSYNC_CHECK(std::isfinite(coeff), "pull: coefficient {}", coeff);
  if (coeff == 0.0) return;  // bitwise unchanged (x + 0*(a-x) would turn -0 into +0, inf into NaN)
  const torch::Tensor a = as_shape_of(attractor, x);
  torch::NoGradGuard no_grad;
  if (coeff == 1.0) {
    // Exactly onto the attractor, even when x is non-finite (the re-spawn case).
    x.copy_(a);
    return;
  }
  x.lerp_(a, coeff);
}

void pso_pull(torch::Tensor& x, const torch::Tensor& pbest, const torch::Tensor& gbest, double c1r1, double c2r2) {
  check_float_pair(x, pbest, "pso_pull");
  check_float_pair(x, gbest, "pso_pull");
  NOSYNC_CHECK(std::isfinite(c1r1) && std::isfinite(c2r2), "pso_pull: coefficients {} {}", c1r1, c2r2);
  const torch::Tensor p = as_shape_of(pbest, x);
  const torch::Tensor g = as_shape_of(gbest, x);
  torch::NoGradGuard no_grad;
  if (c1r1 == 0.0 && c2r2 == 0.0) return;
  if (c2r2 == 0.0) return pull(x, p, c1r1);
  if (c1r1 == 0.0) return pull(x, g, c2r2);
  // One temporary: d = c1r1*(p - x) + c2r2*g - c2r2*x; x += d.
  torch::Tensor d = torch::sub(p, x);
  d.mul_(c1r1).add_(g, c2r2).add_(x, -c2r2);
  x.add_(d);
}

double diversity(const std::vector<torch::Tensor>& points) {
  const size_t n = points.size();
  if (n < 2) return 0.0;
  NOSYNC_CHECK(points[0].defined(), "diversity: undefined point 0");
  const int64_t numel = points[0].numel();
  torch::NoGradGuard no_grad;
  torch::Tensor centroid = torch::zeros({numel}, torch::kDouble);
  for (size_t i = 0; i < n; ++i) {
    NOSYNC_CHECK(points[i].defined(), "diversity: undefined point {}", i);
    NOSYNC_CHECK(points[i].numel() == numel, "diversity: point {} has {} elements, point 0 has {}", i,
                 points[i].numel(), numel);
    centroid.add_(points[i].reshape({-1}));
  }
  centroid.div_(static_cast<double>(n));
  torch::Tensor diff = torch::empty({numel}, torch::kDouble);
  double total = 0.0;
  for (const auto& p : points) {
    torch::sub_out(diff, p.reshape({-1}), centroid);
    total += diff.norm().item<double>();
  }
  return total / static_cast<double>(n);
}

namespace {

// Exponent all ones = inf or NaN. Branch-free inner loop (vectorizes), early exit per chunk.
template <typename Float, typename Bits>
bool finite_bits(const Float* data, int64_t n, Bits exp_mask) {
  static_assert(sizeof(Float) == sizeof(Bits));
  constexpr int64_t kChunk = 4096;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t end = std::min(n, start + kChunk);
    Bits bad = 0;
    for (int64_t i = start; i < end; ++i) {
      Bits bits;
      std::memcpy(&bits, data + i, sizeof(Bits));  // no aliasing UB; compiles to a plain load
      bad |= static_cast<Bits>((bits & exp_mask) == exp_mask);
    }
    if (bad) return false;
  }
  return true;
}

}  // namespace

bool all_finite(const torch::Tensor& t) {
  NOSYNC_CHECK(t.defined(), "all_finite: undefined tensor");
  if (t.numel() == 0) return true;
  if (t.device().is_cpu() && t.is_contiguous()) {
    if (t.scalar_type() == torch::kFloat) {
      return finite_bits(t.data_ptr<float>(), t.numel(), uint32_t{0x7f800000u});
    }
    if (t.scalar_type() == torch::kDouble) {
      return finite_bits(t.data_ptr<double>(), t.numel(), uint64_t{0x7ff0000000000000ull});
    }
  }
  return torch::isfinite(t).all().item<bool>();
}

}  // namespace nosync::swarm
