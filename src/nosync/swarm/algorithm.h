// The NoSync algorithm's pure parts (docs/algorithm.md): pressure schedule, attractor choice,
// pressure, PSO update, diversity. No I/O, no threads, no transport: numbers in, numbers out.
//
//   every tau steps:  f_i = fitness(x_i); publish(x_i, f_i)
//                     a_i = attractor(view of the swarm)
//                     x_i <- x_i + rho(t) * r * (a_i - x_i)
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "nosync/comm/transport.h"
#include "nosync/swarm/options.h"

namespace nosync::swarm {

// rho at `progress` in [0, 1] of the run (schedule from rho0 to rho1).
double rho_at(const SwarmOptions& options, double progress);

// gbest: the particle with the lowest finite fitness among valid headers (ties: lowest id).
// Returns -1 when none is valid.
int best_particle(const std::vector<comm::Header>& view);

// The particles of `self`'s ring neighbourhood: self-k .. self+k (mod n), self included,
// each once, ascending.
std::vector<int> ring_neighbourhood(int self, int n, int k);

// lbest: best_particle restricted to the ring neighbourhood.
int best_in_neighbourhood(const std::vector<comm::Header>& view, int self, int k);

// Pressure: x <- x + coeff * (a - x), in place. coeff = rho * r.
void pull(torch::Tensor& x, const torch::Tensor& attractor, double coeff);

// PSO pull: x <- x + c1r1 * (pbest - x) + c2r2 * (gbest - x), in place.
void pso_pull(torch::Tensor& x, const torch::Tensor& pbest, const torch::Tensor& gbest, double c1r1, double c2r2);

// Mean Euclidean distance of the points to their centroid.
double diversity(const std::vector<torch::Tensor>& points);

bool all_finite(const torch::Tensor& t);

}  // namespace nosync::swarm
