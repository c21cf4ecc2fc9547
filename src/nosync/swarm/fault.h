// Fault injection for tests and demonstrations, through one switch: the config key
// swarm.fault or the environment variable NOSYNC_FAULT (which wins), e.g.
//   nan:particle=1:step=200     particle 1's weights become NaN after step 200
//   slow:particle=0:factor=4    particle 0 sleeps so that each step takes 4x as long
//   throw:rank=1:step=50        MPI rank 1 throws an error after step 50
//   throw:particle=0:step=50    particle 0 throws an error after step 50 (and after its checkpoint
//                               of step 50, if one is due): a crash for `--max-restarts` to recover;
//                               a run resumed from step >= 50 does not reach it again
//   kill:rank=1:step=50         MPI rank 1 kills itself (SIGKILL) after step 50
//   stall:rank=1:step=50        MPI rank 1 stops making progress after step 50 (sleeps forever)
// The rank faults act in the MPI launcher (app/mpi_swarm.cpp), the particle faults in the worker
// (swarm/worker.cpp), local and under MPI alike.
// Several faults are separated by commas.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nosync::swarm {

struct Fault {
  std::string kind;      // nan | slow | throw | kill | stall
  int particle = -1;     // nan, slow, throw (either particle or rank)
  int rank = -1;         // throw, kill, stall
  int64_t step = 0;      // nan, throw, kill, stall: after this step
  double factor = 1.0;   // slow: step-time multiplier
};

// Parses the spec; a malformed one is a UserError naming `source` (the key or variable).
std::vector<Fault> parse_faults(const std::string& spec, const std::string& source);

// The faults in effect: NOSYNC_FAULT if set, otherwise `config_spec` (swarm.fault).
std::vector<Fault> active_faults(const std::string& config_spec);
// Where active_faults reads them from: "NOSYNC_FAULT" or "swarm.fault".
std::string active_faults_source();

// Refuses a fault that could never fire (UserError naming `source`): a particle outside
// 0 .. particles-1, a rank outside 0 .. ranks-1, or a rank fault in a run that is not an MPI job
// (ranks = 0).
void check_fault_targets(const std::vector<Fault>& faults, int particles, int ranks, const std::string& source);

}  // namespace nosync::swarm
