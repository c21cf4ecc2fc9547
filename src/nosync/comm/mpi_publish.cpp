// The MPI transport's publish handshake (words in mpi_transport_state.h): the training thread
// writes the *staged* snapshot (publish), or hands its weights over for the communication thread
// to copy there (stage ... publish_staged); the communication thread installs it as *current*
// and sends its header to every peer.
//
// Why this shape: the training thread pays for at most one copy of its weights (none when the
// communication thread copies a stage in time) and never waits for a peer or calls MPI.
#include "nosync/comm/mpi_transport.h"

#include <cstring>
#include <mutex>

#include "nosync/comm/mpi_transport_state.h"
#include "nosync/comm/tensor_checks.h"
#include "nosync/util/error.h"
#include "nosync/util/memory.h"

namespace nosync::comm {
using namespace mpi_detail;

// ---- communication thread ------------------------------------------------------------------

MpiTransport::State::SnapshotPtr MpiTransport::State::take_spare() {
  for (size_t i = 0; i < spare.size(); ++i) {
    if (spare[i].use_count() == 1) {  // no send reads it any more
      SnapshotPtr s = std::move(spare[i]);
      spare.erase(spare.begin() + static_cast<std::ptrdiff_t>(i));
      return s;
    }
  }
  // A new buffer becomes the next staged snapshot: touch its pages here, on the communication
  // thread, so that the training thread's copy in publish() does not pay the page faults.
  auto fresh = std::make_shared<Snapshot>(numel);
  if (numel > 0) std::memset(fresh->w.get(), 0, static_cast<size_t>(numel) * sizeof(float));
  return fresh;
}

void MpiTransport::State::install_staged() {
  {
    std::lock_guard<std::mutex> lock(publish_mutex);
    if (!staged_fresh) return;
  }
  SnapshotPtr fresh = take_spare();  // outside the lock: it may allocate
  WireHeader header;
  {
    std::lock_guard<std::mutex> lock(publish_mutex);  // staged_fresh is still set: only we clear it
    // Swapping pointers keeps the training thread's cost at one copy: a snapshot still being
    // sent to a peer goes to the spare list and is reused once its sends have finished.
    spare.push_back(std::move(current));
    current = std::move(staged);
    staged = std::move(fresh);
    staged_fresh = false;
    header = to_wire(current->h);
  }
  for (int peer = 0; peer < size; ++peer) {
    if (peer == rank) continue;
    auto s = std::make_unique<Send>();
    s->peer = -1;  // a header, not an answer
    s->header = header;
    s->count = 1;
    mpi_check(MPI_Isend(&s->header, sizeof(WireHeader), MPI_BYTE, peer, kTagHeader, comm, &s->req[0]),
              "MPI_Isend(header)");
    sends.push_back(std::move(s));
  }
}

void MpiTransport::State::copy_stage() {
  const float* source = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!staging || stage_claimed) return;
    stage_claimed = true;
    source = stage_source;
  }
  // staged may still hold a publish made before the stage that install_staged() has not seen
  // yet (it ran before that publish): install it first, or the copy would overwrite it.
  install_staged();
  // Only this thread swaps staged, and only when staged_fresh, which publish_staged sets after
  // this copy: staged is ours to write without the lock, and the training thread does not write
  // the source until publish_staged has seen stage_copied.
  util::copy_floats(staged->w.get(), source, numel);
  std::lock_guard<std::mutex> lock(mutex);
  stage_copied = true;
  training_cv.notify_all();
}

// ---- training thread -----------------------------------------------------------------------

void MpiTransport::State::commit_staged(const float* copy_from, double fitness, int64_t step) {
  Header h;
  {
    std::lock_guard<std::mutex> lock(publish_mutex);
    if (copy_from != nullptr) util::copy_floats(staged->w.get(), copy_from, numel);
    h.particle = rank;
    h.step = step;
    h.fitness = fitness;
    h.version = ++version;
    staged->h = h;
    staged_fresh = true;
  }
  std::lock_guard<std::mutex> lock(mutex);
  staging = false;
  stage_source = nullptr;
  stage_claimed = false;
  stage_copied = false;
  headers[rank] = h;
  wake = true;
  comm_cv.notify_one();
}

void MpiTransport::publish(const torch::Tensor& weights, double fitness, int64_t step) {
  State& s = *state_;
  check_snapshot_tensor(weights, s.numel, "publish", "transport");
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.check_failure();
    NOSYNC_CHECK(!s.staging, "publish() between stage() and publish_staged()");
  }
  s.commit_staged(weights.data_ptr<float>(), fitness, step);
}

void MpiTransport::stage(const torch::Tensor& weights) {
  State& s = *state_;
  check_snapshot_tensor(weights, s.numel, "stage", "transport");
  std::lock_guard<std::mutex> lock(s.mutex);
  s.check_failure();
  NOSYNC_CHECK(!s.staging, "stage() twice without publish_staged()");
  s.staging = true;
  s.stage_source = weights.data_ptr<float>();
  s.stage_claimed = false;
  s.stage_copied = false;
  s.wake = true;
  s.comm_cv.notify_one();
}

void MpiTransport::publish_staged(double fitness, int64_t step) {
  State& s = *state_;
  const float* copy_here = nullptr;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.check_failure();
    NOSYNC_CHECK(s.staging, "publish_staged() without stage()");
    if (!s.stage_claimed) {
      // The communication thread has not started (it is inside a long MPI call, or has not been
      // scheduled): copy here rather than wait, so this is never slower than publish().
      s.stage_claimed = true;
      copy_here = s.stage_source;
    } else {
      s.training_cv.wait(lock, [&] { return s.stage_copied || !s.failure.empty(); });
      s.check_failure();
    }
  }
  s.commit_staged(copy_here, fitness, step);
}

}  // namespace nosync::comm
