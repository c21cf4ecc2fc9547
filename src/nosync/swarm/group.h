// The hybrid particle (swarm.group_size > 1 under MPI): one NoSync particle made of a
// data-parallel group of ranks. Wraps the leader's exchange: every member all-reduces its
// gradients with the group at every step; after every exchange the leader's weights, and what it
// did to its momentum, go to every member. Only the leader exchanges with the swarm.
#pragma once

#include <memory>

#include "nosync/comm/transport.h"
#include "nosync/swarm/exchange.h"

namespace nosync::swarm {

// `leader_exchange`: the leader's exchange with the swarm; null on the other members.
std::unique_ptr<Exchange> make_group_exchange(std::unique_ptr<Exchange> leader_exchange, comm::Transport& group,
                                              train::Trainer& trainer);

}  // namespace nosync::swarm
