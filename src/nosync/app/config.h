// The run configuration: TOML sections mapped onto each component's options struct.
//
// Every key is declared once in a schema (config.cpp) with its type, default, range and help;
// loading, `--set` overrides, validation, `--help` and the saved config.toml all come from that
// one table. Errors name the key, and file:line when the value came from a file.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nosync/data/dataset.h"
#include "nosync/models/registry.h"
#include "nosync/swarm/options.h"
#include "nosync/train/options.h"

namespace nosync::app {

struct RunOptions {
  std::string dir;                 // "" = runs/<timestamp>
  std::string progress = "auto";   // auto | live | plain | quiet
};

// How particles talk ([comm] section).
struct CommOptions {
  std::string transport = "auto";  // auto (mpi under mpirun/srun, else local) | local | mpi
  double watchdog_s = 600;         // mpi: end the job when a rank makes no step for this long (0 = off)
};

struct Config {
  data::DataOptions data;
  models::ModelOptions model;
  train::TrainOptions train;
  train::CheckpointOptions checkpoint;
  swarm::SwarmOptions swarm;
  CommOptions comm;
  RunOptions run;
};

using Value = std::variant<int64_t, double, bool, std::string>;

struct ConfigKey {
  std::string key;   // "section.name"
  std::string help;
  Value default_value;
  std::vector<std::string> choices;  // strings only; empty = free text
  double min = 0, max = 0;           // numbers only; min > max = unbounded
};

// The schema, in section order.
const std::vector<ConfigKey>& config_keys();

// Defaults, then `file` (TOML), then each "section.key=value" of `overrides` in order.
// Any unknown key, wrong type or out-of-range value throws UserError before work starts.
Config load_config(const std::optional<std::string>& file, const std::vector<std::string>& overrides);

// Rules between keys (e.g. swarm.period_s only with nosync); UserError naming the keys. Called by
// load_config after every source was applied.
void check_consistency(const Config& config);

// Parses TOML text (`source` names it in errors) on top of `config`; used by load_config and for
// a checkpoint's stored config. The [asked] table of a saved config.toml (see to_toml) is checked
// but not applied; apply_asked applies only it.
void apply_toml(Config& config, const std::string& text, const std::string& source);
void apply_asked(Config& config, const std::string& text, const std::string& source);
inline constexpr const char* kAskedTable = "asked";
void apply_override(Config& config, const std::string& assignment);

// The train options of particle `particle` of `particles`: config.train with the entries of
// swarm.overrides for that particle applied. A malformed entry, a particle out of range or a
// key outside [train] is a UserError naming swarm.overrides.
train::TrainOptions particle_train_options(const Config& config, int particle, int particles);

// The effective config as TOML, every key present, loadable by load_config. With `asked`: the
// keys whose asked value differs (swarm.particles = 0, train.threads = 0, train.precision = 'auto'
// before resolve_config) follow in an [asked] table ([asked.swarm] particles = 0, ...), a record
// that load_config and resume skip.
std::string to_toml(const Config& config, const Config* asked = nullptr);

// "section.key = default   help" lines for --help.
std::string describe_keys();

}  // namespace nosync::app
