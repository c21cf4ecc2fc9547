// The MPI transport's pulls (words in mpi_transport_state.h): headers arriving from peers, this
// rank's pull cache of peers' snapshots (fetch, fetch_shared, following), and its answers to the
// pulls of others.
//
// Why pulls: weights move only on request, from the particle a rank fetches (its attractor), so
// the traffic per exchange is O(model size) per receiving rank, never O(particles x model size);
// headers (24 bytes) go to everyone. Following keeps the attractor's newer versions arriving in
// the background, so a fetch rarely waits for a transfer.
#include "nosync/comm/mpi_transport.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <mutex>

#include "nosync/comm/mpi_transport_state.h"
#include "nosync/comm/tensor_checks.h"
#include "nosync/util/error.h"

namespace nosync::comm {
using namespace mpi_detail;
namespace {

constexpr int kFollowed = 2;  // peers pulled in the background (most recently fetched)

}  // namespace

// ---- communication thread ------------------------------------------------------------------

bool MpiTransport::State::busy() const {
  if (!sends.empty()) return true;
  return std::any_of(pulls.begin(), pulls.end(), [](const Pull& p) { return p.active; });
}

void MpiTransport::State::receive_headers() {
  while (true) {
    int flag = 0;
    MPI_Status status;
    mpi_check(MPI_Test(&header_recv, &flag, &status), "MPI_Test(header)");
    if (!flag) return;
    const int src = status.MPI_SOURCE;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (header_in.version > headers[src].version) headers[src] = from_wire(header_in, src);
    }
    mpi_check(MPI_Irecv(&header_in, sizeof(WireHeader), MPI_BYTE, MPI_ANY_SOURCE, kTagHeader, comm, &header_recv),
              "MPI_Irecv(header)");
  }
}

void MpiTransport::State::receive_requests() {
  while (true) {
    int flag = 0;
    MPI_Status status;
    mpi_check(MPI_Test(&request_recv, &flag, &status), "MPI_Test(request)");
    if (!flag) return;
    requested[status.MPI_SOURCE] = true;
    mpi_check(MPI_Irecv(&request_in, 1, MPI_INT, MPI_ANY_SOURCE, kTagRequest, comm, &request_recv),
              "MPI_Irecv(request)");
  }
}

void MpiTransport::State::answer_requests() {
  for (int peer = 0; peer < size; ++peer) {
    if (!requested[peer] || answering[peer]) continue;
    requested[peer] = false;
    answering[peer] = true;
    auto s = std::make_unique<Send>();
    s->peer = peer;
    {
      std::lock_guard<std::mutex> lock(publish_mutex);
      s->snap = current;
    }
    s->header = to_wire(s->snap->h);
    s->count = 2;
    mpi_check(MPI_Isend(&s->header, sizeof(WireHeader), MPI_BYTE, peer, kTagReplyHeader, comm, &s->req[0]),
              "MPI_Isend(answer header)");
    mpi_check(MPI_Isend(s->snap->w.get(), mpi_count(numel, "snapshot"), MPI_FLOAT, peer, kTagReplyData, comm,
                        &s->req[1]),
              "MPI_Isend(answer weights)");
    sends.push_back(std::move(s));
  }
}

void MpiTransport::State::complete_sends() {
  for (auto it = sends.begin(); it != sends.end();) {
    int flag = 0;
    mpi_check(MPI_Testall((*it)->count, (*it)->req, &flag, MPI_STATUSES_IGNORE), "MPI_Testall(send)");
    if (!flag) {
      ++it;
      continue;
    }
    if ((*it)->peer >= 0) {
      answering[(*it)->peer] = false;
      std::lock_guard<std::mutex> lock(stats_mutex);
      ++stats.weights_sent;
      stats.bytes_sent += numel * static_cast<int64_t>(sizeof(float));
    }
    it = sends.erase(it);
  }
}

void MpiTransport::State::complete_pulls() {
  for (int q = 0; q < size; ++q) {
    Pull& pull = pulls[q];
    if (!pull.active) continue;
    int flag = 0;
    mpi_check(MPI_Testall(3, pull.req, &flag, MPI_STATUSES_IGNORE), "MPI_Testall(pull)");
    if (!flag) continue;
    pull.active = false;
    pull.into->h = from_wire(pull.header, q);
    {
      std::lock_guard<std::mutex> lock(mutex);
      // A fetch may still be copying the old snapshot: it holds its own reference.
      if (!cache[q] || pull.into->h.version >= cache[q]->h.version) std::swap(cache[q], pull.into);
      if (cache[q]->h.version > headers[q].version) headers[q] = cache[q]->h;
      training_cv.notify_all();
    }
    if (pull.into && pull.into->leases.load(std::memory_order_acquire) > 0) pull.into.reset();  // still lent
    std::lock_guard<std::mutex> lock(stats_mutex);
    ++stats.weights_received;
    stats.bytes_received += numel * static_cast<int64_t>(sizeof(float));
  }
}

void MpiTransport::State::start_pulls() {
  if (stop_pulling) return;
  std::vector<int> wanted;
  {
    std::lock_guard<std::mutex> lock(mutex);
    // The kFollowed most recently fetched peers, plus any peer a fetch is waiting for.
    std::vector<uint64_t> recent(last_fetch);
    std::sort(recent.begin(), recent.end(), std::greater<uint64_t>());
    const uint64_t threshold = recent.size() > kFollowed ? std::max<uint64_t>(1, recent[kFollowed - 1]) : 1;
    for (int q = 0; q < size; ++q) {
      if (q == rank || pulls[q].active) continue;
      const bool follow = last_fetch[q] >= threshold || fetch_waiting[q];
      const uint64_t have = cache[q] ? cache[q]->h.version : 0;
      if (follow && headers[q].version > have) wanted.push_back(q);
    }
  }
  for (int q : wanted) {
    Pull& pull = pulls[q];
    if (!pull.into) pull.into = std::make_shared<Snapshot>(numel);
    pull.active = true;
    mpi_check(MPI_Irecv(&pull.header, sizeof(WireHeader), MPI_BYTE, q, kTagReplyHeader, comm, &pull.req[0]),
              "MPI_Irecv(answer header)");
    mpi_check(MPI_Irecv(pull.into->w.get(), mpi_count(numel, "snapshot"), MPI_FLOAT, q, kTagReplyData, comm,
                        &pull.req[1]),
              "MPI_Irecv(answer weights)");
    mpi_check(MPI_Isend(&pull.request_token, 1, MPI_INT, q, kTagRequest, comm, &pull.req[2]), "MPI_Isend(request)");
  }
}

// ---- training thread -----------------------------------------------------------------------

MpiTransport::State::SnapshotPtr MpiTransport::State::latest_of_peer(int particle) {
  std::unique_lock<std::mutex> lock(mutex);
  check_failure();
  last_fetch[particle] = ++fetch_clock;
  const uint64_t need = std::max<uint64_t>(floor[particle], headers[particle].valid() ? 1 : 0);
  auto have = [&] { return cache[particle] ? cache[particle]->h.version : 0; };
  if (have() < need) {
    fetch_waiting[particle] = true;
    wake = true;
    comm_cv.notify_one();
    training_cv.wait(lock, [&] { return have() >= need || !failure.empty(); });
    fetch_waiting[particle] = false;
    check_failure();
  }
  SnapshotPtr snap = cache[particle];
  if (!snap) return snap;
  // A lease (see Snapshot::leases): taken under the lock, so never on a snapshot that has left
  // the cache; given back when the last copy of the returned pointer goes.
  snap->leases.fetch_add(1, std::memory_order_relaxed);
  Snapshot* raw = snap.get();
  return SnapshotPtr(raw, [keep = std::move(snap)](Snapshot* p) mutable {
    p->leases.fetch_sub(1, std::memory_order_release);
    keep.reset();
  });
}

std::vector<Header> MpiTransport::headers() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->check_failure();
  return state_->headers;
}

Header MpiTransport::fetch(int particle, torch::Tensor& out) {
  State& s = *state_;
  NOSYNC_CHECK(particle >= 0 && particle < s.size, "fetch: particle {} out of range 0..{}", particle, s.size - 1);
  check_snapshot_tensor(out, s.numel, "fetch", "transport");
  if (particle == s.rank) {
    std::lock_guard<std::mutex> lock(s.publish_mutex);
    const State::SnapshotPtr& own = s.staged_fresh ? s.staged : s.current;
    if (own->h.valid() && s.numel > 0) std::memcpy(out.data_ptr<float>(), own->w.get(), s.numel * sizeof(float));
    Header h = own->h;
    h.particle = s.rank;
    return h;
  }
  const State::SnapshotPtr snap = s.latest_of_peer(particle);
  if (!snap || !snap->h.valid()) {
    Header none;
    none.particle = particle;
    return none;
  }
  // The snapshot is never written while referenced: copy outside the lock.
  if (s.numel > 0) std::memcpy(out.data_ptr<float>(), snap->w.get(), s.numel * sizeof(float));
  return snap->h;
}

Header MpiTransport::fetch_shared(int particle, const torch::Tensor& like, torch::Tensor& view) {
  State& s = *state_;
  NOSYNC_CHECK(particle >= 0 && particle < s.size, "fetch: particle {} out of range 0..{}", particle, s.size - 1);
  check_snapshot_tensor(like, s.numel, "fetch_shared", "transport");
  if (particle == s.rank) return Transport::fetch_shared(particle, like, view);
  State::SnapshotPtr snap = s.latest_of_peer(particle);
  if (!snap || !snap->h.valid()) {
    Header none;
    none.particle = particle;
    return none;
  }
  const Header h = snap->h;
  float* data = snap->w.get();
  // The tensor keeps the snapshot alive; the communication thread never writes a snapshot that
  // anyone else still references (it receives into another one).
  view = torch::from_blob(data, {s.numel}, [keep = std::move(snap)](void*) mutable { keep.reset(); },
                          torch::TensorOptions().dtype(torch::kFloat));
  return h;
}

}  // namespace nosync::comm
