// Checkpoints that survive crashes and load in Python.
//
// Layout under a run's checkpoints/ directory:
//   step-<N>/model.pt        state_dict tensors (PyTorch key names), torch.load(weights_only=True)
//   step-<N>/optimizer.pt    optimizer state tensors, same format
//   step-<N>/state.json      step, epoch, loader position, RNG state, "val_loss" when evaluated, ...
//   step-<N>/config.toml     the effective config of the run
//   step-<N>/manifest.json   sha256 and size of each file above
//   latest                   one line "step-<N>", written last
// A checkpoint is written into a temporary directory, every file fsynced, the directory renamed
// into place and fsynced, and only then `latest` is replaced (temp file + rename). A crash at any
// point leaves `latest` naming a complete checkpoint; leftovers (*.tmp*) are removed on the next
// write.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "nosync/util/tensor_file.h"

namespace nosync::train {

// model.pt and optimizer.pt are tensor files (util/tensor_file.h).
using util::deserialize_tensors;
using util::load_tensors;
using util::save_tensors;
using util::serialize_tensors;
using util::TensorList;

struct CheckpointContent {
  TensorList model;
  TensorList optimizer;
  nlohmann::json state;
  std::string config_toml;
};

// Writes checkpoints_dir/step-<step>/ as described above and keeps the newest `keep` checkpoints
// (0 = keep all) and, besides them, the `keep_best` ones whose state.json has the lowest
// "val_loss" (a checkpoint without one is never among them). Returns the checkpoint directory.
std::string write_checkpoint(const std::string& checkpoints_dir, int64_t step,
                             const CheckpointContent& content, int keep, int keep_best = 0);

// `path` may be a run directory, its checkpoints/ directory (both follow `latest`), or one
// step-<N> directory. Verifies every checksum; a missing, truncated or altered file is a
// UserError naming the file.
CheckpointContent read_checkpoint(const std::string& path);

// manifest.json: file name -> expected sha256 and size. Anything malformed (not JSON, another
// format or version, a required file missing, a name with '/', an entry without sha256/bytes)
// is a UserError naming `source`. Reads from memory, so it can be fuzzed.
struct ManifestEntry {
  std::string sha256;
  uint64_t bytes = 0;
};
std::map<std::string, ManifestEntry> parse_manifest(const std::string& text, const std::string& source);

// The N of every step-<N> directory in `checkpoints_dir`, ascending (none: empty). Completeness
// is not checked here: read_checkpoint verifies the one chosen.
std::vector<int64_t> checkpoint_steps(const std::string& checkpoints_dir);

// "<prefix><digits>" -> N (at most 18 digits); anything else -> nullopt. numbered_dirs: the N of
// every such subdirectory of `dir`, ascending (step-<N>, particle-<i>).
std::optional<int64_t> parse_numbered_name(const std::string& name, const std::string& prefix);
std::vector<int64_t> numbered_dirs(const std::string& dir, const std::string& prefix);

// Resolves `path` as read_checkpoint does, without reading the files.
std::string resolve_checkpoint_dir(const std::string& path);

// What a resume reads from a training checkpoint's state.json, every field checked.
struct SavedProgress {
  int64_t step = 0;             // trainer.step
  int64_t loader_position = 0;  // trainer.loader_position: batches drawn so far
  int64_t total_steps = 0;      // trainer.total_steps: the run's length when it was saved
  double wall_s = 0, train_s = 0;
};
// What the run expects of that state.json.
struct StateExpectation {
  int64_t step = 0;     // the N of its step-<N> directory (and of manifest.json)
  int particle = -1;    // the particle whose directory it is in; -1: a single worker (no field)
  std::string algo;     // swarm.algo of the run
  std::string model;    // model.name of the run
};
// Checks every field a resume uses (types, ranges, step <= total_steps, agreement with the
// directory, the particle, the algorithm and the model); anything else is a UserError naming
// `source` and the field. parse_saved_progress starts from the file's text, so it can be fuzzed.
SavedProgress check_saved_progress(const nlohmann::json& state, const StateExpectation& expect,
                                   const std::string& source);
SavedProgress parse_saved_progress(const std::string& text, const StateExpectation& expect,
                                   const std::string& source);

// The N of a step-<N> directory (`dir` may end in a slash); -1 for any other name.
int64_t checkpoint_dir_step(const std::string& dir);

}  // namespace nosync::train
