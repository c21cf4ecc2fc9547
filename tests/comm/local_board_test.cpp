// The local board: the shared transport conformance suite at several swarm sizes, plus what only
// the local board promises (argument checks, the summation order, collective misuse reported on
// every particle, publish never waiting on a sleeping thread).
#include "nosync/comm/local_board.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "comm/transport_conformance.h"
#include "nosync/util/error.h"

namespace nosync::comm {
namespace {

using testing::ThreadWorld;
using testing::World;

template <int N>
struct LocalWorld {
  static constexpr int kParticles = N;
  static std::unique_ptr<World> make(int64_t numel) {
    auto board = std::make_shared<LocalBoard>(N, numel);
    std::vector<std::unique_ptr<Transport>> endpoints;
    for (int p = 0; p < N; ++p) endpoints.push_back(board->endpoint(p));
    return std::make_unique<ThreadWorld>(std::move(endpoints), board);
  }
};

using LocalWorlds = ::testing::Types<LocalWorld<1>, LocalWorld<2>, LocalWorld<3>, LocalWorld<4>, LocalWorld<7>>;

}  // namespace

// The instantiation must sit in the suite's namespace (gtest names its pieces unqualified).
namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(LocalBoard, TransportConformance, LocalWorlds, WorldName);
}  // namespace testing

namespace {

// All endpoints of a fresh board, in particle order.
std::vector<std::unique_ptr<Transport>> all_endpoints(LocalBoard& board) {
  std::vector<std::unique_ptr<Transport>> endpoints;
  for (int p = 0; p < board.particles(); ++p) endpoints.push_back(board.endpoint(p));
  return endpoints;
}

TEST(LocalBoardTest, RejectsBadBoardsAndEndpoints) {
  EXPECT_THROW(LocalBoard(0, 10), InternalError);
  EXPECT_THROW(LocalBoard(2, -1), InternalError);
  LocalBoard board(2, 10);
  EXPECT_EQ(board.particles(), 2);
  EXPECT_THROW(board.endpoint(-1), InternalError);
  EXPECT_THROW(board.endpoint(2), InternalError);
  std::unique_ptr<Transport> first = board.endpoint(1);
  EXPECT_EQ(first->particle(), 1);
  EXPECT_THROW(board.endpoint(1), InternalError);
  EXPECT_NO_THROW(board.endpoint(0));
}

TEST(LocalBoardTest, RejectsTensorsThatAreNotContiguousFloatOfTheBoardSize) {
  LocalBoard board(1, 10);
  std::unique_ptr<Transport> t = board.endpoint(0);
  const torch::Tensor strided = torch::zeros({20}, torch::kFloat).slice(0, 0, 20, 2);  // 10 floats, stride 2
  ASSERT_EQ(strided.numel(), 10);
  EXPECT_THROW(t->publish(strided, 0.0, 0), InternalError);
  EXPECT_THROW(t->publish(torch::Tensor(), 0.0, 0), InternalError);
  EXPECT_THROW(t->publish(torch::zeros({10}, torch::kInt), 0.0, 0), InternalError);
  torch::Tensor strided_out = torch::zeros({20}, torch::kFloat).slice(0, 0, 20, 2);
  EXPECT_THROW(t->fetch(0, strided_out), InternalError);
  // Any shape with the right number of floats is a flat snapshot.
  t->publish(torch::arange(10, torch::kFloat).reshape({2, 5}), 1.5, 3);
  torch::Tensor out = torch::zeros({10}, torch::kFloat);
  const Header h = t->fetch(0, out);
  EXPECT_EQ(h.version, 1u);
  EXPECT_TRUE(torch::equal(out, torch::arange(10, torch::kFloat)));
}

TEST(LocalBoardTest, EmptySnapshots) {
  LocalBoard board(2, 0);
  std::vector<std::unique_ptr<Transport>> ep = all_endpoints(board);
  ep[0]->publish(torch::zeros({0}, torch::kFloat), 2.0, 7);
  torch::Tensor out = torch::zeros({0}, torch::kFloat);
  const Header h = ep[1]->fetch(0, out);
  EXPECT_TRUE(h.valid());
  EXPECT_EQ(h.step, 7);
  EXPECT_FALSE(ep[1]->fetch(1, out).valid());
}

// The headers of particles that never published still name their particle.
TEST(LocalBoardTest, HeadersNameTheirParticle) {
  LocalBoard board(3, 4);
  std::vector<std::unique_ptr<Transport>> ep = all_endpoints(board);
  const std::vector<Header> hs = ep[2]->headers();
  ASSERT_EQ(hs.size(), 3u);
  for (int p = 0; p < 3; ++p) EXPECT_EQ(hs[p].particle, p);
}

// The local board adds in particle order 0, 1, ..., n-1: the result equals that sequential float
// sum bit for bit, whatever thread finishes first.
TEST(LocalBoardTest, AllreduceSumAddsInParticleOrder) {
  constexpr int kParticles = 5;
  constexpr int64_t kNumel = 3001;  // not a multiple of the particle count or the block size
  auto contribution = [](int p) {
    return (torch::rand({kNumel}, torch::TensorOptions().dtype(torch::kFloat)) - 0.5) * std::pow(10.0f, p);
  };
  torch::manual_seed(7);
  std::vector<torch::Tensor> inputs;
  for (int p = 0; p < kParticles; ++p) inputs.push_back(contribution(p));
  torch::Tensor expected = inputs[0].clone();
  for (int p = 1; p < kParticles; ++p) {
    float* e = expected.data_ptr<float>();
    const float* x = inputs[p].data_ptr<float>();
    for (int64_t i = 0; i < kNumel; ++i) e[i] += x[i];
  }
  for (int repeat = 0; repeat < 3; ++repeat) {
    LocalBoard board(kParticles, 1);
    ThreadWorld world(all_endpoints(board));
    std::vector<torch::Tensor> results(kParticles);
    world.run([&](Transport& t) {
      torch::Tensor x = inputs[t.particle()].clone();
      t.allreduce_sum(x);
      results[t.particle()] = x;
    });
    for (int p = 0; p < kParticles; ++p) {
      EXPECT_TRUE(testing::same_bits(results[p], expected)) << "particle " << p << ", repeat " << repeat;
    }
  }
}

// Mismatched collectives are a bug; every particle reports it (nobody is left waiting), and the
// board works afterwards.
TEST(LocalBoardTest, MismatchedAllreduceThrowsOnEveryParticle) {
  LocalBoard board(3, 1);
  ThreadWorld world(all_endpoints(board));
  std::atomic<int> thrown{0};
  world.run([&](Transport& t) {
    torch::Tensor x = t.particle() == 1 ? torch::ones({5}, torch::kFloat) : torch::ones({4}, torch::kFloat);
    try {
      t.allreduce_sum(x);
    } catch (const InternalError&) {
      ++thrown;
    }
    torch::Tensor wrong_type = t.particle() == 2 ? torch::ones({4}, torch::kDouble) : torch::ones({4}, torch::kFloat);
    try {
      t.allreduce_sum(wrong_type);
    } catch (const InternalError&) {
      ++thrown;
    }
    torch::Tensor y = torch::ones({4}, torch::kFloat);
    t.allreduce_sum(y);
    EXPECT_TRUE(torch::equal(y, torch::full({4}, 3.0f)));
  });
  EXPECT_EQ(thrown.load(), 6);
}

// barrier(): nobody leaves round k before everybody has arrived in it (plain memory effects
// before the barrier are visible after it).
TEST(LocalBoardTest, BarrierWaitsForEveryone) {
  constexpr int kParticles = 4;
  constexpr int kRounds = 200;
  LocalBoard board(kParticles, 1);
  ThreadWorld world(all_endpoints(board));
  std::atomic<int> arrived{0};
  std::vector<int> written(kParticles, 0);  // plain ints: ordered by the barrier alone
  world.run([&](Transport& t) {
    for (int round = 1; round <= kRounds; ++round) {
      written[t.particle()] = round;
      ++arrived;
      t.barrier();
      EXPECT_GE(arrived.load(), round * kParticles) << "left round " << round << " early";
      for (int q = 0; q < kParticles; ++q) EXPECT_EQ(written[q], round);
      t.barrier();
    }
  });
}

// A particle that sleeps without touching the board (as a particle deep in a slow training step
// would) does not hold up the others: they publish and fetch 100 times and finish while it
// sleeps. The sleeper waits for their signal, with a generous timeout so a broken board fails
// instead of hanging.
TEST(LocalBoardTest, PublishDoesNotWaitForASleepingParticle) {
  constexpr int kParticles = 4;
  constexpr int64_t kNumel = 1000;
  LocalBoard board(kParticles, kNumel);
  ThreadWorld world(all_endpoints(board));
  std::atomic<int> finished{0};
  std::atomic<bool> sleeper_timed_out{false};
  world.run([&](Transport& t) {
    if (t.particle() == 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (finished.load() < kParticles - 1 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      sleeper_timed_out = finished.load() < kParticles - 1;
      return;
    }
    torch::Tensor w = torch::full({kNumel}, static_cast<float>(t.particle()));
    torch::Tensor out = torch::zeros({kNumel}, torch::kFloat);
    for (int it = 1; it <= 100; ++it) {
      t.publish(w, 1.0, it);
      for (int q = 0; q < kParticles; ++q) t.fetch(q, out);
      t.headers();
    }
    ++finished;
  });
  EXPECT_FALSE(sleeper_timed_out.load());
  EXPECT_EQ(finished.load(), kParticles - 1);
}

// abort() wakes particles blocked in a barrier or an allreduce (whether they arrived before or
// after it), and from then on publish, fetch and collectives throw Aborted; headers() still
// answers.
TEST(LocalBoardTest, AbortWakesBlockedCollectivesAndStopsTheBoard) {
  constexpr int kParticles = 4;
  LocalBoard board(kParticles, 8);
  ThreadWorld world(all_endpoints(board));
  std::atomic<int> aborted{0};
  world.run([&](Transport& t) {
    if (t.particle() == kParticles - 1) {  // the failing particle never joins the collective
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      board.abort();
      return;
    }
    try {
      if (t.particle() % 2 == 0) {
        t.barrier();
      } else {
        torch::Tensor x = torch::ones({1000}, torch::kFloat);
        t.allreduce_sum(x);
      }
    } catch (const Aborted&) {
      ++aborted;
    }
    torch::Tensor w = torch::zeros({8}, torch::kFloat);
    EXPECT_THROW(t.publish(w, 0.0, 1), Aborted);
    EXPECT_THROW(t.fetch(0, w), Aborted);
    EXPECT_THROW(t.barrier(), Aborted);
    EXPECT_THROW(t.allreduce_sum(w), Aborted);
    EXPECT_EQ(static_cast<int>(t.headers().size()), kParticles);
  });
  EXPECT_EQ(aborted.load(), kParticles - 1);
}

// An abort that lands while particles are inside allreduce_sum (possibly while some are writing
// into the others' tensors) lets every one of them out, and nobody's tensor is freed while a
// peer still writes into it (run under ThreadSanitizer to see the latter).
TEST(LocalBoardTest, AbortDuringAllreduceLetsEveryoneOut) {
  constexpr int kParticles = 3;
  for (int attempt = 0; attempt < 20; ++attempt) {
    LocalBoard board(kParticles, 1);
    ThreadWorld world(all_endpoints(board));
    std::atomic<int> aborted{0};
    std::thread aborter([&] {
      std::this_thread::sleep_for(std::chrono::microseconds(200 * attempt));
      board.abort();
    });
    world.run([&](Transport& t) {
      try {
        for (;;) {
          torch::Tensor x = torch::ones({50000}, torch::kFloat);  // freed at once when Aborted unwinds
          t.allreduce_sum(x);
        }
      } catch (const Aborted&) {
        ++aborted;
      }
    });
    aborter.join();
    EXPECT_EQ(aborted.load(), kParticles) << "attempt " << attempt;
  }
}

}  // namespace
}  // namespace nosync::comm
