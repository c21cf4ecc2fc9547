// The MPI transport (see mpi_transport.h and docs/mpi.md): its lifetime, the communication
// thread's loop, and the collectives (allreduce_sum, barrier, close) with the training thread's
// side of them. The state and the words used here are in mpi_transport_state.h; the publish
// handshake is in mpi_publish.cpp, headers, pulls and answers in mpi_pull.cpp, the ring
// all-reduce in mpi_ring_allreduce.cpp.
//
// Collectives run on the communication thread, polled together with the point-to-point traffic,
// so a rank blocked in a collective still serves its peers. allreduce_sum is the ring
// (mpi_ring_allreduce.h: every element summed on exactly one rank, in ring order, so all ranks
// receive the same bits); barrier and close use MPI's non-blocking collectives (their messages
// are tiny).
#include "nosync/comm/mpi_transport.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "nosync/comm/mpi_transport_state.h"
#include "nosync/comm/tensor_checks.h"
#include "nosync/util/error.h"

namespace nosync::comm {
using namespace mpi_detail;
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kIdlePoll = std::chrono::microseconds(500);  // nothing in flight
constexpr int kBurst = 16;                                  // polls per wake-up while transfers are in flight
constexpr auto kBusyPoll = std::chrono::microseconds(50);   // transfers in flight (collectives: no nap)

}  // namespace

// ---- communication thread ------------------------------------------------------------------

void MpiTransport::State::run() {
  try {
    mpi_check(MPI_Irecv(&header_in, sizeof(WireHeader), MPI_BYTE, MPI_ANY_SOURCE, kTagHeader, comm, &header_recv),
              "MPI_Irecv(header)");
    mpi_check(MPI_Irecv(&request_in, 1, MPI_INT, MPI_ANY_SOURCE, kTagRequest, comm, &request_recv),
              "MPI_Irecv(request)");
    while (true) {
      progress();
      // A large transfer moves only a few fragments per MPI_Test: a short burst of polls before
      // the nap keeps it going without spinning for the whole transfer.
      for (int i = 0; i < kBurst && busy(); ++i) {
        complete_sends();
        complete_pulls();
      }
      std::unique_lock<std::mutex> lock(mutex);
      if (closed) return;
      if (stop) return;
      if (op != nullptr || std::any_of(fetch_waiting.begin(), fetch_waiting.end(), [](bool w) { return w; })) {
        // The training thread waits (for a collective or a pull): polling without a nap costs it
        // nothing, and each MPI_Test moves only a few fragments of a large message.
        lock.unlock();
        std::this_thread::yield();
        continue;
      }
      comm_cv.wait_for(lock, busy() ? kBusyPoll : kIdlePoll, [&] { return wake || stop; });
      wake = false;
      if (stop) return;
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

void MpiTransport::State::fail(const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex);
  if (failure.empty()) failure = message;
  training_cv.notify_all();
}

void MpiTransport::State::progress() {
  install_staged();
  copy_stage();
  receive_headers();
  receive_requests();
  answer_requests();
  complete_sends();
  complete_pulls();
  start_pulls();
  Op* pending = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    pending = op;
  }
  if (pending != nullptr && step_collective(*pending)) {
    std::lock_guard<std::mutex> lock(mutex);
    pending->done = true;
    op = nullptr;
    op_stage = 0;
    if (pending->kind == OpKind::kClose) closed = true;
    training_cv.notify_all();
  }
}

bool MpiTransport::State::step_collective(Op& op) {
  auto test = [&](const char* what) {
    int flag = 0;
    mpi_check(MPI_Test(&op_req, &flag, MPI_STATUS_IGNORE), what);
    return flag != 0;
  };
  switch (op.kind) {
    case OpKind::kAllreduce: {
      if (op_stage == 0) {
        ring->start(op.data, op.numel);
        op_stage = 1;
      }
      return ring->poll();
    }
    case OpKind::kBarrier: {
      if (op_stage == 0) {
        // The training thread published before it asked for the barrier, possibly after this
        // round's install_staged(): install again so that `current` holds every publish.
        install_staged();
        {
          std::lock_guard<std::mutex> lock(publish_mutex);
          own_header = to_wire(current->h);
        }
        gathered.assign(size, WireHeader{});
        mpi_check(MPI_Iallgather(&own_header, sizeof(WireHeader), MPI_BYTE, gathered.data(), sizeof(WireHeader),
                                 MPI_BYTE, comm, &op_req),
                  "MPI_Iallgather(headers)");
        op_stage = 1;
      }
      if (!test("MPI_Test(barrier)")) return false;
      std::lock_guard<std::mutex> lock(mutex);
      for (int q = 0; q < size; ++q) {
        if (q == rank) continue;
        if (gathered[q].version > headers[q].version) headers[q] = from_wire(gathered[q], q);
        floor[q] = gathered[q].version;
      }
      return true;
    }
    case OpKind::kClose: {
      // Stage 1: everyone has stopped fetching. Stage 2: own pulls and sends are done. Stage 3:
      // everyone's are, so nobody will ask anything of anybody again.
      if (op_stage == 0) {
        mpi_check(MPI_Ibarrier(comm, &op_req), "MPI_Ibarrier(close)");
        op_stage = 1;
      }
      if (op_stage == 1) {
        if (!test("MPI_Test(close barrier 1)")) return false;
        stop_pulling = true;
        op_stage = 2;
      }
      if (op_stage == 2) {
        if (!sends.empty() || std::any_of(pulls.begin(), pulls.end(), [](const Pull& p) { return p.active; }))
          return false;
        mpi_check(MPI_Ibarrier(comm, &op_req), "MPI_Ibarrier(close)");
        op_stage = 3;
      }
      if (op_stage == 3) {
        if (!test("MPI_Test(close barrier 2)")) return false;
        op_stage = 4;
      }
      if (!sends.empty()) return false;
      for (MPI_Request* req : {&header_recv, &request_recv}) {
        mpi_check(MPI_Cancel(req), "MPI_Cancel");
        mpi_check(MPI_Wait(req, MPI_STATUS_IGNORE), "MPI_Wait(cancelled receive)");
      }
      mpi_check(MPI_Comm_free(&comm), "MPI_Comm_free");
      return true;
    }
  }
  return false;
}

// ---- training thread -----------------------------------------------------------------------

void MpiTransport::State::check_failure() const {
  if (!failure.empty()) throw InternalError("MPI transport: " + failure);
}

void MpiTransport::State::submit(Op& op) {
  std::unique_lock<std::mutex> lock(mutex);
  check_failure();
  NOSYNC_CHECK(!closed, "MPI transport used after close()");
  NOSYNC_CHECK(this->op == nullptr, "two collectives at once on one MPI transport");
  this->op = &op;
  wake = true;
  comm_cv.notify_one();
  wait_since_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  training_cv.wait(lock, [&] { return op.done || !failure.empty(); });
  wait_since_ns = 0;
  check_failure();
}

MpiTransport::MpiTransport(MPI_Comm parent, int64_t numel) : state_(std::make_unique<State>()) {
  State& s = *state_;
  NOSYNC_CHECK(numel >= 0, "snapshot size must not be negative, got {}", numel);
  mpi_count(numel, "snapshot");
  mpi_check(MPI_Comm_dup(parent, &s.comm), "MPI_Comm_dup");
  mpi_check(MPI_Comm_set_errhandler(s.comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  mpi_check(MPI_Comm_rank(s.comm, &s.rank), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(s.comm, &s.size), "MPI_Comm_size");
  // Every rank must agree on the snapshot size; a mismatch is reported on every rank.
  int64_t range[2] = {numel, -numel};
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, range, 2, MPI_INT64_T, MPI_MAX, s.comm), "MPI_Allreduce(numel)");
  NOSYNC_CHECK(range[0] == -range[1], "ranks disagree on the snapshot size: {} to {} floats", -range[1], range[0]);
  s.numel = numel;
  s.headers.resize(s.size);
  for (int q = 0; q < s.size; ++q) s.headers[q].particle = q;
  s.floor.assign(s.size, 0);
  s.cache.resize(s.size);
  s.last_fetch.assign(s.size, 0);
  s.fetch_waiting.assign(s.size, false);
  s.answering.assign(s.size, false);
  s.requested.assign(s.size, false);
  s.pulls.resize(s.size);
  s.ring.emplace(s.comm, s.rank, s.size, kTagRing);
  s.staged = std::make_shared<Snapshot>(numel);
  s.current = std::make_shared<Snapshot>(numel);
  s.current->h.particle = s.rank;
  s.thread = std::thread([&s] { s.run(); });
}

MpiTransport::~MpiTransport() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
    state_->comm_cv.notify_all();
  }
  if (state_->thread.joinable()) state_->thread.join();
}

int MpiTransport::particle() const { return state_->rank; }
int MpiTransport::particles() const { return state_->size; }

void MpiTransport::allreduce_sum(torch::Tensor& t) {
  check_float_buffer(t, "allreduce_sum");
  State::Op op{State::OpKind::kAllreduce, t.data_ptr<float>(), t.numel()};
  state_->submit(op);
}

void MpiTransport::barrier() {
  State::Op op{State::OpKind::kBarrier};
  state_->submit(op);
}

void MpiTransport::close() {
  State::Op op{State::OpKind::kClose};
  state_->submit(op);
  if (state_->thread.joinable()) state_->thread.join();
}

double MpiTransport::collective_wait_s() const {
  const int64_t since = state_->wait_since_ns.load();
  if (since == 0) return 0;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  return 1e-9 * static_cast<double>(now - since);
}

MpiTransport::Stats MpiTransport::stats() const {
  std::lock_guard<std::mutex> lock(state_->stats_mutex);
  return state_->stats;
}

}  // namespace nosync::comm
