// `nosync train` as one rank of an MPI job (mpirun / srun): one particle per rank over the MPI
// transport. Rank 0 owns the run directory, the console and the summary; see docs/mpi.md.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "nosync/app/config.h"

namespace nosync::app {

// Whether `nosync train` with this config runs as an MPI rank: comm.transport = mpi, or auto and
// the process was started by an MPI launcher. Throws UserError for comm.transport = mpi without a
// launcher (a silent single-process run would be a different experiment).
bool wants_mpi(const Config& config);

// This process's rank as its MPI launcher's environment names it, before the job starts (0 when
// not launched by MPI): errors found before the job are said by rank 0 only.
int launcher_rank();

// Runs this rank's part of the job and returns its exit code. `run_dir` is the directory rank 0
// asks for ("" = config.run.dir, else `default_dir()`); rank 0 hands the summary to
// `print_summary`. `resume_particles` > 0: continue the run in `run_dir`, saved with that many
// particles, with this job's (size / group_size) particles, as the local swarm resumes
// (resume_plan in local_swarm.h); every rank must see the run directory. Initialises and finalises MPI; an error on any rank prints one line naming the
// rank and ends the whole job (MPI_Abort), so no peer waits forever.
int run_mpi_train(Config config, std::string run_dir, int resume_particles,
                  const std::function<std::string()>& default_dir,
                  const std::function<void(const nlohmann::json&, const std::string&)>& print_summary);

}  // namespace nosync::app
