// MPI for the whole process: MpiScope (MPI_Init_thread / MPI_Finalize), and the error handling
// every MPI call site in nosync shares (mpi_check, mpi_count, mpi_abort_job). The one place that
// includes <mpi.h> for the rest of nosync; mpi_transport.h includes this header.
#pragma once

// Open MPI's deprecated C++ bindings are neither needed nor linked.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <cstdint>
#include <string>

namespace nosync::comm {

// MPI_Init_thread / MPI_Finalize as a scope. Only one may exist. One MpiTransport at a time needs
// MPI_THREAD_SERIALIZED (its communication thread is the only MPI caller); several at once (the
// hybrid's group and leaders transports) need MPI_THREAD_MULTIPLE.
class MpiScope {
 public:
  MpiScope(int* argc, char*** argv, int required = MPI_THREAD_SERIALIZED);
  ~MpiScope();
  MpiScope(const MpiScope&) = delete;
  MpiScope& operator=(const MpiScope&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // True when the environment names an MPI launcher (mpirun/mpiexec or srun with PMIx/PMI2).
  static bool launched_by_mpi();
  // This process's rank as the launcher's environment names it (before MPI_Init); 0 when not
  // launched by MPI or when the launcher does not say.
  static int launcher_rank();

 private:
  int rank_ = 0, size_ = 1;
};

// Throws InternalError naming `what` when `rc` is not MPI_SUCCESS (message from MPI itself).
void mpi_check(int rc, const char* what);

// `n` elements as an MPI count (an int); throws InternalError naming `what` when it does not fit.
int mpi_count(int64_t n, const char* what);

// Ends the whole job: prints `message` (one line, prefixed with the rank) and calls MPI_Abort.
[[noreturn]] void mpi_abort_job(const std::string& message, int exit_code);

}  // namespace nosync::comm
