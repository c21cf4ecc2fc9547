// Crash-safe checkpoints; tensors in PyTorch's zip format (util/tensor_file.h).
#include "nosync/train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_set>

#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "nosync-checkpoint";
constexpr int kVersion = 1;
constexpr const char* kCorruptHint = "the checkpoint is corrupt; use an older step-* directory";
constexpr const char* kPathHint =
    "pass a run directory, its checkpoints/ directory or one checkpoints/step-<N> directory";

std::optional<int64_t> parse_step_name(const std::string& name) { return parse_numbered_name(name, "step-"); }

// Last path component, ignoring trailing slashes.
std::string base_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

// `path` without "." / ".." components or a trailing slash.
std::string clean(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty() && p.has_relative_path()) p = p.parent_path();
  return p.string();
}

std::string join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}-{}", static_cast<long>(::getpid()), counter++);
}

json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> after "] ".
    auto close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
    throw UserError(fmt::format("{}: invalid JSON at byte {}: {}", source, e.byte, what),
                    kCorruptHint);
  } catch (const json::exception& e) {  // e.g. a number too large for any JSON number type (found by fuzz_manifest)
    std::string what = e.what();
    auto close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
    throw UserError(fmt::format("{}: invalid JSON: {}", source, what), kCorruptHint);
  }
}

// Follows `dir`/latest to a step directory.
std::string follow_latest(const std::string& dir) {
  const std::string latest = join(dir, "latest");
  if (!util::path_exists(latest)) {
    throw UserError(fmt::format("{}: no `latest` file, so no completed checkpoint here", dir),
                    "no checkpoint write has completed here; pass a checkpoints/step-<N> "
                    "directory explicitly");
  }
  std::string name = util::read_text(latest);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
  if (!parse_step_name(name)) {
    throw UserError(fmt::format("{}: expected one line 'step-<N>', found '{}'", latest,
                                name.substr(0, 80)),
                    "pass a step-<N> directory explicitly");
  }
  const std::string target = join(dir, name);
  if (!util::is_dir(target)) {
    throw UserError(fmt::format("{}: names {}, which does not exist", latest, target),
                    "pass an existing step-<N> directory explicitly");
  }
  return target;
}

// Removes leftovers of interrupted writes (*.tmp*) in `dir`. Best effort.
void remove_stale_temps(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find(".tmp") == std::string::npos) continue;
    std::error_code rm_ec;
    fs::remove_all(it->path(), rm_ec);
  }
}

// The "val_loss" of a step directory's state.json; nullopt without one (or when unreadable).
std::optional<double> saved_val_loss(const fs::path& step_dir) {
  const std::string path = (step_dir / "state.json").string();
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  try {
    const json state = json::parse(util::read_text(path), nullptr, /*allow_exceptions=*/false);
    const json loss = state.is_object() ? state.value("val_loss", json()) : json();
    if (loss.is_number() && std::isfinite(loss.get<double>())) return loss.get<double>();
  } catch (const std::exception&) {  // unreadable: not a candidate
  }
  return std::nullopt;
}

// Keeps the `keep` highest step-<N> directories, the `keep_best` ones of lowest saved
// validation loss, and `protect`. Best effort.
void prune(const std::string& dir, int keep, int keep_best, const std::string& protect) {
  if (keep <= 0) return;
  std::vector<std::pair<int64_t, fs::path>> steps;  // newest first
  for (int64_t n : numbered_dirs(dir, "step-")) steps.emplace_back(n, fs::path(dir) / fmt::format("step-{}", n));
  std::reverse(steps.begin(), steps.end());
  std::unordered_set<std::string> kept = {protect};
  for (size_t i = 0; i < steps.size() && i < static_cast<size_t>(keep); ++i)
    kept.insert(steps[i].second.filename().string());
  if (keep_best > 0) {
    std::vector<std::tuple<double, int64_t, std::string>> scored;  // (loss, -step: newer first on ties, name)
    for (const auto& [n, path] : steps)
      if (auto loss = saved_val_loss(path)) scored.emplace_back(*loss, -n, path.filename().string());
    std::sort(scored.begin(), scored.end());
    for (size_t i = 0; i < scored.size() && i < static_cast<size_t>(keep_best); ++i) kept.insert(std::get<2>(scored[i]));
  }
  for (const auto& [n, path] : steps) {
    if (kept.count(path.filename().string())) continue;
    std::error_code rm_ec;
    fs::remove_all(path, rm_ec);
  }
}

// Moves the complete directory `tmp` to `final_dir`, replacing an existing one.
void move_into_place(const std::string& tmp, const std::string& final_dir,
                     const std::string& checkpoints_dir) {
  if (::rename(tmp.c_str(), final_dir.c_str()) == 0) return;
  int err = errno;
  if (err != EEXIST && err != ENOTEMPTY) {
    throw UserError(fmt::format("{}: rename into place failed: {}", final_dir, std::strerror(err)),
                    "check the permissions and free space of the checkpoints directory");
  }
  // step-<N> exists already (the same step written again). Swap atomically where the file
  // system can, so that `latest` never names a missing directory; the old content ends up
  // under the temporary name and is removed.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) == 0) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return;
  }
  // Fallback: rename the old one aside (a *.tmp* name, cleaned by the next write), then rename.
  const std::string aside =
      join(checkpoints_dir, base_name(final_dir) + ".old.tmp-" + unique_suffix());
  auto fail = [&](int error) {
    throw UserError(fmt::format("{}: replacing the existing checkpoint failed: {}", final_dir,
                                std::strerror(error)),
                    "check the permissions of the checkpoints directory");
  };
  if (::rename(final_dir.c_str(), aside.c_str()) != 0) fail(errno);
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    err = errno;
    ::rename(aside.c_str(), final_dir.c_str());  // put the old one back (best effort)
    fail(err);
  }
  std::error_code ec;
  fs::remove_all(aside, ec);
}

}  // namespace

std::string write_checkpoint(const std::string& checkpoints_dir, int64_t step,
                             const CheckpointContent& content, int keep, int keep_best) {
  NOSYNC_CHECK(step >= 0, "checkpoint step {} is negative", step);
  std::error_code ec;
  fs::create_directories(checkpoints_dir, ec);
  if (ec) {
    throw UserError(fmt::format("{}: cannot create checkpoints directory: {}", checkpoints_dir,
                                ec.message()),
                    "check the permissions and free space of the run directory");
  }

  const std::string name = fmt::format("step-{}", step);
  const std::string final_dir = join(checkpoints_dir, name);
  const std::string tmp = join(checkpoints_dir, fmt::format("{}.tmp-{}", name, unique_suffix()));
  fs::create_directory(tmp, ec);
  if (ec) {
    throw UserError(fmt::format("{}: cannot create directory: {}", tmp, ec.message()),
                    "check the permissions and free space of the checkpoints directory");
  }

  try {
    json files = json::object();
    auto put = [&](const std::string& file, const void* data, size_t size) {
      util::write_file_synced(join(tmp, file), data, size);
      files[file] = {{"sha256", util::sha256_hex(data, size)}, {"bytes", size}};
    };
    {
      std::vector<char> model = serialize_tensors(content.model);
      put("model.pt", model.data(), model.size());
    }
    {
      std::vector<char> optimizer = serialize_tensors(content.optimizer);
      put("optimizer.pt", optimizer.data(), optimizer.size());
    }
    const std::string state = content.state.dump(2) + "\n";
    put("state.json", state.data(), state.size());
    put("config.toml", content.config_toml.data(), content.config_toml.size());

    json manifest = {{"format", kFormat}, {"version", kVersion}, {"step", step}, {"files", files}};
    const std::string manifest_text = manifest.dump(2) + "\n";
    util::write_file_synced(join(tmp, "manifest.json"), manifest_text.data(), manifest_text.size());
    util::fsync_dir(tmp);

    move_into_place(tmp, final_dir, checkpoints_dir);
  } catch (...) {
    std::error_code rm_ec;
    fs::remove_all(tmp, rm_ec);
    throw;
  }
  util::fsync_dir(checkpoints_dir);
  util::write_file_atomic(join(checkpoints_dir, "latest"), name + "\n");

  remove_stale_temps(checkpoints_dir);
  prune(checkpoints_dir, keep, keep_best, name);
  return final_dir;
}

std::string resolve_checkpoint_dir(const std::string& given) {
  const std::string path = clean(given);
  if (!util::path_exists(path)) {
    throw UserError(fmt::format("{}: no such checkpoint directory", path), kPathHint);
  }
  if (!util::is_dir(path)) {
    throw UserError(fmt::format("{}: not a directory", path), kPathHint);
  }
  if (util::path_exists(join(path, "manifest.json")) || parse_step_name(base_name(path))) {
    return path;
  }
  const std::string nested = join(path, "checkpoints");
  if (util::is_dir(nested)) return follow_latest(nested);
  return follow_latest(path);
}

std::optional<int64_t> parse_numbered_name(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  if (name.size() - prefix.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return std::nullopt;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

std::vector<int64_t> numbered_dirs(const std::string& dir, const std::string& prefix) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_directory(type_ec)) continue;
    if (auto n = parse_numbered_name(it->path().filename().string(), prefix)) out.push_back(*n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> checkpoint_steps(const std::string& checkpoints_dir) { return numbered_dirs(checkpoints_dir, "step-"); }

std::map<std::string, ManifestEntry> parse_manifest(const std::string& text, const std::string& manifest_path) {
  const json manifest = parse_json(text, manifest_path);
  auto bad_manifest = [&](const std::string& what) {
    return UserError(fmt::format("{}: {}", manifest_path, what), kCorruptHint);
  };
  if (!manifest.is_object() || manifest.value("format", json()) != kFormat) {
    throw bad_manifest(fmt::format("not a nosync checkpoint manifest (expected \"format\": \"{}\")",
                                   kFormat));
  }
  const json version = manifest.value("version", json());
  if (!version.is_number_integer() || version.get<int64_t>() != kVersion) {
    throw UserError(fmt::format("{}: unsupported checkpoint version {} (this nosync reads {})",
                                manifest_path, version.dump(), kVersion),
                    "use the nosync version that wrote this checkpoint");
  }
  const json files = manifest.value("files", json());
  if (!files.is_object()) throw bad_manifest("\"files\" is missing or not an object");

  for (const char* required : {"model.pt", "optimizer.pt", "state.json", "config.toml"}) {
    if (!files.contains(required)) throw bad_manifest(fmt::format("does not list {}", required));
  }
  std::map<std::string, ManifestEntry> entries;
  for (const auto& [file, entry] : files.items()) {
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
      throw bad_manifest(fmt::format("invalid file name '{}'", file));
    }
    if (!entry.is_object() || !entry.contains("sha256") || !entry["sha256"].is_string() ||
        !entry.contains("bytes") || !entry["bytes"].is_number_unsigned()) {
      throw bad_manifest(fmt::format("entry for '{}' needs \"sha256\" and \"bytes\"", file));
    }
    entries[file] = ManifestEntry{entry["sha256"].get<std::string>(), entry["bytes"].get<uint64_t>()};
  }
  return entries;
}

int64_t checkpoint_dir_step(const std::string& dir) { return parse_step_name(base_name(dir)).value_or(-1); }

SavedProgress check_saved_progress(const json& state, const StateExpectation& expect, const std::string& source) {
  // 2^53: every integer up to here is exact in a JSON double, far beyond any real run.
  constexpr int64_t kMaxCount = int64_t{1} << 53;
  auto bad = [&](const std::string& field, const std::string& what) {
    return UserError(fmt::format("{}: \"{}\" {}", source, field, what),
                     "the checkpoint was edited or belongs to another run; use an older step-* directory or start "
                     "a new run");
  };
  auto count = [&](const json& parent, const std::string& key, const std::string& field) -> int64_t {
    if (!parent.contains(key)) throw bad(field, "is missing");
    const json& v = parent[key];
    if (!v.is_number_integer()) throw bad(field, fmt::format("must be an integer, found {}", v.dump().substr(0, 40)));
    if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(kMaxCount)
                               : (v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxCount))
      throw bad(field, fmt::format("= {} is out of range (0 .. 2^53)", v.dump()));
    return v.get<int64_t>();
  };
  auto seconds = [&](const std::string& key) -> double {
    if (!state.contains(key)) return 0.0;  // older checkpoints
    const json& v = state[key];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
      throw bad(key, fmt::format("must be a finite number >= 0, found {}", v.dump().substr(0, 40)));
    return v.get<double>();
  };
  auto text = [&](const std::string& key, const std::string& expected) {
    if (expected.empty() || !state.contains(key)) return;
    const json& v = state[key];
    if (!v.is_string() || v.get<std::string>() != expected)
      throw bad(key, fmt::format("is {}, but this run's is \"{}\"", v.dump().substr(0, 40), expected));
  };
  if (!state.is_object()) throw UserError(fmt::format("{}: not a JSON object", source), kCorruptHint);
  if (!state.contains("trainer") || !state["trainer"].is_object()) throw bad("trainer", "is missing or not an object");
  const json& trainer = state["trainer"];
  SavedProgress p;
  p.step = count(trainer, "step", "trainer.step");
  p.loader_position = count(trainer, "loader_position", "trainer.loader_position");
  p.total_steps = count(trainer, "total_steps", "trainer.total_steps");
  if (p.step != expect.step)
    throw bad("trainer.step", fmt::format("= {}, but the checkpoint is step-{}", p.step, expect.step));
  if (p.total_steps < 1 || p.step > p.total_steps)
    throw bad("trainer.total_steps", fmt::format("= {} with trainer.step = {}: expected 1 <= step <= total",
                                                 p.total_steps, p.step));
  p.wall_s = seconds("wall_s");
  p.train_s = seconds("train_s");
  if (expect.particle >= 0) {
    const int64_t particle = count(state, "particle", "particle");
    if (particle != expect.particle)
      throw bad("particle", fmt::format("= {}, but the checkpoint is in particle-{}/", particle, expect.particle));
  }
  text("algo", expect.algo);
  text("model", expect.model);
  if (state.contains("pbest_fitness")) {
    const json& f = state["pbest_fitness"];
    if (!f.is_null() && !(f.is_number() && std::isfinite(f.get<double>())))
      throw bad("pbest_fitness", fmt::format("must be a finite number or null, found {}", f.dump().substr(0, 40)));
  }
  return p;
}

SavedProgress parse_saved_progress(const std::string& text, const StateExpectation& expect, const std::string& source) {
  return check_saved_progress(parse_json(text, source), expect, source);
}

CheckpointContent read_checkpoint(const std::string& path) {
  const std::string dir = resolve_checkpoint_dir(path);
  const std::string manifest_path = join(dir, "manifest.json");
  if (!util::path_exists(manifest_path)) {
    throw UserError(fmt::format("{}: missing; {} is not a complete checkpoint", manifest_path, dir),
                    kCorruptHint);
  }
  const std::string manifest_text = util::read_text(manifest_path);
  const auto files = parse_manifest(manifest_text, manifest_path);
  if (const int64_t dir_step = checkpoint_dir_step(dir); dir_step >= 0) {
    const json step = parse_json(manifest_text, manifest_path).value("step", json());
    if (!step.is_number_integer() || step.get<int64_t>() != dir_step)
      throw UserError(fmt::format("{}: \"step\" is {}, but the checkpoint is step-{}", manifest_path,
                                  step.dump().substr(0, 40), dir_step),
                      kCorruptHint);
  }

  std::map<std::string, std::vector<char>> contents;
  for (const auto& [file, entry] : files) {
    const std::string file_path = join(dir, file);
    if (!util::path_exists(file_path)) {
      throw UserError(fmt::format("{}: missing (listed in manifest.json)", file_path),
                      kCorruptHint);
    }
    std::vector<char> bytes = util::read_file(file_path);
    const uint64_t expected_bytes = entry.bytes;
    if (bytes.size() != expected_bytes) {
      throw UserError(fmt::format("{}: size mismatch (expected {} bytes, found {})", file_path,
                                  expected_bytes, bytes.size()),
                      kCorruptHint);
    }
    const std::string& expected = entry.sha256;
    const std::string found = util::sha256_hex(bytes.data(), bytes.size());
    if (found != expected) {
      throw UserError(fmt::format("{}: checksum mismatch (expected sha256 {}, found {})", file_path,
                                  expected, found),
                      kCorruptHint);
    }
    contents.emplace(file, std::move(bytes));
  }

  auto take = [&](const std::string& file) -> const std::vector<char>& {
    return contents.at(file);
  };
  CheckpointContent out;
  out.model = deserialize_tensors(take("model.pt"), join(dir, "model.pt"));
  out.optimizer = deserialize_tensors(take("optimizer.pt"), join(dir, "optimizer.pt"));
  const std::vector<char>& state = take("state.json");
  out.state = parse_json(std::string(state.begin(), state.end()), join(dir, "state.json"));
  const std::vector<char>& config = take("config.toml");
  out.config_toml.assign(config.begin(), config.end());
  return out;
}

}  // namespace nosync::train
