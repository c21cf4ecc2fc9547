#include "nosync/swarm/fault.h"

#include <cstdlib>
#include <sstream>

#include "nosync/util/error.h"

namespace nosync::swarm {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep))
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace

std::vector<Fault> parse_faults(const std::string& spec, const std::string& source) {
  std::vector<Fault> faults;
  for (const auto& item : split(spec, ',')) {
    const auto fields = split(item, ':');
    auto bad = [&](const std::string& what) {
      return UserError(fmt::format("{}: fault '{}': {}", source, item, what),
                       "write e.g. nan:particle=1:step=200, slow:particle=0:factor=4, throw:particle=0:step=50 or throw:rank=1:step=50");
    };
    Fault f;
    f.kind = fields.at(0);
    const bool rank_fault = f.kind == "throw" || f.kind == "kill" || f.kind == "stall";
    if (f.kind != "nan" && f.kind != "slow" && !rank_fault)
      throw bad("unknown kind (nan, slow, throw, kill or stall)");
    for (size_t i = 1; i < fields.size(); ++i) {
      const auto eq = fields[i].find('=');
      if (eq == std::string::npos) throw bad("expected key=value after ':'");
      const std::string key = fields[i].substr(0, eq), value = fields[i].substr(eq + 1);
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0') throw bad(fmt::format("'{}' is not a number", value));
      if (key != "factor" && !(v >= 0 && v <= 1e15 && v == static_cast<double>(static_cast<int64_t>(v))))
        throw bad(fmt::format("{}={}: expected a whole number >= 0", key, value));
      if (key == "particle") f.particle = static_cast<int>(v);
      else if (key == "rank") f.rank = static_cast<int>(v);
      else if (key == "step") f.step = static_cast<int64_t>(v);
      else if (key == "factor") f.factor = v;
      else throw bad(fmt::format("unknown field '{}'", key));
    }
    if (f.kind == "throw") {
      if ((f.rank < 0) == (f.particle < 0)) throw bad("throw needs either rank=R or particle=N");
    } else if (rank_fault && f.rank < 0) {
      throw bad("rank=R is required");
    } else if (!rank_fault && f.particle < 0) {
      throw bad("particle=N is required");
    }
    if (f.kind == "slow" && !(f.factor >= 1)) throw bad("factor must be >= 1");
    faults.push_back(f);
  }
  return faults;
}

std::vector<Fault> active_faults(const std::string& config_spec) {
  if (const char* env = std::getenv("NOSYNC_FAULT")) return parse_faults(env, "NOSYNC_FAULT");
  return parse_faults(config_spec, "swarm.fault");
}

std::string active_faults_source() { return std::getenv("NOSYNC_FAULT") != nullptr ? "NOSYNC_FAULT" : "swarm.fault"; }

void check_fault_targets(const std::vector<Fault>& faults, int particles, int ranks, const std::string& source) {
  for (const auto& f : faults) {
    const std::string name =
        f.particle >= 0 ? fmt::format("{}:particle={}", f.kind, f.particle) : fmt::format("{}:rank={}", f.kind, f.rank);
    if (f.particle >= particles)
      throw UserError(fmt::format("{}: fault '{}' names particle {}, but the run has {} particle(s) (0 .. {})", source,
                                  name, f.particle, particles, particles - 1),
                      "name a particle that exists, or leave the fault out");
    if (f.rank >= 0 && ranks == 0)
      throw UserError(fmt::format("{}: fault '{}' names an MPI rank, but this run is not an MPI job", source, name),
                      "start it with mpirun, or use a particle fault (e.g. throw:particle=0:step=50)");
    if (f.rank >= ranks && ranks > 0)
      throw UserError(fmt::format("{}: fault '{}' names rank {}, but the MPI job has {} rank(s) (0 .. {})", source,
                                  name, f.rank, ranks, ranks - 1),
                      "name a rank that exists, or leave the fault out");
  }
}

}  // namespace nosync::swarm
