// The MPI transport (see mpi_transport.h and docs/mpi.md).
//
// Words used below:
//  - *snapshot*: weights + header, in a shared_ptr so that a send in flight keeps the buffer it
//    reads alive and unchanged while the owner moves on to a newer one;
//  - *staged*: the snapshot publish() writes into (training thread, under publish_mutex);
//    *current*: the snapshot peers are served. The communication thread *installs* a staged
//    snapshot by swapping pointers, then sends its header to every peer;
//  - *pull*: this rank asks peer q for its current snapshot (request message), q's
//    communication thread answers with a header and the weights. At most one pull in flight per
//    peer and one answer in flight per peer, so message tags never mix between pulls;
//  - *following*: a peer fetched among the last kFollowed distinct fetches is pulled again in
//    the background as soon as a newer header from it arrives, so the next fetch finds it ready;
//  - *stage*: a two-phase publish. The training thread hands over its weights (which it leaves
//    unchanged until publish_staged) and the communication thread copies them into staged while
//    the training thread evaluates their fitness; publish_staged waits for the copy (or makes
//    it itself if the communication thread has not started it), then marks staged fresh like
//    publish does;
//  - *floor*: the version of each peer that the last barrier made known; fetch returns at least
//    that version (waiting for a pull if needed), which gives barrier() its ordering promise.
//
// Collectives run on the communication thread, polled together with the point-to-point traffic,
// so a rank blocked in a collective still serves its peers. allreduce_sum is a ring
// reduce-scatter followed by a ring all-gather over point-to-point messages (bandwidth-optimal:
// each rank sends and receives 2 (P-1)/P of the buffer): every element is summed on exactly one
// rank, in ring order, so all ranks receive the same bits (and the same bits run after run).
// Open MPI's non-blocking MPI_Ireduce_scatter + MPI_Iallgatherv (libnbc), used before, took
// 85-100 ms for 16.8 MB on 2 ranks over shared memory, 11-13x a blocking MPI_Allreduce.
// barrier and close use MPI's non-blocking collectives (their messages are tiny).
#include "nosync/comm/mpi_transport.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "nosync/util/error.h"
#include "nosync/util/memory.h"

namespace nosync::comm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTagHeader = 101;       // a rank's new header, to every peer
constexpr int kTagRequest = 102;      // "send me your current snapshot"
constexpr int kTagReplyHeader = 103;  // the answer's header ...
constexpr int kTagReplyData = 104;    // ... and its weights
constexpr int kTagRing = 105;         // allreduce_sum: a segment passed to the right neighbour
constexpr int kFollowed = 2;          // peers pulled in the background (most recently fetched)
constexpr auto kIdlePoll = std::chrono::microseconds(500);  // nothing in flight
constexpr int kBurst = 16;                                  // polls per wake-up while transfers are in flight
constexpr auto kBusyPoll = std::chrono::microseconds(50);   // transfers in flight (collectives: no nap)

struct WireHeader {
  int64_t step = -1;
  double fitness = 0;
  uint64_t version = 0;
};

struct Snapshot {
  // Uninitialised on purpose: every snapshot is written in full before it is read, and zeroing
  // 16 MB costs as much as the copy itself.
  explicit Snapshot(int64_t numel) : w(new float[static_cast<size_t>(std::max<int64_t>(numel, 1))]) {}
  std::unique_ptr<float[]> w;
  Header h;
  // Snapshots of peers lent to the training thread (fetch, fetch_shared) and not yet given back.
  // The end of a lease is a release that the communication thread acquires before it receives
  // into the buffer again: shared_ptr::use_count() alone is a relaxed read, which orders nothing
  // (found by tsan.mpi_transport).
  std::atomic<int> leases{0};
};
using SnapshotPtr = std::shared_ptr<Snapshot>;

std::string mpi_error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return fmt::format("MPI error code {}", rc);
  return std::string(text, len);
}

WireHeader to_wire(const Header& h) { return {h.step, h.fitness, h.version}; }

Header from_wire(const WireHeader& w, int particle) {
  Header h;
  h.particle = particle;
  h.step = w.step;
  h.fitness = w.fitness;
  h.version = w.version;
  return h;
}

void check_float_buffer(const torch::Tensor& t, const char* what) {
  NOSYNC_CHECK(t.defined(), "{}: undefined tensor", what);
  NOSYNC_CHECK(t.scalar_type() == torch::kFloat, "{}: dtype {}, expected float", what,
               std::string(c10::toString(t.scalar_type())));
  NOSYNC_CHECK(t.device().is_cpu(), "{}: device {}, expected cpu", what, t.device().str());
  NOSYNC_CHECK(t.is_contiguous(), "{}: tensor is not contiguous", what);
}

void check_snapshot_tensor(const torch::Tensor& t, int64_t numel, const char* what) {
  check_float_buffer(t, what);
  NOSYNC_CHECK(t.numel() == numel, "{}: {} floats, the transport holds {}", what, t.numel(), numel);
}

int to_int_count(int64_t n, const char* what) {
  NOSYNC_CHECK(n >= 0 && n <= std::numeric_limits<int>::max(), "{}: {} elements do not fit an MPI count", what, n);
  return static_cast<int>(n);
}

}  // namespace

void mpi_check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw InternalError(fmt::format("{} failed: {}", what, mpi_error_text(rc)));
}

void mpi_abort_job(const std::string& message, int exit_code) {
  int rank = 0, size = 1, initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  std::cerr << fmt::format("nosync: [rank {}/{}] {}\n", rank, size, message) << std::flush;
  if (initialized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

// ---- MpiScope ------------------------------------------------------------------------------

MpiScope::MpiScope(int* argc, char*** argv, int required) {
  int initialized = 0;
  mpi_check(MPI_Initialized(&initialized), "MPI_Initialized");
  NOSYNC_CHECK(!initialized, "MPI is already initialised: only one MpiScope may exist");
  int provided = MPI_THREAD_SINGLE;
  mpi_check(MPI_Init_thread(argc, argv, required, &provided), "MPI_Init_thread");
  if (provided < required) {
    MPI_Finalize();
    throw InternalError(fmt::format("MPI provides thread level {}, nosync needs {}", provided, required));
  }
  mpi_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

MpiScope::~MpiScope() {
  int finalized = 0;
  if (MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) MPI_Finalize();
}

bool MpiScope::launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

// ---- state ---------------------------------------------------------------------------------

struct MpiTransport::State {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
  int64_t numel = 0;

  // Publish side (publish_mutex): staged is written by publish, current is served to peers.
  std::mutex publish_mutex;
  SnapshotPtr staged, current;
  bool staged_fresh = false;
  uint64_t version = 0;  // own publishes so far

  // The view of the swarm and the training thread's requests (mutex).
  mutable std::mutex mutex;
  std::condition_variable training_cv;  // the training thread waits here
  std::condition_variable comm_cv;      // the communication thread naps here
  std::vector<Header> headers;          // latest known header per particle (own: set by publish)
  std::vector<uint64_t> floor;          // per particle: version fetch must reach (last barrier)
  std::vector<SnapshotPtr> cache;       // per peer: latest pulled snapshot
  std::vector<uint64_t> last_fetch;     // per peer: fetch clock of its last fetch (0 = never)
  std::vector<bool> fetch_waiting;      // per peer: the training thread waits for a pull
  uint64_t fetch_clock = 0;
  bool wake = false, stop = false;
  bool staging = false;                 // between stage() and publish_staged()
  const float* stage_source = nullptr;  // the weights stage() handed over
  bool stage_claimed = false;           // a thread has started copying them (the communication
                                        // thread, or the training thread if it got there first)
  bool stage_copied = false;            // the communication thread has copied them into staged
  std::string failure;  // an MPI error on the communication thread: every later call throws

  enum class OpKind { kAllreduce, kBarrier, kClose };
  struct Op {
    OpKind kind;
    float* data = nullptr;
    int64_t numel = 0;
    bool done = false;
  };
  Op* op = nullptr;  // the collective the training thread waits for
  std::atomic<int64_t> wait_since_ns{0};
  bool closed = false;

  mutable std::mutex stats_mutex;
  Stats stats;

  std::thread thread;

  // ---- communication-thread-only state ----
  struct Send {  // one answer to a pull, or one header to one peer
    int peer = -1;
    int count = 0;
    MPI_Request req[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    WireHeader header;
    SnapshotPtr snap;  // keeps the weights alive while they are sent
  };
  std::deque<std::unique_ptr<Send>> sends;
  std::vector<bool> answering;  // per peer: an answer is in flight
  std::vector<bool> requested;  // per peer: it asked for our snapshot, not yet answered
  std::vector<SnapshotPtr> spare;

  struct Pull {
    bool active = false;
    MPI_Request req[3] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    int request_token = 0;
    WireHeader header;
    SnapshotPtr into;
  };
  std::vector<Pull> pulls;

  MPI_Request header_recv = MPI_REQUEST_NULL;
  WireHeader header_in;
  MPI_Request request_recv = MPI_REQUEST_NULL;
  int request_in = 0;

  // The collective in progress.
  int op_stage = 0;
  MPI_Request op_req = MPI_REQUEST_NULL;
  std::vector<int> counts, displs;
  std::vector<float> chunk;
  int ring_step = -1;  // allreduce: the ring step whose messages are in flight
  MPI_Request ring_req[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  std::vector<WireHeader> gathered;
  WireHeader own_header;
  bool stop_pulling = false;

  // ---- communication thread ----
  void run();
  void progress();
  void install_staged();
  void copy_stage();
  void receive_headers();
  void receive_requests();
  void answer_requests();
  void complete_sends();
  void complete_pulls();
  void start_pulls();
  bool step_collective(Op& op);  // true when the op finished
  bool busy() const;
  SnapshotPtr take_spare();
  void fail(const std::string& message);

  // ---- training thread ----
  void check_failure() const;  // with mutex held
  // Copies copy_from into staged (unless nullptr: already copied there), stamps it with the next
  // version's header, marks it fresh and ends a stage; announces the header to this rank's view.
  void commit_staged(const float* copy_from, double fitness, int64_t step);
  void submit(Op& op);
};

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

bool MpiTransport::State::busy() const {
  if (!sends.empty()) return true;
  return std::any_of(pulls.begin(), pulls.end(), [](const Pull& p) { return p.active; });
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

SnapshotPtr MpiTransport::State::take_spare() {
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
    mpi_check(MPI_Isend(s->snap->w.get(), to_int_count(numel, "snapshot"), MPI_FLOAT, peer, kTagReplyData, comm,
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
    mpi_check(MPI_Irecv(pull.into->w.get(), to_int_count(numel, "snapshot"), MPI_FLOAT, q, kTagReplyData, comm,
                        &pull.req[1]),
              "MPI_Irecv(answer weights)");
    mpi_check(MPI_Isend(&pull.request_token, 1, MPI_INT, q, kTagRequest, comm, &pull.req[2]), "MPI_Isend(request)");
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
      // A ring (see the file comment): segment k of the buffer is [displs[k], displs[k] +
      // counts[k]). Reduce-scatter: in step s = 0..P-2 each rank sends its partial sum of segment
      // (rank - s) to the right and adds what the left sends of segment (rank - s - 1) into its
      // own; after P-1 steps rank r holds the complete sum of segment (r + 1). All-gather: in
      // step s each rank passes segment (rank + 1 - s) to the right and receives (rank - s) in
      // place. Each segment's sum is computed once, in ring order, so every rank ends with the
      // same bits, run after run.
      const int p = size;
      if (op.numel == 0 || p == 1) return true;
      const int right = (rank + 1) % p, left = (rank + p - 1) % p;
      auto seg = [&](int k) { return ((k % p) + p) % p; };
      if (op_stage == 0) {
        counts.assign(p, 0);
        displs.assign(p, 0);
        for (int r = 0; r < p; ++r) {
          const int64_t begin = op.numel * r / p, end = op.numel * (r + 1) / p;
          displs[r] = to_int_count(begin, "allreduce_sum");
          counts[r] = to_int_count(end - begin, "allreduce_sum");
        }
        chunk.resize(static_cast<size_t>(std::max(1, *std::max_element(counts.begin(), counts.end()))));
        op_stage = 1;
        ring_step = -1;
      }
      // op_stage 1: reduce-scatter steps, 2: all-gather steps; ring_step -1 = nothing posted.
      while (true) {
        if (ring_step >= 0) {
          int flag = 0;
          mpi_check(MPI_Testall(2, ring_req, &flag, MPI_STATUSES_IGNORE), "MPI_Testall(ring)");
          if (!flag) return false;
          if (op_stage == 1) {
            const int k = seg(rank - ring_step - 1);
            float* own = op.data + displs[k];
            const float* in = chunk.data();
            for (int i = 0; i < counts[k]; ++i) own[i] += in[i];
          }
        }
        ++ring_step;
        if (ring_step == p - 1) {
          if (op_stage == 2) return true;
          op_stage = 2;
          ring_step = 0;
        }
        const int send_k = op_stage == 1 ? seg(rank - ring_step) : seg(rank + 1 - ring_step);
        const int recv_k = op_stage == 1 ? seg(rank - ring_step - 1) : seg(rank - ring_step);
        float* recv_into = op_stage == 1 ? chunk.data() : op.data + displs[recv_k];
        mpi_check(MPI_Irecv(recv_into, counts[recv_k], MPI_FLOAT, left, kTagRing, comm, &ring_req[0]),
                  "MPI_Irecv(ring)");
        mpi_check(MPI_Isend(op.data + displs[send_k], counts[send_k], MPI_FLOAT, right, kTagRing, comm, &ring_req[1]),
                  "MPI_Isend(ring)");
      }
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
  to_int_count(numel, "snapshot");
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
  check_snapshot_tensor(weights, s.numel, "publish");
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.check_failure();
    NOSYNC_CHECK(!s.staging, "publish() between stage() and publish_staged()");
  }
  s.commit_staged(weights.data_ptr<float>(), fitness, step);
}

void MpiTransport::stage(const torch::Tensor& weights) {
  State& s = *state_;
  check_snapshot_tensor(weights, s.numel, "stage");
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

std::vector<Header> MpiTransport::headers() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->check_failure();
  return state_->headers;
}

// The latest pulled snapshot of peer `particle`, waiting for a pull when the cache is older than
// what the last barrier announced (or empty while the peer has published).
static SnapshotPtr latest_of_peer(MpiTransport::State& s, int particle);

Header MpiTransport::fetch(int particle, torch::Tensor& out) {
  State& s = *state_;
  NOSYNC_CHECK(particle >= 0 && particle < s.size, "fetch: particle {} out of range 0..{}", particle, s.size - 1);
  check_snapshot_tensor(out, s.numel, "fetch");
  if (particle == s.rank) {
    std::lock_guard<std::mutex> lock(s.publish_mutex);
    const SnapshotPtr& own = s.staged_fresh ? s.staged : s.current;
    if (own->h.valid() && s.numel > 0) std::memcpy(out.data_ptr<float>(), own->w.get(), s.numel * sizeof(float));
    Header h = own->h;
    h.particle = s.rank;
    return h;
  }
  const SnapshotPtr snap = latest_of_peer(s, particle);
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
  check_snapshot_tensor(like, s.numel, "fetch_shared");
  if (particle == s.rank) return Transport::fetch_shared(particle, like, view);
  SnapshotPtr snap = latest_of_peer(s, particle);
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

static SnapshotPtr latest_of_peer(MpiTransport::State& s, int particle) {
  std::unique_lock<std::mutex> lock(s.mutex);
  s.check_failure();
  s.last_fetch[particle] = ++s.fetch_clock;
  const uint64_t need = std::max<uint64_t>(s.floor[particle], s.headers[particle].valid() ? 1 : 0);
  auto have = [&] { return s.cache[particle] ? s.cache[particle]->h.version : 0; };
  if (have() < need) {
    s.fetch_waiting[particle] = true;
    s.wake = true;
    s.comm_cv.notify_one();
    s.training_cv.wait(lock, [&] { return have() >= need || !s.failure.empty(); });
    s.fetch_waiting[particle] = false;
    s.check_failure();
  }
  SnapshotPtr snap = s.cache[particle];
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
