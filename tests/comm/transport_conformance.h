// The conformance suite every comm::Transport must pass, written against the abstract interface
// only, so that the local board and the MPI transport run the very same checks.
//
// Words used below: a *world* is one set of N particles connected by a transport; the particles
// it *hosts* are the ones living in this process (all N for the local board, each a thread; one
// for an MPI rank). A check is a *body* that every particle runs concurrently with its own
// endpoint; it may only learn about the others through the transport, so each particle compares
// what it sees with values it can compute itself (every particle publishes a pattern derived
// from its id; collectives have closed-form results, as in gloo's tests).
//
// Use: define a *world type* with `static std::unique_ptr<World> make(int64_t numel)` (a world
// whose snapshots hold `numel` floats) and instantiate the typed suite:
//
//   using Worlds = ::testing::Types<MyWorld<1>, MyWorld<4>>;
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, TransportConformance, Worlds, WorldName);
//
// Bodies use EXPECT_* (never ASSERT_*, which would return early and leave the other particles
// waiting in a collective forever).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nosync/comm/transport.h"
#include "nosync/util/error.h"

namespace nosync::comm::testing {

class World {
 public:
  virtual ~World() = default;
  virtual int particles() const = 0;
  // Runs `body` once for every particle hosted here, concurrently, each with its own endpoint;
  // returns when all have returned, rethrowing the first exception a body threw.
  virtual void run(const std::function<void(Transport&)>& body) = 0;
};

// A world whose particles all live in this process, one thread per endpoint.
class ThreadWorld : public World {
 public:
  // `owner` keeps alive what the endpoints point into (e.g. the board); it dies after them.
  ThreadWorld(std::vector<std::unique_ptr<Transport>> endpoints, std::shared_ptr<void> owner = nullptr)
      : owner_(std::move(owner)), endpoints_(std::move(endpoints)) {}

  int particles() const override { return static_cast<int>(endpoints_.size()); }

  void run(const std::function<void(Transport&)>& body) override {
    std::vector<std::exception_ptr> errors(endpoints_.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          body(*endpoints_[i]);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    for (const std::exception_ptr& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }

 private:
  std::shared_ptr<void> owner_;  // declared first: destroyed after the endpoints
  std::vector<std::unique_ptr<Transport>> endpoints_;
};

// Names instantiations after the world's particle count: ".../particles4.PublishThenFetch".
struct WorldName {
  template <typename W>
  static std::string GetName(int index) {
    return "particles" + std::to_string(W::kParticles);
  }
};

// ---- helpers -------------------------------------------------------------------------------

inline torch::Tensor floats(int64_t numel, float value) { return torch::full({numel}, value, torch::kFloat); }

// The pattern particle p publishes in version v: distinct per particle, element and version, and
// exact in float (all values stay far below 2^24).
inline float pattern(int particle, uint64_t version, int64_t index) {
  return static_cast<float>(particle * 1000000 + static_cast<int64_t>(version) * 10000 + index);
}

inline torch::Tensor pattern_tensor(int particle, uint64_t version, int64_t numel) {
  torch::Tensor t = torch::empty({numel}, torch::kFloat);
  float* d = t.data_ptr<float>();
  for (int64_t i = 0; i < numel; ++i) d[i] = pattern(particle, version, i);
  return t;
}

// Index of the first element where `t` differs from expected(i), or -1. Reports one failure per
// tensor instead of one per element.
template <typename Expected>
int64_t first_mismatch(const torch::Tensor& t, Expected expected) {
  const float* d = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (d[i] != expected(i)) return i;
  }
  return -1;
}

// EXPECTs that every element i of `t` equals expected(i); one failure (the first element) per
// tensor instead of one per element.
template <typename Expected>
void expect_elements(const torch::Tensor& t, Expected expected, const std::string& what) {
  const int64_t bad = first_mismatch(t, expected);
  if (bad >= 0) {
    ADD_FAILURE() << what << ": element " << bad << " of " << t.numel() << " is " << t.data_ptr<float>()[bad]
                  << ", expected " << expected(bad);
  }
}

inline bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.numel() == b.numel() &&
         std::memcmp(a.data_ptr<float>(), b.data_ptr<float>(), a.numel() * sizeof(float)) == 0;
}

// ---- the suite -----------------------------------------------------------------------------

template <typename W>
class TransportConformance : public ::testing::Test {
 protected:
  static constexpr int64_t kNumel = 1000;  // floats per snapshot, unless a check needs others
};

TYPED_TEST_SUITE_P(TransportConformance);

// Every particle has a distinct id in 0..n-1 and agrees on n. Distinctness is checked through the
// transport itself: one-hot vectors at each id sum to all ones.
TYPED_TEST_P(TransportConformance, IdsAndSizes) {
  std::unique_ptr<World> world = TypeParam::make(this->kNumel);
  const int n = world->particles();
  EXPECT_EQ(n, TypeParam::kParticles);
  world->run([&](Transport& t) {
    EXPECT_EQ(t.particles(), n);
    EXPECT_GE(t.particle(), 0);
    EXPECT_LT(t.particle(), n);
    torch::Tensor hot = torch::zeros({n}, torch::kFloat);
    if (t.particle() >= 0 && t.particle() < n) hot[t.particle()] = 1.0f;
    t.allreduce_sum(hot);
    expect_elements(hot, [](int64_t) { return 1.0f; }, "one-hot sum (each id taken exactly once)");
  });
}

TYPED_TEST_P(TransportConformance, NothingValidBeforeAnyPublish) {
  std::unique_ptr<World> world = TypeParam::make(this->kNumel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    const std::vector<Header> hs = t.headers();
    EXPECT_EQ(static_cast<int>(hs.size()), n);
    for (const Header& h : hs) {
      EXPECT_FALSE(h.valid());
      EXPECT_EQ(h.version, 0u);
      EXPECT_EQ(h.step, -1);
    }
    for (int q = 0; q < n; ++q) {
      torch::Tensor out = floats(TestFixture::kNumel, -7.0f);
      EXPECT_FALSE(t.fetch(q, out).valid()) << "particle " << q;
      expect_elements(out, [](int64_t) { return -7.0f; }, "fetch of an unpublished particle touched out");
    }
    t.barrier();
  });
}

// Publish, then every particle sees version 1 of every other with the right header and exact
// values; publishing again raises the version, and headers() agrees with fetch.
TYPED_TEST_P(TransportConformance, PublishThenFetch) {
  const int64_t numel = this->kNumel;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    const int me = t.particle();
    for (uint64_t version = 1; version <= 3; ++version) {
      t.publish(pattern_tensor(me, version, numel), /*fitness=*/0.25 * me + version,
                /*step=*/static_cast<int64_t>(100 * version + me));
      t.barrier();
      const std::vector<Header> hs = t.headers();
      for (int q = 0; q < n; ++q) {
        torch::Tensor out = floats(numel, -1.0f);
        const Header h = t.fetch(q, out);
        EXPECT_TRUE(h.valid());
        EXPECT_EQ(h.particle, q);
        EXPECT_EQ(h.version, version) << "seen by " << me << " of " << q;
        EXPECT_EQ(h.step, static_cast<int64_t>(100 * version + q));
        EXPECT_EQ(h.fitness, 0.25 * q + version);
        expect_elements(out, [&](int64_t i) { return pattern(q, version, i); }, "fetched weights");
        EXPECT_EQ(hs[q].particle, q);
        EXPECT_EQ(hs[q].version, version);
        EXPECT_EQ(hs[q].step, h.step);
        EXPECT_EQ(hs[q].fitness, h.fitness);
      }
      t.barrier();  // nobody publishes the next version before everyone checked this one
    }
  });
}

// The two-phase publish: stage, then (after other work) publish_staged gives peers exactly what
// publish would. Version 1 is a plain publish made right before the stage of version 2, so a
// transport that copies the staged weights in the background must not overwrite a publish it has
// not yet sent out. Misuse (publish_staged without stage, stage twice) is an InternalError.
TYPED_TEST_P(TransportConformance, StagedPublishEqualsPublish) {
  const int64_t numel = this->kNumel;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    const int me = t.particle();
    EXPECT_THROW(t.publish_staged(1.0, 1), InternalError);
    t.publish(pattern_tensor(me, 1, numel), /*fitness=*/1.0, /*step=*/10);
    for (uint64_t version = 2; version <= 4; ++version) {
      const torch::Tensor weights = pattern_tensor(me, version, numel);
      t.stage(weights);
      if (version == 2) {
        EXPECT_THROW(t.stage(weights), InternalError);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(version == 3 ? 5 : 0));  // "evaluating fitness"
      t.publish_staged(/*fitness=*/0.5 * me + version, /*step=*/static_cast<int64_t>(10 * version + me));
      t.barrier();
      for (int q = 0; q < n; ++q) {
        torch::Tensor out = floats(numel, -1.0f);
        const Header h = t.fetch(q, out);
        EXPECT_EQ(h.version, version) << "seen by " << me << " of " << q;
        EXPECT_EQ(h.step, static_cast<int64_t>(10 * version + q));
        EXPECT_EQ(h.fitness, 0.5 * q + version);
        expect_elements(out, [&](int64_t i) { return pattern(q, version, i); }, "staged weights");
      }
      t.barrier();
    }
  });
}

// fetch_shared gives the same header and values as fetch, and a view taken earlier keeps its
// values after the particle has published (and everyone has received) a newer version.
TYPED_TEST_P(TransportConformance, FetchSharedIsStable) {
  const int64_t numel = this->kNumel;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    const int me = t.particle();
    const torch::Tensor like = floats(numel, 0.0f);
    std::vector<torch::Tensor> first(n);
    t.publish(pattern_tensor(me, 1, numel), 1.0, 1);
    t.barrier();
    for (int q = 0; q < n; ++q) {
      const Header h = t.fetch_shared(q, like, first[q]);
      EXPECT_EQ(h.version, 1u) << "particle " << q;
      EXPECT_EQ(h.particle, q);
      if (!first[q].defined() || first[q].numel() != numel) {
        ADD_FAILURE() << "fetch_shared of particle " << q << " gave no tensor of " << numel << " floats";
        first[q] = floats(numel, -1.0f);
        continue;
      }
      expect_elements(first[q], [&](int64_t i) { return pattern(q, 1, i); }, "fetch_shared version 1");
    }
    t.barrier();
    t.publish(pattern_tensor(me, 2, numel), 2.0, 2);
    t.barrier();
    for (int q = 0; q < n; ++q) {
      torch::Tensor second;
      EXPECT_EQ(t.fetch_shared(q, like, second).version, 2u);
      expect_elements(second, [&](int64_t i) { return pattern(q, 2, i); }, "fetch_shared version 2");
      expect_elements(first[q], [&](int64_t i) { return pattern(q, 1, i); }, "an earlier view changed");
    }
    t.barrier();
  });
}

// Only even particles publish: the odd ones stay invalid and fetching them leaves `out` alone.
TYPED_TEST_P(TransportConformance, UnpublishedParticleLeavesOutUntouched) {
  const int64_t numel = this->kNumel;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    if (t.particle() % 2 == 0) t.publish(pattern_tensor(t.particle(), 1, numel), 1.0, 1);
    t.barrier();
    const std::vector<Header> hs = t.headers();
    for (int q = 0; q < n; ++q) {
      torch::Tensor out = floats(numel, -3.0f);
      const Header h = t.fetch(q, out);
      EXPECT_EQ(h.valid(), q % 2 == 0) << "particle " << q;
      EXPECT_EQ(hs[q].valid(), q % 2 == 0) << "particle " << q;
      if (q % 2 == 0) {
        expect_elements(out, [&](int64_t i) { return pattern(q, 1, i); }, "published particle");
      } else {
        expect_elements(out, [](int64_t) { return -3.0f; }, "unpublished particle touched out");
      }
    }
    t.barrier();
  });
}

// Wrong sizes and ids are bugs in the caller: they throw InternalError, and the transport still
// works afterwards. (Collective misuse is not checked here: a transport may not be able to
// report it on every particle.)
TYPED_TEST_P(TransportConformance, RejectsWrongSizesAndIds) {
  const int64_t numel = this->kNumel;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    EXPECT_THROW(t.publish(floats(numel + 1, 1.0f), 0.0, 0), InternalError);
    EXPECT_THROW(t.publish(torch::zeros({numel}, torch::kDouble), 0.0, 0), InternalError);
    torch::Tensor out = floats(numel, 0.0f);
    torch::Tensor short_out = floats(numel - 1, 0.0f);
    EXPECT_THROW(t.fetch(-1, out), InternalError);
    EXPECT_THROW(t.fetch(n, out), InternalError);
    EXPECT_THROW(t.fetch(t.particle(), short_out), InternalError);
    EXPECT_FALSE(t.headers()[t.particle()].valid()) << "a rejected publish must not count";
    t.publish(pattern_tensor(t.particle(), 1, numel), 0.0, 0);
    EXPECT_EQ(t.fetch(t.particle(), out).version, 1u);
    t.barrier();
  });
}

// Each particle contributes its rank: every element sums to n(n-1)/2. Then a pattern distinct
// per particle and element: rank*numel + i sums to numel*n(n-1)/2 + n*i. All exact in float.
TYPED_TEST_P(TransportConformance, AllreduceSumClosedForm) {
  std::unique_ptr<World> world = TypeParam::make(this->kNumel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    const int r = t.particle();
    for (int64_t numel : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{100000}}) {
      SCOPED_TRACE("numel " + std::to_string(numel));
      torch::Tensor x = floats(numel, static_cast<float>(r));
      t.allreduce_sum(x);
      EXPECT_EQ(x.numel(), numel);
      const float sum = static_cast<float>(n * (n - 1) / 2);
      expect_elements(x, [&](int64_t) { return sum; }, "sum of ranks");

      torch::Tensor y = torch::arange(numel, torch::kFloat) + static_cast<float>(r * numel);
      t.allreduce_sum(y);
      expect_elements(
          y, [&](int64_t i) { return static_cast<float>(numel * n * (n - 1) / 2 + n * i); }, "sum of distinct");
    }
  });
}

// With values whose float sum depends on the order of additions, every particle still gets the
// same bits (compared through publish/fetch), the same bits on a second run, and the right sum
// within rounding.
TYPED_TEST_P(TransportConformance, AllreduceSumBitIdentical) {
  const int64_t numel = this->kNumel;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    const int r = t.particle();
    // Alternating signs, magnitudes 0.1 .. 2000: partial sums round differently in each order.
    auto contribution = [&](int rank) {
      torch::Tensor c = torch::empty({numel}, torch::kFloat);
      float* d = c.data_ptr<float>();
      for (int64_t i = 0; i < numel; ++i) {
        const double sign = (rank + i) % 2 == 0 ? 1.0 : -1.0;
        d[i] = static_cast<float>(sign * (0.1 * (rank + 1) + 1e-3 * i) * std::pow(10.0, rank % 4));
      }
      return c;
    };
    const torch::Tensor mine = contribution(r);
    torch::Tensor first = mine.clone();
    t.allreduce_sum(first);
    torch::Tensor second = mine.clone();
    t.allreduce_sum(second);
    EXPECT_TRUE(same_bits(first, second)) << "allreduce_sum is not deterministic from run to run";

    torch::Tensor exact = torch::zeros({numel}, torch::kDouble);
    torch::Tensor magnitude = torch::zeros({numel}, torch::kDouble);
    for (int q = 0; q < n; ++q) {
      exact += contribution(q).to(torch::kDouble);
      magnitude += contribution(q).to(torch::kDouble).abs();
    }
    const torch::Tensor err = (first.to(torch::kDouble) - exact).abs();
    EXPECT_TRUE((err <= 1e-6 * magnitude).all().item<bool>())
        << "far from the double-precision sum: max error " << err.max().item<double>();

    t.publish(first, 0.0, 0);
    t.barrier();
    for (int q = 0; q < n; ++q) {
      torch::Tensor theirs = floats(numel, 0.0f);
      EXPECT_EQ(t.fetch(q, theirs).version, 1u);
      EXPECT_TRUE(same_bits(first, theirs)) << "particle " << r << " and " << q << " got different sums";
    }
    t.barrier();
  });
}

// barrier() orders effects: what every particle published before round k's barrier is what all
// see after it, round after round.
TYPED_TEST_P(TransportConformance, BarrierOrdersPublishes) {
  const int64_t numel = 16;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    for (int64_t round = 1; round <= 25; ++round) {
      t.publish(floats(numel, static_cast<float>(t.particle() * 100 + round)), 0.0, round);
      t.barrier();
      const std::vector<Header> hs = t.headers();
      for (int q = 0; q < n; ++q) {
        EXPECT_EQ(hs[q].step, round) << "particle " << q << " as seen by " << t.particle();
        EXPECT_EQ(hs[q].version, static_cast<uint64_t>(round));
      }
      torch::Tensor out = floats(numel, 0.0f);
      const int q = static_cast<int>(round % n);
      EXPECT_EQ(t.fetch(q, out).step, round);
      expect_elements(out, [&](int64_t) { return static_cast<float>(q * 100 + round); }, "after barrier");
      t.barrier();
    }
  });
}

// Everyone publishes and fetches as fast as possible. Each publish fills the snapshot with one
// value derived from (particle, step) and step == version; a fetch must return a snapshot whose
// elements all equal the value its own header names (never a torn mix of two publishes), and
// versions seen of a particle never go back.
TYPED_TEST_P(TransportConformance, ConcurrentPublishFetchConsistent) {
  const int64_t numel = 4096;
  const int64_t iterations = 2000;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  world->run([&](Transport& t) {
    const int me = t.particle();
    auto value = [](int particle, int64_t step) { return static_cast<float>(particle * 10000 + step); };
    std::vector<uint64_t> last_seen(n, 0);
    torch::Tensor mine = floats(numel, 0.0f);
    torch::Tensor out = floats(numel, 0.0f);
    int failures = 0;
    for (int64_t it = 1; it <= iterations && failures == 0; ++it) {
      mine.fill_(value(me, it));
      t.publish(mine, /*fitness=*/static_cast<double>(it), /*step=*/it);
      const int q = static_cast<int>((me + it) % n);
      const Header h = t.fetch(q, out);
      if (!h.valid()) continue;  // q has not published yet
      const float v = value(q, h.step);
      const int64_t bad = first_mismatch(out, [&](int64_t) { return v; });
      const bool consistent = bad == -1 && h.version == static_cast<uint64_t>(h.step) &&
                              h.fitness == static_cast<double>(h.step) && h.version >= last_seen[q];
      if (!consistent) ++failures;
      EXPECT_TRUE(consistent) << "particle " << me << " fetched " << q << " at iteration " << it << ": version "
                              << h.version << ", step " << h.step << ", last seen " << last_seen[q]
                              << ", element " << bad << " is " << (bad >= 0 ? out.data_ptr<float>()[bad] : v)
                              << ", expected " << v;
      last_seen[q] = h.version;
    }
    t.barrier();
  });
}

// publish/fetch/headers never wait for a particle that is busy elsewhere: the last particle
// stays away (only glancing at headers() every few ms) until all others have finished 100
// publish/fetch rounds. A transport that made publish wait would let the waiting time run out.
TYPED_TEST_P(TransportConformance, SlowParticleDoesNotBlockOthers) {
  const int64_t numel = this->kNumel;
  const int64_t rounds = 100;
  std::unique_ptr<World> world = TypeParam::make(numel);
  const int n = world->particles();
  const int slow = n - 1;
  world->run([&](Transport& t) {
    if (t.particle() == slow) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      auto others_done = [&] {
        const std::vector<Header> hs = t.headers();
        return std::all_of(hs.begin(), hs.begin() + slow,
                           [&](const Header& h) { return h.version >= static_cast<uint64_t>(rounds); });
      };
      while (!others_done() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      EXPECT_TRUE(others_done()) << "the other particles did not finish while particle " << slow << " was away";
      t.publish(floats(numel, 1.0f), 0.0, 0);
    } else {
      torch::Tensor out = floats(numel, 0.0f);
      for (int64_t it = 1; it <= rounds; ++it) {
        t.publish(floats(numel, static_cast<float>(it)), 0.0, it);
        for (int q = 0; q < n; ++q) t.fetch(q, out);
        t.headers();
      }
    }
    t.barrier();
  });
}

REGISTER_TYPED_TEST_SUITE_P(TransportConformance, IdsAndSizes, NothingValidBeforeAnyPublish, PublishThenFetch,
                            StagedPublishEqualsPublish, FetchSharedIsStable,
                            UnpublishedParticleLeavesOutUntouched, RejectsWrongSizesAndIds,
                            AllreduceSumClosedForm, AllreduceSumBitIdentical, BarrierOrdersPublishes,
                            ConcurrentPublishFetchConsistent, SlowParticleDoesNotBlockOthers);

}  // namespace nosync::comm::testing
