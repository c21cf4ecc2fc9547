// The local transport: particles as threads sharing one in-memory board (see local_board.h).
//
// Words used below: a *slot* is one particle's latest snapshot (weights + header) behind its own
// mutex; a *generation* is one use of the board-wide barrier. publish/headers/fetch touch only
// slots, so they never wait for another particle's progress, only (briefly) for a memcpy of the
// same slot. Collectives go through the barrier and never touch slots.
//
// allreduce_sum works in place on the callers' own tensors, without a shared buffer:
//   1. every particle registers its tensor (pointer + size) in `contributions`, then barrier;
//   2. the elements are cut into one chunk per particle; particle p sums chunk p over particles
//      0..n-1 *in that order* and writes the sums into chunk p of every particle's tensor, then
//      barrier.
// Each element is summed once, always in the same order, so the result is bit-identical on every
// particle and on every run, and the work is spread over the particles. The second barrier also
// keeps a fast particle's next call from overwriting `contributions` while a slow one still
// reads them.
//
// abort() (a particle failed) makes every waiter throw Aborted. Between the two barriers of an
// allreduce the particles write into each other's tensors, so a particle may only throw out of the
// second barrier once every reducer is done (`busy` = 0): otherwise its caller could free a
// tensor that a peer is still writing. Reducing never blocks, so that wait is short.
#include "nosync/comm/local_board.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nosync/comm/tensor_checks.h"
#include "nosync/util/error.h"
#include "nosync/util/memory.h"

namespace nosync::comm {
namespace {

// A reusable barrier for a fixed number of parties; the generation counter tells a waiter that
// *its* round has completed, so a fast party entering the next round cannot be confused with it.
// Once aborted, every waiter and every later arrival throws Aborted (after `busy` drains).
class Barrier {
 public:
  explicit Barrier(int parties) : parties_(parties) {}

  // `opens_shared_phase`: when this round completes, every party is counted busy until it calls
  // leave_shared_phase().
  void arrive_and_wait(bool opens_shared_phase = false) {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t generation = generation_;
    if (!aborted_ && ++arrived_ == parties_) {
      arrived_ = 0;
      ++generation_;
      if (opens_shared_phase) busy_ = parties_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation || (aborted_ && busy_ == 0); });
    if (generation_ == generation) throw Aborted();
  }

  void leave_shared_phase() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--busy_ == 0) cv_.notify_all();
  }

  void abort() {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  const int parties_;
  int arrived_ = 0;          // parties waiting in the current generation
  uint64_t generation_ = 0;  // completed generations
  int busy_ = 0;             // parties still inside a shared phase
  bool aborted_ = false;
};

struct Slot {
  std::mutex mutex;
  std::vector<float> weights;  // allocated at the first publish
  Header header;
};

// What one particle brought to the current allreduce_sum.
struct Contribution {
  float* data = nullptr;  // null when the tensor is not a contiguous CPU float tensor
  int64_t numel = 0;
  std::string problem;  // why data is null
};

struct Board {
  Board(int particles, int64_t numel)
      : particles(particles), numel(numel), slots(particles), barrier(particles),
        contributions(particles), endpoint_taken(particles, false) {
    for (int p = 0; p < particles; ++p) slots[p].header.particle = p;
  }

  const int particles;
  const int64_t numel;  // floats per snapshot
  std::vector<Slot> slots;
  Barrier barrier;
  std::vector<Contribution> contributions;  // entry p written only by particle p, see top
  std::atomic<bool> aborted{false};         // publish/fetch check it; the barrier keeps its own
  std::mutex endpoints_mutex;
  std::vector<bool> endpoint_taken;
};

// Sums elements [begin, end) of every contribution in particle order and stores the sums back
// into each of them.
void reduce_chunk(const std::vector<Contribution>& parts, int64_t begin, int64_t end) {
  constexpr int64_t kBlock = 1024;  // floats summed on the stack before being written back
  std::array<float, kBlock> acc;
  for (int64_t start = begin; start < end; start += kBlock) {
    const int64_t len = std::min(kBlock, end - start);
    std::memcpy(acc.data(), parts[0].data + start, len * sizeof(float));
    for (size_t q = 1; q < parts.size(); ++q) {
      const float* src = parts[q].data + start;
      for (int64_t i = 0; i < len; ++i) acc[i] += src[i];
    }
    for (const Contribution& part : parts) std::memcpy(part.data + start, acc.data(), len * sizeof(float));
  }
}

class LocalEndpoint final : public Transport {
 public:
  LocalEndpoint(Board* board, int particle) : board_(board), particle_(particle) {}

  int particle() const override { return particle_; }
  int particles() const override { return board_->particles; }

  void publish(const torch::Tensor& weights, double fitness, int64_t step) override {
    if (board_->aborted.load()) throw Aborted();
    check_snapshot_tensor(weights, board_->numel, "publish", "board");
    const float* src = weights.data_ptr<float>();
    Slot& slot = board_->slots[particle_];
    std::lock_guard<std::mutex> lock(slot.mutex);
    if (slot.weights.size() != static_cast<size_t>(board_->numel)) slot.weights.resize(board_->numel);
    util::copy_floats(slot.weights.data(), src, board_->numel);
    slot.header.step = step;
    slot.header.fitness = fitness;
    ++slot.header.version;
  }

  std::vector<Header> headers() override {
    std::vector<Header> out(board_->particles);
    for (int p = 0; p < board_->particles; ++p) {
      std::lock_guard<std::mutex> lock(board_->slots[p].mutex);
      out[p] = board_->slots[p].header;
    }
    return out;
  }

  Header fetch(int particle, torch::Tensor& out) override {
    NOSYNC_CHECK(particle >= 0 && particle < board_->particles, "fetch: particle {} out of range 0..{}", particle,
                 board_->particles - 1);
    check_snapshot_tensor(out, board_->numel, "fetch", "board");
    if (board_->aborted.load()) throw Aborted();
    float* dst = out.data_ptr<float>();
    Slot& slot = board_->slots[particle];
    std::lock_guard<std::mutex> lock(slot.mutex);
    if (slot.header.valid() && board_->numel > 0) {
      std::memcpy(dst, slot.weights.data(), board_->numel * sizeof(float));
    }
    return slot.header;
  }

  void allreduce_sum(torch::Tensor& t) override {
    Contribution& mine = board_->contributions[particle_];
    mine.problem = float_buffer_problem(t);
    mine.data = mine.problem.empty() ? t.data_ptr<float>() : nullptr;
    mine.numel = t.defined() ? t.numel() : 0;
    board_->barrier.arrive_and_wait(/*opens_shared_phase=*/true);

    // Every particle judges the same contributions, so either all reduce or all throw (after the
    // second barrier: throwing earlier would let this particle's next call race the others).
    const std::string problem = collective_problem();
    if (problem.empty()) {
      const int64_t numel = mine.numel;
      const int64_t n = board_->particles;
      reduce_chunk(board_->contributions, numel * particle_ / n, numel * (particle_ + 1) / n);
    }
    board_->barrier.leave_shared_phase();
    board_->barrier.arrive_and_wait();
    NOSYNC_CHECK(problem.empty(), "allreduce_sum: {}", problem);
  }

  void barrier() override { board_->barrier.arrive_and_wait(); }

 private:
  std::string collective_problem() const {
    const std::vector<Contribution>& parts = board_->contributions;
    for (int p = 0; p < board_->particles; ++p) {
      if (!parts[p].problem.empty()) return fmt::format("particle {} passed a tensor with {}", p, parts[p].problem);
      if (parts[p].numel != parts[0].numel) {
        return fmt::format("particle {} passed {} floats, particle 0 passed {}", p, parts[p].numel, parts[0].numel);
      }
    }
    return {};
  }

  Board* board_;
  const int particle_;
};

}  // namespace

struct LocalBoard::State {
  State(int particles, int64_t numel) : board(particles, numel) {}
  Board board;
};

LocalBoard::LocalBoard(int particles, int64_t numel) {
  NOSYNC_CHECK(particles >= 1, "a board needs at least one particle, got {}", particles);
  NOSYNC_CHECK(numel >= 0, "snapshot size must not be negative, got {}", numel);
  state_ = std::make_unique<State>(particles, numel);
}

LocalBoard::~LocalBoard() = default;

std::unique_ptr<Transport> LocalBoard::endpoint(int particle) {
  Board& board = state_->board;
  NOSYNC_CHECK(particle >= 0 && particle < board.particles, "endpoint: particle {} out of range 0..{}", particle,
               board.particles - 1);
  {
    std::lock_guard<std::mutex> lock(board.endpoints_mutex);
    NOSYNC_CHECK(!board.endpoint_taken[particle], "endpoint for particle {} requested twice", particle);
    board.endpoint_taken[particle] = true;
  }
  return std::make_unique<LocalEndpoint>(&board, particle);
}

int LocalBoard::particles() const { return state_->board.particles; }

void LocalBoard::abort() {
  state_->board.aborted = true;
  state_->board.barrier.abort();
}

}  // namespace nosync::comm
