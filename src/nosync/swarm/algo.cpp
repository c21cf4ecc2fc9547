// swarm.algo names.
#include "nosync/swarm/algo.h"

#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {

struct Entry {
  Algo algo;
  const char* name;
};
constexpr Entry kAlgos[] = {{Algo::kSingle, "single"},     {Algo::kSync, "sync"},     {Algo::kLocalSgd, "local-sgd"},
                            {Algo::kEasgd, "easgd"},       {Algo::kNoSync, "nosync"}, {Algo::kDiLoCo, "diloco"}};

}  // namespace

const std::vector<std::string>& algo_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& e : kAlgos) out.emplace_back(e.name);
    return out;
  }();
  return names;
}

Algo parse_algo(const std::string& name) {
  for (const auto& e : kAlgos)
    if (name == e.name) return e.algo;
  NOSYNC_CHECK(false, "unknown swarm.algo '{}'", name);
  return Algo::kSingle;
}

const char* algo_name(Algo algo) {
  for (const auto& e : kAlgos)
    if (algo == e.algo) return e.name;
  return "?";
}

bool is_collective(Algo algo) { return algo != Algo::kNoSync && algo != Algo::kSingle; }

}  // namespace nosync::swarm
