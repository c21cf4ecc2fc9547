#include "nosync/swarm/algorithm.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nosync/util/error.h"

namespace nosync::swarm {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
constexpr float kInff = std::numeric_limits<float>::infinity();

torch::Tensor vec(std::vector<float> v) { return torch::tensor(v, torch::kFloat); }

std::vector<float> values(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.numel() != b.numel() || a.scalar_type() != b.scalar_type()) return false;
  torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<size_t>(ca.nbytes())) == 0;
}

comm::Header header(int id, double fitness, uint64_t version = 1) {
  comm::Header h;
  h.particle = version > 0 ? id : -1;
  h.step = version > 0 ? 10 : -1;
  h.fitness = fitness;
  h.version = version;
  return h;
}

SwarmOptions schedule(const std::string& name, double rho0, double rho1) {
  SwarmOptions o;
  o.rho_schedule = name;
  o.rho0 = rho0;
  o.rho1 = rho1;
  return o;
}

// ---------------------------------------------------------------------------------------------
// rho schedule

TEST(SwarmRhoTest, ConstantIsRho0Everywhere) {
  const auto o = schedule("constant", 0.3, 1.0);
  EXPECT_EQ(rho_at(o, 0.0), 0.3);
  EXPECT_EQ(rho_at(o, 0.5), 0.3);
  EXPECT_EQ(rho_at(o, 1.0), 0.3);
  EXPECT_EQ(rho_at(o, 7.0), 0.3);
}

TEST(SwarmRhoTest, LinearEndsAndMidpoint) {
  const auto o = schedule("linear", 0.1, 1.0);
  EXPECT_EQ(rho_at(o, 0.0), 0.1);
  EXPECT_EQ(rho_at(o, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(rho_at(o, 0.5), 0.55);
  EXPECT_DOUBLE_EQ(rho_at(o, 0.25), 0.325);
}

TEST(SwarmRhoTest, CosineEndsAndMidpoint) {
  const auto o = schedule("cosine", 0.1, 1.0);
  EXPECT_EQ(rho_at(o, 0.0), 0.1);
  EXPECT_EQ(rho_at(o, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(rho_at(o, 0.5), 0.55);
  // Slow start: at a quarter, rho1 + (rho0 - rho1) * (1 + cos(pi/4)) / 2.
  const double quarter = 1.0 + (0.1 - 1.0) * (1.0 + std::sqrt(0.5)) / 2.0;
  EXPECT_NEAR(rho_at(o, 0.25), quarter, 1e-12);
  EXPECT_LT(rho_at(o, 0.25), rho_at(schedule("linear", 0.1, 1.0), 0.25));
}

TEST(SwarmRhoTest, DecreasingScheduleWorksToo) {
  EXPECT_EQ(rho_at(schedule("linear", 1.0, 0.0), 0.0), 1.0);
  EXPECT_EQ(rho_at(schedule("linear", 1.0, 0.0), 1.0), 0.0);
  EXPECT_DOUBLE_EQ(rho_at(schedule("cosine", 1.0, 0.0), 0.5), 0.5);
}

TEST(SwarmRhoTest, ProgressIsClamped) {
  for (const char* name : {"linear", "cosine"}) {
    const auto o = schedule(name, 0.2, 0.8);
    EXPECT_EQ(rho_at(o, -0.5), 0.2) << name;
    EXPECT_EQ(rho_at(o, 1.5), 0.8) << name;
  }
}

TEST(SwarmRhoTest, UnknownScheduleIsAnInvariantFailure) {
  EXPECT_THROW(rho_at(schedule("exponential", 0.1, 1.0), 0.5), InternalError);
}

// ---------------------------------------------------------------------------------------------
// pull

TEST(SwarmPullTest, QuarterCoefficientOnKnownVectors) {
  torch::Tensor x = vec({0, 4, -8, 1});
  const torch::Tensor a = vec({4, 0, 8, 1});
  const void* before = x.data_ptr();
  pull(x, a, 0.25);
  EXPECT_EQ(values(x), (std::vector<float>{1, 3, -4, 1}));
  EXPECT_EQ(x.data_ptr(), before) << "in place";
  EXPECT_EQ(values(a), (std::vector<float>{4, 0, 8, 1})) << "attractor untouched";
}

TEST(SwarmPullTest, RhoOneLandsExactlyOnAttractor) {
  torch::manual_seed(3);
  torch::Tensor x = torch::randn({1000}) * 100;
  const torch::Tensor a = torch::randn({1000}) * 1e-3;
  pull(x, a, 1.0);
  EXPECT_TRUE(bitwise_equal(x, a));
}

TEST(SwarmPullTest, RhoOneRespawnsNonFiniteParticle) {
  torch::Tensor x = vec({kNaNf, kInff, -kInff, 2});
  const torch::Tensor a = vec({1, 2, 3, 4});
  pull(x, a, 1.0);
  EXPECT_TRUE(bitwise_equal(x, a));
}

TEST(SwarmPullTest, IdenticalParticlesDoNotMove) {
  torch::manual_seed(4);
  torch::Tensor x = torch::randn({777});
  const torch::Tensor same = x.clone();
  for (double coeff : {0.1, 0.25, 0.5, 0.9, 1.0}) {
    pull(x, same, coeff);
    EXPECT_TRUE(bitwise_equal(x, same)) << "coeff " << coeff;
  }
}

TEST(SwarmPullTest, CoefficientZeroLeavesBitsAlone) {
  torch::Tensor x = vec({-0.0f, 1.5f, kInff, kNaNf});
  const torch::Tensor original = x.clone();
  pull(x, vec({1, 2, 3, 4}), 0.0);
  EXPECT_TRUE(bitwise_equal(x, original));
}

TEST(SwarmPullTest, ShapesMayDifferWhenElementCountsMatch) {
  torch::Tensor x = torch::zeros({2, 2});
  pull(x, vec({4, 8, 12, 16}), 0.5);
  EXPECT_EQ(values(x), (std::vector<float>{2, 4, 6, 8}));
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 2}));
}

TEST(SwarmPullTest, MismatchedTensorsAreInvariantFailures) {
  torch::Tensor x = vec({1, 2, 3});
  EXPECT_THROW(pull(x, vec({1, 2}), 0.5), InternalError);
  EXPECT_THROW(pull(x, torch::ones({3}, torch::kDouble), 0.5), InternalError);
  torch::Tensor xd = torch::ones({3}, torch::kDouble);
  EXPECT_THROW(pull(xd, torch::ones({3}, torch::kDouble), 0.5), InternalError);
}

// ---------------------------------------------------------------------------------------------
// pso pull

TEST(SwarmPsoPullTest, HandComputed) {
  // x + 0.5 * (p - x) + 0.25 * (g - x) with x = (1, 1), p = (3, 1), g = (1, 5) -> (2, 2).
  torch::Tensor x = vec({1, 1});
  const void* before = x.data_ptr();
  pso_pull(x, vec({3, 1}), vec({1, 5}), 0.5, 0.25);
  EXPECT_EQ(values(x), (std::vector<float>{2, 2}));
  EXPECT_EQ(x.data_ptr(), before) << "in place";

  // From the origin: 0.5 * (2, 4) + 0.25 * (4, -4) = (2, 1).
  torch::Tensor y = vec({0, 0});
  pso_pull(y, vec({2, 4}), vec({4, -4}), 0.5, 0.25);
  EXPECT_EQ(values(y), (std::vector<float>{2, 1}));
}

TEST(SwarmPsoPullTest, MatchesTheFormulaOnRandomVectors) {
  torch::manual_seed(5);
  torch::Tensor x = torch::randn({500});
  const torch::Tensor p = torch::randn({500});
  const torch::Tensor g = torch::randn({500});
  const torch::Tensor expected = x + 0.3 * (p - x) + 0.6 * (g - x);
  pso_pull(x, p, g, 0.3, 0.6);
  EXPECT_TRUE(torch::allclose(x, expected, 1e-5, 1e-6));
}

TEST(SwarmPsoPullTest, ZeroCoefficientsLeaveXAlone) {
  torch::Tensor x = vec({-0.0f, 1, 2});
  const torch::Tensor original = x.clone();
  pso_pull(x, vec({5, 5, 5}), vec({7, 7, 7}), 0.0, 0.0);
  EXPECT_TRUE(bitwise_equal(x, original));
}

TEST(SwarmPsoPullTest, OneTermAtATime) {
  torch::Tensor x = vec({0, 0});
  pso_pull(x, vec({4, 8}), vec({100, 100}), 0.5, 0.0);
  EXPECT_EQ(values(x), (std::vector<float>{2, 4}));
  pso_pull(x, vec({100, 100}), vec({4, 8}), 0.0, 1.0);
  EXPECT_EQ(values(x), (std::vector<float>{4, 8}));
}

TEST(SwarmPsoPullTest, MismatchedTensorsAreInvariantFailures) {
  torch::Tensor x = vec({1, 2, 3});
  EXPECT_THROW(pso_pull(x, vec({1, 2}), vec({1, 2, 3}), 0.5, 0.5), InternalError);
  EXPECT_THROW(pso_pull(x, vec({1, 2, 3}), vec({1, 2}), 0.5, 0.5), InternalError);
}

// ---------------------------------------------------------------------------------------------
// best particle (gbest)

TEST(SwarmBestParticleTest, LowestFitnessWins) {
  std::vector<comm::Header> view = {header(0, 0.9), header(1, 0.4), header(2, 0.7)};
  EXPECT_EQ(best_particle(view), 1);
}

TEST(SwarmBestParticleTest, TiesGoToTheLowestId) {
  std::vector<comm::Header> view = {header(0, 0.9), header(1, 0.4), header(2, 0.4), header(3, 0.4)};
  EXPECT_EQ(best_particle(view), 1);
  view[1].fitness = 0.5;
  EXPECT_EQ(best_particle(view), 2);
}

TEST(SwarmBestParticleTest, NonFiniteFitnessIsNeverChosen) {
  std::vector<comm::Header> view = {header(0, kNaN), header(1, -kInf), header(2, 3.0), header(3, kInf)};
  EXPECT_EQ(best_particle(view), 2);
  std::vector<comm::Header> all_bad = {header(0, kNaN), header(1, -kInf), header(2, kInf)};
  EXPECT_EQ(best_particle(all_bad), -1);
}

TEST(SwarmBestParticleTest, InvalidHeadersAreIgnored) {
  // Particle 0 has published nothing yet (version 0) even though its fitness field is lowest.
  std::vector<comm::Header> view = {header(0, -1.0, /*version=*/0), header(1, 0.8), header(2, 0.6)};
  EXPECT_EQ(best_particle(view), 2);
  std::vector<comm::Header> none = {comm::Header{}, comm::Header{}};
  EXPECT_EQ(best_particle(none), -1);
  EXPECT_EQ(best_particle({}), -1);
}

TEST(SwarmBestParticleTest, ReturnsSelfWhenSelfIsBest) {
  // The caller compares the result with its own id and skips the pull (a particle that is its
  // own attractor is not pulled); here that is detected by best_particle(view) == self.
  const int self = 2;
  std::vector<comm::Header> view = {header(0, 0.5), header(1, 0.6), header(self, 0.1), header(3, 0.2)};
  EXPECT_EQ(best_particle(view), self);
}

TEST(SwarmBestParticleTest, NegativeFitnessIsFine) {
  std::vector<comm::Header> view = {header(0, -0.5), header(1, -2.0), header(2, 0.0)};
  EXPECT_EQ(best_particle(view), 1);
}

// ---------------------------------------------------------------------------------------------
// ring neighbourhood (lbest)

using Ids = std::vector<int>;

TEST(SwarmRingTest, SmallRingsCoverEveryone) {
  EXPECT_EQ(ring_neighbourhood(0, 1, 1), (Ids{0}));
  EXPECT_EQ(ring_neighbourhood(0, 1, 2), (Ids{0}));
  EXPECT_EQ(ring_neighbourhood(0, 2, 1), (Ids{0, 1}));
  EXPECT_EQ(ring_neighbourhood(1, 2, 1), (Ids{0, 1}));
  EXPECT_EQ(ring_neighbourhood(1, 2, 2), (Ids{0, 1}));
  EXPECT_EQ(ring_neighbourhood(0, 3, 1), (Ids{0, 1, 2}));
  EXPECT_EQ(ring_neighbourhood(2, 3, 1), (Ids{0, 1, 2}));
  EXPECT_EQ(ring_neighbourhood(1, 3, 2), (Ids{0, 1, 2}));
}

TEST(SwarmRingTest, FourParticles) {
  EXPECT_EQ(ring_neighbourhood(0, 4, 1), (Ids{0, 1, 3}));
  EXPECT_EQ(ring_neighbourhood(1, 4, 1), (Ids{0, 1, 2}));
  EXPECT_EQ(ring_neighbourhood(3, 4, 1), (Ids{0, 2, 3}));
  EXPECT_EQ(ring_neighbourhood(0, 4, 2), (Ids{0, 1, 2, 3}));
  EXPECT_EQ(ring_neighbourhood(3, 4, 2), (Ids{0, 1, 2, 3}));
}

TEST(SwarmRingTest, SevenParticlesWrapAround) {
  EXPECT_EQ(ring_neighbourhood(0, 7, 1), (Ids{0, 1, 6}));
  EXPECT_EQ(ring_neighbourhood(3, 7, 1), (Ids{2, 3, 4}));
  EXPECT_EQ(ring_neighbourhood(6, 7, 1), (Ids{0, 5, 6}));
  EXPECT_EQ(ring_neighbourhood(0, 7, 2), (Ids{0, 1, 2, 5, 6}));
  EXPECT_EQ(ring_neighbourhood(1, 7, 2), (Ids{0, 1, 2, 3, 6}));
  EXPECT_EQ(ring_neighbourhood(3, 7, 2), (Ids{1, 2, 3, 4, 5}));
  EXPECT_EQ(ring_neighbourhood(6, 7, 2), (Ids{0, 1, 4, 5, 6}));
  EXPECT_EQ(ring_neighbourhood(2, 7, 3), (Ids{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ring_neighbourhood(2, 7, 100), (Ids{0, 1, 2, 3, 4, 5, 6}));
}

TEST(SwarmRingTest, ZeroNeighboursIsSelfOnly) {
  EXPECT_EQ(ring_neighbourhood(4, 7, 0), (Ids{4}));
}

TEST(SwarmRingTest, BadArgumentsAreInvariantFailures) {
  EXPECT_THROW(ring_neighbourhood(0, 0, 1), InternalError);
  EXPECT_THROW(ring_neighbourhood(4, 4, 1), InternalError);
  EXPECT_THROW(ring_neighbourhood(-1, 4, 1), InternalError);
  EXPECT_THROW(ring_neighbourhood(0, 4, -1), InternalError);
}

TEST(SwarmLbestTest, PicksTheBestWithinTheNeighbourhoodNotGlobally) {
  std::vector<comm::Header> view = {header(0, 0.9), header(1, 0.7), header(2, 0.3), header(3, 0.8),
                                    header(4, 0.6), header(5, 0.1), header(6, 0.5)};
  ASSERT_EQ(best_particle(view), 5);
  EXPECT_EQ(best_in_neighbourhood(view, 0, 1), 6);  // {6, 0, 1}
  EXPECT_EQ(best_in_neighbourhood(view, 1, 1), 2);  // {0, 1, 2}
  EXPECT_EQ(best_in_neighbourhood(view, 3, 1), 2);  // {2, 3, 4}
  EXPECT_EQ(best_in_neighbourhood(view, 0, 2), 5);  // {0, 1, 2, 5, 6}
  EXPECT_EQ(best_in_neighbourhood(view, 3, 2), 5);  // {1, 2, 3, 4, 5}
  EXPECT_EQ(best_in_neighbourhood(view, 0, 3), 5);  // everyone
}

TEST(SwarmLbestTest, ReturnsSelfWhenSelfIsBestLocally) {
  std::vector<comm::Header> view = {header(0, 0.1), header(1, 0.9), header(2, 0.2), header(3, 0.8),
                                    header(4, 0.7)};
  EXPECT_EQ(best_in_neighbourhood(view, 2, 1), 2);
}

TEST(SwarmLbestTest, SkipsInvalidAndNonFiniteNeighbours) {
  std::vector<comm::Header> view = {header(0, 0.5), header(1, 0.1, /*version=*/0), header(2, kNaN),
                                    header(3, 0.05), header(4, 0.9)};
  EXPECT_EQ(best_in_neighbourhood(view, 1, 1), 0);  // {0, 1, 2}: 1 invalid, 2 NaN
  std::vector<comm::Header> none = {header(0, 0.5), header(1, 0.1, 0), header(2, kInf), header(3, 0.05),
                                    comm::Header{}};
  EXPECT_EQ(best_in_neighbourhood(none, 1, 1), 0);
  EXPECT_EQ(best_in_neighbourhood(none, 4, 0), -1);
}

// ---------------------------------------------------------------------------------------------
// diversity

TEST(SwarmDiversityTest, TwoPointsAtDistanceTwo) {
  EXPECT_DOUBLE_EQ(diversity({vec({0, 0}), vec({2, 0})}), 1.0);
}

TEST(SwarmDiversityTest, ThreeKnownPoints) {
  // Centroid (1, 1); distances sqrt(2), sqrt(5), sqrt(5).
  const double expected = (std::sqrt(2.0) + 2.0 * std::sqrt(5.0)) / 3.0;
  EXPECT_NEAR(diversity({vec({0, 0}), vec({3, 0}), vec({0, 3})}), expected, 1e-12);
}

TEST(SwarmDiversityTest, FewerThanTwoPointsOrIdenticalPointsIsZero) {
  EXPECT_EQ(diversity({}), 0.0);
  EXPECT_EQ(diversity({vec({5, 6, 7})}), 0.0);
  const torch::Tensor p = torch::randn({1000});
  EXPECT_EQ(diversity({p, p.clone(), p.clone(), p.clone()}), 0.0);
}

TEST(SwarmDiversityTest, IgnoresShapeAndTranslation) {
  const double base = diversity({vec({0, 0, 0, 0}), vec({2, 0, 0, 0})});
  const double shaped = diversity({torch::full({2, 2}, 10.0f), vec({12, 10, 10, 10})});
  EXPECT_DOUBLE_EQ(base, 1.0);
  EXPECT_NEAR(shaped, 1.0, 1e-12);
}

TEST(SwarmDiversityTest, MismatchedSizesAreInvariantFailures) {
  EXPECT_THROW(diversity({vec({0, 0}), vec({1, 2, 3})}), InternalError);
}

// ---------------------------------------------------------------------------------------------
// all_finite

TEST(SwarmAllFiniteTest, DetectsNaNAndInf) {
  EXPECT_TRUE(all_finite(vec({0, -1, 1e30f, -1e-40f})));
  EXPECT_FALSE(all_finite(vec({0, kNaNf, 1})));
  EXPECT_FALSE(all_finite(vec({0, kInff, 1})));
  EXPECT_FALSE(all_finite(vec({-kInff})));
  EXPECT_TRUE(all_finite(torch::zeros({0})));
}

TEST(SwarmAllFiniteTest, LargeTensorsNonContiguousAndOtherTypes) {
  torch::Tensor big = torch::ones({100001});
  EXPECT_TRUE(all_finite(big));
  big[100000] = kNaNf;  // past several chunks
  EXPECT_FALSE(all_finite(big));

  torch::Tensor m = torch::ones({3, 4});
  m[2][1] = -kInff;
  EXPECT_FALSE(all_finite(m.t()));  // non-contiguous view
  EXPECT_FALSE(all_finite(m.to(torch::kDouble)));
  EXPECT_TRUE(all_finite(torch::ones({3, 4}, torch::kDouble).t()));
  EXPECT_TRUE(all_finite(torch::arange(10)));  // integers are always finite
}

}  // namespace
}  // namespace nosync::swarm
