// The MPI transport under real mpirun (CTest starts this binary with -np 2, 3 and 4): the shared
// transport conformance suite at the job's size, plus what only the MPI transport promises
// (traffic O(model size), delivery while the publisher's training thread is busy).
//
// Not a *_test.cpp on purpose: it must not be linked into the single-process test binary. Started
// without an MPI launcher it fails instead of passing as one process.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "comm/transport_conformance.h"
#include "nosync/comm/mpi_transport.h"

namespace nosync::comm {
namespace {

using testing::World;

// One world = one MpiTransport over MPI_COMM_WORLD; its particle is this rank.
class MpiWorld : public World {
 public:
  explicit MpiWorld(int64_t numel) : transport_(std::make_unique<MpiTransport>(MPI_COMM_WORLD, numel)) {}
  ~MpiWorld() override { transport_->close(); }
  int particles() const override { return transport_->particles(); }
  void run(const std::function<void(Transport&)>& body) override { body(*transport_); }
  MpiTransport& transport() { return *transport_; }

 private:
  std::unique_ptr<MpiTransport> transport_;
};

template <int N>
struct MpiWorldOf {
  static constexpr int kParticles = N;
  static std::unique_ptr<World> make(int64_t numel) { return std::make_unique<MpiWorld>(numel); }
};

// main() keeps only the instantiation whose size matches the job's.
using MpiWorlds = ::testing::Types<MpiWorldOf<2>, MpiWorldOf<3>, MpiWorldOf<4>>;

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Mpi, TransportConformance, MpiWorlds, WorldName);
}  // namespace testing

namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

// Every rank publishes every round, but all fetch only particle 0 (a gbest attractor): each rank
// receives at most one snapshot per round, none from particles it never fetched, and particle 0
// receives none. Traffic per rank per exchange is one model, not one per particle.
TEST(MpiTransport, WeightsTravelOnlyFromTheFetchedParticle) {
  const int64_t numel = 5000;
  const int rounds = 10;
  MpiWorld world(numel);
  MpiTransport& t = world.transport();
  torch::Tensor out = torch::zeros({numel});
  for (int round = 1; round <= rounds; ++round) {
    t.publish(torch::full({numel}, static_cast<float>(100 * t.particle() + round)), 1.0 * t.particle(), round);
    t.barrier();
    if (t.particle() != 0) {
      const Header h = t.fetch(0, out);
      EXPECT_EQ(h.version, static_cast<uint64_t>(round));
      EXPECT_EQ(out[numel - 1].item<float>(), static_cast<float>(round));
    }
    t.barrier();
  }
  const MpiTransport::Stats s = t.stats();
  if (t.particle() == 0) {
    EXPECT_EQ(s.weights_received, 0);
    EXPECT_GE(s.weights_sent, rounds);  // each other rank pulled each round's version
    EXPECT_LE(s.weights_sent, static_cast<int64_t>(rounds) * (t.particles() - 1));
  } else {
    EXPECT_GE(s.weights_received, rounds);
    EXPECT_LE(s.weights_received, rounds + 1) << "more snapshots than fetched versions";
    EXPECT_EQ(s.weights_sent, 0) << "nobody fetched this rank";
    EXPECT_EQ(s.bytes_received, s.weights_received * numel * static_cast<int64_t>(sizeof(float)));
  }
}

// Open MPI has no asynchronous progress: a snapshot moves only while its sender is inside MPI.
// The communication thread is what keeps it moving: rank 0 publishes a 16 MB snapshot and then
// keeps its training thread away from the transport for 3 s; every other rank must still get the
// snapshot long before rank 0 comes back.
TEST(MpiTransport, PublishedSnapshotArrivesWhileThePublisherIsBusy) {
  const int64_t numel = 4 << 20;  // 16 MB: sent with the rendezvous protocol
  MpiWorld world(numel);
  MpiTransport& t = world.transport();
  using Clock = std::chrono::steady_clock;
  if (t.particle() == 0) t.publish(torch::full({numel}, 42.0f), 0.5, 7);
  t.barrier();
  if (t.particle() == 0) {
    std::this_thread::sleep_for(std::chrono::seconds(3));  // "training", no transport call
  } else {
    const auto start = Clock::now();
    torch::Tensor out = torch::zeros({numel});
    const Header h = t.fetch(0, out);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_EQ(h.step, 7);
    EXPECT_EQ(out[numel / 2].item<float>(), 42.0f);
    EXPECT_LT(seconds, 2.0) << "the snapshot waited for the publisher's training thread";
  }
  t.barrier();
}

// A rank follows the particle it fetched: newer versions are pulled in the background, so after
// a pause the next fetch finds the latest one without waiting for a transfer.
TEST(MpiTransport, FollowedParticleIsPrefetched) {
  const int64_t numel = 1 << 20;
  MpiWorld world(numel);
  MpiTransport& t = world.transport();
  torch::Tensor out = torch::zeros({numel});
  if (t.particle() == 0) t.publish(torch::full({numel}, 1.0f), 0.0, 1);
  t.barrier();
  if (t.particle() != 0) EXPECT_EQ(t.fetch(0, out).version, 1u);  // now following particle 0
  t.barrier();
  if (t.particle() == 0) t.publish(torch::full({numel}, 2.0f), 0.0, 2);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  if (t.particle() != 0) {
    while (t.headers()[0].version < 2 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // The background pull starts when the header arrives; give it time, then it must be there.
    while (t.stats().weights_received < 2 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(t.stats().weights_received, 2) << "version 2 was not prefetched";
    EXPECT_EQ(t.fetch(0, out).version, 2u);
    EXPECT_EQ(out[0].item<float>(), 2.0f);
  }
  t.barrier();
}

}  // namespace
}  // namespace nosync::comm

int main(int argc, char** argv) {
  if (!nosync::comm::MpiScope::launched_by_mpi()) {
    std::cerr << "nosync_mpi_tests: not started by mpirun/srun: these tests need several MPI ranks "
                 "(run e.g. mpirun -np 3 --oversubscribe nosync_mpi_tests)\n";
    return 1;
  }
  nosync::comm::MpiScope mpi(&argc, &argv);
  if (mpi.size() < 2 || mpi.size() > 4) {
    std::cerr << "nosync_mpi_tests: needs 2 to 4 ranks, got " << mpi.size() << "\n";
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  // Only the conformance instantiation of this job's size (and the MPI-only tests).
  ::testing::GTEST_FLAG(filter) = "*/particles" + std::to_string(mpi.size()) + ".*:MpiTransport.*";
  const int failed = RUN_ALL_TESTS();
  const int ran = ::testing::UnitTest::GetInstance()->test_to_run_count();
  int bad = failed != 0 || ran < 10 ? 1 : 0;
  if (ran < 10) std::cerr << "nosync_mpi_tests: only " << ran << " tests ran on rank " << mpi.rank() << "\n";
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return bad;
}
