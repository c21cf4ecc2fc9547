// The MPI transport: one particle per rank (or per group leader), for swarms across processes and
// hosts on Open MPI. See docs/mpi.md for the design and the numbers behind it.
//
// Open MPI has no asynchronous progress: over TCP a large message moves only while its sender is
// inside MPI, and a pull is answered only by the peer's own code (docs/mpi.md, "Why a
// communication thread", has the measurements). So every MpiTransport owns one
// *communication thread*, the only thread that calls MPI while the transport lives
// (MPI_THREAD_SERIALIZED). The training thread never calls MPI: publish/fetch hand snapshots over
// through buffers swapped under a lock, and the collectives are requests that the communication
// thread executes while it keeps serving peers. A slow training thread therefore never delays
// what its peers receive from it.
//
// Traffic per exchange is O(model size) per receiving rank: headers (step, fitness, version:
// 24 bytes) go to every rank; weights move only on request, from the particle a rank fetches
// (its attractor), and a rank keeps following the particles it fetched recently so that their
// new versions arrive in the background before the next fetch.
#pragma once

#include <memory>

#include "nosync/comm/mpi_scope.h"  // MpiScope, mpi_check, mpi_abort_job: MPI for the process
#include "nosync/comm/transport.h"

namespace nosync::comm {

class MpiTransport final : public Transport {
 public:
  // Collective over `parent` (duplicated, so transport traffic never meets anyone else's): every
  // rank of `parent` is one particle, particle id = rank. `numel`: floats per snapshot, equal on
  // every rank. Call only from a thread that owns MPI at that moment.
  MpiTransport(MPI_Comm parent, int64_t numel);
  // Without close(), the communication thread is stopped but MPI objects are left as they are
  // (the job is being aborted anyway).
  ~MpiTransport() override;

  int particle() const override;
  int particles() const override;
  void publish(const torch::Tensor& weights, double fitness, int64_t step) override;
  // The staged weights are copied into the next snapshot on the communication thread while the
  // caller goes on (e.g. evaluates fitness); publish_staged waits only for what is left of it.
  void stage(const torch::Tensor& weights) override;
  void publish_staged(double fitness, int64_t step) override;
  std::vector<Header> headers() override;
  Header fetch(int particle, torch::Tensor& out) override;
  // Lends the received snapshot (no copy): the training thread's cost of reading an attractor.
  Header fetch_shared(int particle, const torch::Tensor& like, torch::Tensor& view) override;
  void allreduce_sum(torch::Tensor& t) override;
  void barrier() override;

  // Collective: waits until no peer needs anything from this rank any more, then frees the
  // communicator. Every rank calls it once, after its last use of the transport.
  void close();

  // Seconds the training thread has been waiting inside a collective (0 when it is not in one):
  // a watchdog tells "waiting for a peer" from "stalled itself".
  double collective_wait_s() const;

  struct Stats {
    int64_t weights_sent = 0;      // snapshots sent to peers
    int64_t weights_received = 0;  // snapshots received from peers
    int64_t bytes_sent = 0, bytes_received = 0;  // snapshot payloads only
  };
  Stats stats() const;

  struct State;  // mpi_transport_state.h, shared by the transport's .cpp files

 private:
  std::unique_ptr<State> state_;
};

}  // namespace nosync::comm
