// What the MPI transport's source files share (internal to mpi_transport.cpp, mpi_publish.cpp
// and mpi_pull.cpp): the message tags and wire header, the snapshot buffers, and
// MpiTransport::State, whose members are grouped by the file that implements them.
//
// Words used in these files:
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
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "nosync/comm/mpi_ring_allreduce.h"
#include "nosync/comm/mpi_transport.h"

namespace nosync::comm {
namespace mpi_detail {

// Every message of the transport, on its own duplicated communicator.
inline constexpr int kTagHeader = 101;       // a rank's new header, to every peer
inline constexpr int kTagRequest = 102;      // "send me your current snapshot"
inline constexpr int kTagReplyHeader = 103;  // the answer's header ...
inline constexpr int kTagReplyData = 104;    // ... and its weights
inline constexpr int kTagRing = 105;         // allreduce_sum: a segment passed to the right neighbour

struct WireHeader {
  int64_t step = -1;
  double fitness = 0;
  uint64_t version = 0;
};

inline WireHeader to_wire(const Header& h) { return {h.step, h.fitness, h.version}; }

inline Header from_wire(const WireHeader& w, int particle) {
  Header h;
  h.particle = particle;
  h.step = w.step;
  h.fitness = w.fitness;
  h.version = w.version;
  return h;
}

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

}  // namespace mpi_detail

struct MpiTransport::State {
  using Snapshot = mpi_detail::Snapshot;
  using SnapshotPtr = mpi_detail::SnapshotPtr;
  using WireHeader = mpi_detail::WireHeader;

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
  std::optional<MpiRingAllreduce> ring;  // allreduce_sum (set up by the constructor)
  std::vector<WireHeader> gathered;
  WireHeader own_header;
  bool stop_pulling = false;

  // ---- communication thread: the loop and the collectives (mpi_transport.cpp) ----
  void run();
  void progress();
  bool step_collective(Op& op);  // true when the op finished
  void fail(const std::string& message);

  // ---- communication thread: the publish handshake (mpi_publish.cpp) ----
  void install_staged();
  void copy_stage();
  SnapshotPtr take_spare();

  // ---- communication thread: headers, pulls and answers (mpi_pull.cpp) ----
  void receive_headers();
  void receive_requests();
  void answer_requests();
  void complete_sends();
  void complete_pulls();
  void start_pulls();
  bool busy() const;  // sends or pulls in flight

  // ---- training thread ----
  void check_failure() const;  // with mutex held (mpi_transport.cpp)
  void submit(Op& op);         // hands a collective over and waits for it (mpi_transport.cpp)
  // Copies copy_from into staged (unless nullptr: already copied there), stamps it with the next
  // version's header, marks it fresh and ends a stage; announces the header to this rank's view
  // (mpi_publish.cpp).
  void commit_staged(const float* copy_from, double fitness, int64_t step);
  // The latest pulled snapshot of peer `particle`, leased (Snapshot::leases), waiting for a pull
  // when the cache is older than what the last barrier announced, or empty while the peer has
  // published (mpi_pull.cpp).
  SnapshotPtr latest_of_peer(int particle);
};

}  // namespace nosync::comm
