// The ring all-reduce (element-wise float sum) behind MpiTransport::allreduce_sum: a ring
// reduce-scatter followed by a ring all-gather over point-to-point messages, as a state machine
// that the transport's communication thread starts and then polls between its other traffic,
// so that a rank waiting in the sum still serves its peers. See docs/mpi.md for the numbers.
#pragma once

#include <cstdint>
#include <vector>

#include "nosync/comm/mpi_scope.h"

namespace nosync::comm {

// One sum at a time on `comm` (rank `rank` of `size`), its segments sent with message tag `tag`.
// Every rank sums the same number of floats; the result is bit-identical on every rank and on
// every run. Only one thread may use an instance (it calls MPI).
class MpiRingAllreduce {
 public:
  MpiRingAllreduce(MPI_Comm comm, int rank, int size, int tag);

  // Begins summing the `numel` floats at `data` in place; they must stay valid, and untouched
  // by anyone else, until poll() returns true.
  void start(float* data, int64_t numel);
  // Moves the sum on without blocking; true once `data` holds the sum (and while no sum is in
  // progress).
  bool poll();

 private:
  enum class Phase { kIdle, kReduceScatter, kAllGather };
  int segment(int k) const { return ((k % size_) + size_) % size_; }  // k mod size, never negative

  MPI_Comm comm_;
  int rank_, size_, tag_;
  int right_, left_;  // neighbours: segments go to the right, arrive from the left
  Phase phase_ = Phase::kIdle;
  float* data_ = nullptr;
  std::vector<int> counts_, displs_;  // segment k is [displs_[k], displs_[k] + counts_[k])
  std::vector<float> chunk_;          // reduce-scatter: the segment arriving from the left
  int step_ = -1;                     // the ring step whose messages are in flight; -1 = none posted
  MPI_Request req_[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};  // receive, send
};

}  // namespace nosync::comm
