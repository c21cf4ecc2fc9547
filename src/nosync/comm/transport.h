// How particles see each other: one small interface, implemented by the local board (threads in
// one process, local_board.h) and by MPI ranks (mpi_transport.h).
//
// Words used below: a *particle* is one worker with its own model; its *snapshot* is a flat
// float copy of its parameters plus a header (fitness, step, version). `publish` never waits
// for another particle; `headers` and `fetch` return whatever has arrived, possibly stale.
// Collectives (allreduce_sum, barrier) block until every particle calls them and exist for the
// baselines (sync, local-sgd, easgd, diloco), NoSync's lock-step test mode and its optional
// all-reduce mean. Algorithms never ask which transport they have (swarm/exchange.h).
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include <torch/types.h>

#include "nosync/util/error.h"

namespace nosync::comm {

// Thrown by a collective (and by publish/fetch) once the transport was aborted because some
// particle failed: the peers stop instead of waiting forever.
class Aborted : public std::runtime_error {
 public:
  Aborted() : std::runtime_error("transport aborted: another particle failed") {}
};

struct Header {
  int particle = -1;
  int64_t step = -1;  // the publisher's step when it published; -1 = nothing published yet
  double fitness = std::numeric_limits<double>::infinity();  // lower is better
  uint64_t version = 0;  // increments with every publish of this particle; 0 = none yet
  bool valid() const { return version > 0; }
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int particle() const = 0;   // this endpoint's particle id, 0..particles()-1
  virtual int particles() const = 0;

  // Makes `weights` (flat, float, numel fixed per board) and `fitness` visible to the others.
  // Copies; returns without waiting for any other particle.
  virtual void publish(const torch::Tensor& weights, double fitness, int64_t step) = 0;
  // Two-phase publish, for a caller with work to do between fixing its weights and knowing their
  // fitness (a NoSync exchange evaluates the very weights it publishes): `stage` hands over
  // `weights`, which the caller leaves unchanged until `publish_staged`; a transport may copy them
  // in the background meanwhile (the MPI transport does, on its communication thread), so the
  // caller's thread does not pay for the copy. `publish_staged` then publishes them as
  // publish(weights, fitness, step) would. A publish_staged without a stage, or a second stage,
  // is an InternalError (so is a publish in between, where a transport copies in the background).
  // The default keeps a reference and publishes at the end.
  virtual void stage(const torch::Tensor& weights) {
    NOSYNC_CHECK(!staged_.defined(), "stage() twice without publish_staged()");
    staged_ = weights;
  }
  virtual void publish_staged(double fitness, int64_t step) {
    NOSYNC_CHECK(staged_.defined(), "publish_staged() without stage()");
    const torch::Tensor weights = std::move(staged_);
    staged_ = torch::Tensor();
    publish(weights, fitness, step);
  }
  // The latest header of every particle, indexed by particle id.
  virtual std::vector<Header> headers() = 0;
  // Copies the latest published weights of `particle` into `out`; returns their header
  // (invalid header and `out` untouched when that particle has published nothing yet).
  virtual Header fetch(int particle, torch::Tensor& out) = 0;

  // fetch without a copy where the transport can avoid one: `view` becomes a tensor holding the
  // latest published weights of `particle`, valid and unchanged for as long as the caller keeps
  // it, and read-only (the MPI transport lends the snapshot it received; writing into it is a
  // bug). `like` gives size and options to transports that copy. `view` is left as it is when
  // the particle has published nothing yet.
  virtual Header fetch_shared(int particle, const torch::Tensor& like, torch::Tensor& view) {
    torch::Tensor out = torch::empty_like(like);
    const Header h = fetch(particle, out);
    if (h.valid()) view = out;
    return h;
  }

  // Element-wise sum over all particles, in place; blocks until all particles have called it.
  // `t`: contiguous float, same numel on every particle (may differ from the snapshot size).
  // The result is bit-identical on every particle.
  virtual void allreduce_sum(torch::Tensor& t) = 0;
  // Blocks until all particles have called it. Publishes made before it are visible to every
  // particle's headers/fetch after it.
  virtual void barrier() = 0;

 private:
  torch::Tensor staged_;  // the default stage/publish_staged: the weights handed over
};

}  // namespace nosync::comm
