// MPI for the whole process: MpiScope, mpi_check, mpi_count, mpi_abort_job (see mpi_scope.h).
#include "nosync/comm/mpi_scope.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>

#include <fmt/format.h>

#include "nosync/util/error.h"

namespace nosync::comm {
namespace {

std::string mpi_error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return fmt::format("MPI error code {}", rc);
  return std::string(text, len);
}

}  // namespace

void mpi_check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw InternalError(fmt::format("{} failed: {}", what, mpi_error_text(rc)));
}

int mpi_count(int64_t n, const char* what) {
  NOSYNC_CHECK(n >= 0 && n <= std::numeric_limits<int>::max(), "{}: {} elements do not fit an MPI count", what, n);
  return static_cast<int>(n);
}

void mpi_abort_job(const std::string& message, int exit_code) {
  // Works with MPI initialised or not: the rank goes into the line when MPI knows it, and
  // std::_Exit ends this process should MPI_Abort return (or MPI not be running).
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
  // Errors come back as return codes (checked by mpi_check) instead of aborting the job inside
  // MPI, so that a failure names the call that failed.
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

int MpiScope::launcher_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    if (const char* v = std::getenv(var)) return std::max(0, std::atoi(v));
  }
  return 0;
}

}  // namespace nosync::comm
