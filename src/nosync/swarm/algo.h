// The training algorithms (swarm.algo) as an enum, parsed once, and what launchers need to know
// of each. Each algorithm's exchange lives in a file of its own under swarm/algos/.
#pragma once

#include <string>
#include <vector>

namespace nosync::swarm {

enum class Algo { kSingle, kSync, kLocalSgd, kEasgd, kNoSync, kDiLoCo };

// swarm.algo's spelling of each; parse_algo throws InternalError on an unknown name (the config
// has validated it against algo_names()).
const std::vector<std::string>& algo_names();
Algo parse_algo(const std::string& name);
const char* algo_name(Algo algo);

// Every worker meets the others in collectives at the same step counts (sync, local-sgd, easgd,
// diloco): they start from one model, resume from one common step, and a stopped worker must
// wake the others. NoSync particles never wait for each other.
bool is_collective(Algo algo);

}  // namespace nosync::swarm
