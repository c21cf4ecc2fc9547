// The claims of `nosync experiment` and its sensitivity table, one unit each: the plan (the arms
// it runs, decided from the budget and options alone) and the section written from their
// finished outcomes. One file each: claim_accuracy.cpp (1), claim_exploration.cpp (2),
// claim_overfitting.cpp (3), claims_mpi.cpp (4 and 5), sensitivity.cpp.
#pragma once

#include <vector>

#include "nosync/app/experiment/common.h"

namespace nosync::app::experiment {

ClaimPlan claim_accuracy(const Context& ctx);     // 1. higher accuracy than a single worker
ClaimPlan claim_exploration(const Context& ctx);  // 2. explores more of the parameter space
ClaimPlan claim_overfitting(const Context& ctx);  // 3. resilient to over-fitting
ClaimPlan claim_speedup(const Context& ctx);      // 4. linear speed-up on small clusters (MPI)
ClaimPlan claim_orthogonal(const Context& ctx);   // 5. orthogonal to data-parallel training (MPI)
ClaimPlan sensitivity(const Context& ctx);        // tau, the rho schedule and the attractor

// NoSync with 4 particles, S/2 steps, one arm per attractor (gbest first): shared by claim 2
// and the sensitivity table.
std::vector<Arm> swarm4_arms(const Budget& b);

}  // namespace nosync::app::experiment
