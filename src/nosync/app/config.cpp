// The config schema and everything derived from it: TOML loading, --set, printing, help.
#include "nosync/app/config.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include <toml++/toml.h>

#include "nosync/models/torchscript.h"
#include "nosync/swarm/algo.h"
#include "nosync/util/error.h"

namespace nosync::app {

namespace {

constexpr double kUnbounded = std::numeric_limits<double>::infinity();

struct Field {
  ConfigKey meta;
  std::function<Value(const Config&)> get;
  std::function<void(Config&, const Value&)> set;
};

template <typename Section, typename T>
Field make_field(std::string key, Section Config::*section, T Section::*member, std::string help,
                 double min = 1, double max = 0, std::vector<std::string> choices = {}) {
  Field f;
  f.meta.key = std::move(key);
  f.meta.help = std::move(help);
  f.meta.min = min;
  f.meta.max = max;
  f.meta.choices = std::move(choices);
  f.get = [section, member](const Config& c) -> Value {
    const T& v = c.*section.*member;
    if constexpr (std::is_same_v<T, bool>) return v;
    else if constexpr (std::is_same_v<T, std::string>) return v;
    else if constexpr (std::is_floating_point_v<T>) return static_cast<double>(v);
    else return static_cast<int64_t>(v);
  };
  f.set = [section, member](Config& c, const Value& v) {
    T& out = c.*section.*member;
    if constexpr (std::is_same_v<T, bool>) out = std::get<bool>(v);
    else if constexpr (std::is_same_v<T, std::string>) out = std::get<std::string>(v);
    else if constexpr (std::is_floating_point_v<T>) out = static_cast<T>(std::get<double>(v));
    else out = static_cast<T>(std::get<int64_t>(v));
  };
  f.meta.default_value = f.get(Config{});
  return f;
}

const std::vector<Field>& fields() {
  using C = Config;
  static const std::vector<Field> all = {
      make_field("data.format", &C::data, &data::DataOptions::format, "data set format", 1, 0,
                 {"idx", "cifar10", "tensors", "text", "synthetic"}),
      make_field("data.dir", &C::data, &data::DataOptions::dir,
                 "directory of the data files (idx: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; "
                 "cifar10: data_batch_{1..5}.bin, test_batch.bin)"),
      make_field("data.path", &C::data, &data::DataOptions::path,
                 "tensors: the file torch.save wrote ({train,test}_{x,y}, optional val_*); text: a text file, "
                 "or a directory whose text files are concatenated"),
      make_field("data.val_size", &C::data, &data::DataOptions::val_size,
                 "validation samples held out of the end of the training set (not for text, nor tensors "
                 "files with val_x)",
                 1, 1e9),
      make_field("data.context", &C::data, &data::DataOptions::context, "text: tokens (bytes) per window", 1, 65536),
      make_field("data.stride", &C::data, &data::DataOptions::stride,
                 "text: training windows start every N bytes (0 = context / 2)", 0, 65536),
      make_field("data.val_fraction", &C::data, &data::DataOptions::val_fraction,
                 "text: share of the corpus held out for validation", 0.0001, 0.5),
      make_field("data.test_fraction", &C::data, &data::DataOptions::test_fraction,
                 "text: share of the corpus held out for test", 0.0001, 0.5),
      make_field("data.train_limit", &C::data, &data::DataOptions::train_limit,
                 "use only the first N training samples (0 = all)", 0, 1e9),
      make_field("data.test_limit", &C::data, &data::DataOptions::test_limit,
                 "use only the first N test samples (0 = all)", 0, 1e9),
      make_field("data.normalize", &C::data, &data::DataOptions::normalize,
                 "normalize by the training split's per-channel mean and std"),
      make_field("data.augment_crop", &C::data, &data::DataOptions::augment_crop,
                 "random-crop augmentation with this zero padding in pixels (0 = off)", 0, 64),
      make_field("data.augment_flip", &C::data, &data::DataOptions::augment_flip,
                 "random horizontal flip augmentation"),
      make_field("data.synthetic_train", &C::data, &data::DataOptions::synthetic_train,
                 "synthetic: training samples (validation included)", 2, 1e8),
      make_field("data.synthetic_test", &C::data, &data::DataOptions::synthetic_test,
                 "synthetic: test samples", 1, 1e8),
      make_field("data.synthetic_classes", &C::data, &data::DataOptions::synthetic_classes,
                 "synthetic: number of classes", 2, 1000),
      make_field("data.synthetic_size", &C::data, &data::DataOptions::synthetic_size,
                 "synthetic: images are 1 x size x size", 4, 256),
      make_field("data.synthetic_seed", &C::data, &data::DataOptions::synthetic_seed,
                 "synthetic: generator seed", 0, 9.0e15),

      make_field("model.name", &C::model, &models::ModelOptions::name,
                 "model architecture (gpt: decoder-only transformer on token data; torchscript: your own "
                 "module, docs/own-model.md)",
                 1, 0, {"mlp", "cnn", "resnet", "gpt", "torchscript"}),
      make_field("model.path", &C::model, &models::ModelOptions::path,
                 "model.name = torchscript: the module file, saved from Python with "
                 "torch.jit.script(model).save(path); its weights are the start of every particle"),
      make_field("model.width", &C::model, &models::ModelOptions::width,
                 "mlp, cnn, resnet: width multiplier for channels / hidden units (gpt refuses it)", 0.01, 64),
      make_field("model.depth", &C::model, &models::ModelOptions::depth,
                 "mlp: hidden layers; cnn: conv blocks; resnet: blocks per stage (0 = 2, 2, 3; gpt refuses it)", 0,
                 100),
      make_field("model.layers", &C::model, &models::ModelOptions::layers,
                 "gpt: transformer blocks (the other models refuse it)", 1, 256),
      make_field("model.heads", &C::model, &models::ModelOptions::heads,
                 "gpt: attention heads; model.embed must be a multiple (the other models refuse it)", 1, 256),
      make_field("model.embed", &C::model, &models::ModelOptions::embed,
                 "gpt: width of the residual stream (the other models refuse it)", 1, 16384),

      make_field("train.optimizer", &C::train, &train::TrainOptions::optimizer, "optimizer", 1, 0,
                 {"sgd", "adamw"}),
      make_field("train.lr", &C::train, &train::TrainOptions::lr, "peak learning rate", 0, 100),
      make_field("train.momentum", &C::train, &train::TrainOptions::momentum, "sgd momentum", 0, 1),
      make_field("train.nesterov", &C::train, &train::TrainOptions::nesterov, "sgd Nesterov momentum"),
      make_field("train.weight_decay", &C::train, &train::TrainOptions::weight_decay,
                 "weight decay (sgd: L2 in the gradient; adamw: decoupled)", 0, 10),
      make_field("train.beta1", &C::train, &train::TrainOptions::beta1, "adamw beta1", 0, 0.999999),
      make_field("train.beta2", &C::train, &train::TrainOptions::beta2, "adamw beta2", 0, 0.999999999),
      make_field("train.eps", &C::train, &train::TrainOptions::eps, "adamw epsilon", 1e-20, 1),
      make_field("train.schedule", &C::train, &train::TrainOptions::schedule, "learning-rate schedule", 1, 0,
                 {"constant", "step", "cosine"}),
      make_field("train.warmup_steps", &C::train, &train::TrainOptions::warmup_steps,
                 "linear learning-rate warm-up steps", 0, 1e9),
      make_field("train.lr_step_every", &C::train, &train::TrainOptions::lr_step_every,
                 "schedule = step: steps between decays", 1, 1e9),
      make_field("train.lr_gamma", &C::train, &train::TrainOptions::lr_gamma,
                 "schedule = step: decay factor", 0, 1),
      make_field("train.min_lr", &C::train, &train::TrainOptions::min_lr,
                 "schedule = cosine: final learning rate", 0, 100),
      make_field("train.batch_size", &C::train, &train::TrainOptions::batch_size, "samples per step", 1, 65536),
      make_field("train.epochs", &C::train, &train::TrainOptions::epochs, "epochs (when train.steps = 0)", 1, 1e6),
      make_field("train.steps", &C::train, &train::TrainOptions::steps,
                 "optimizer steps; > 0 overrides train.epochs", 0, 1e12),
      make_field("train.eval_every", &C::train, &train::TrainOptions::eval_every,
                 "evaluate on validation and test every N steps (0 = every epoch)", 0, 1e12),
      make_field("train.log_every", &C::train, &train::TrainOptions::log_every,
                 "steps between metrics records", 1, 1e12),
      make_field("train.seed", &C::train, &train::TrainOptions::seed,
                 "seed of initialisation, shuffling and augmentation", 0, 9.0e15),
      make_field("train.threads", &C::train, &train::TrainOptions::threads,
                 "intra-op CPU threads per worker (0 = an equal share of the cores; more is lowered to it)", 0, 1024),
      make_field("train.precision", &C::train, &train::TrainOptions::precision,
                 "arithmetic of forward and backward: fp32, bf16 autocast (float32 master weights), or auto "
                 "(bf16 where the CPU has AVX512-BF16)", 1, 0,
                 {"auto", "fp32", "bf16"}),
      make_field("train.channels_last", &C::train, &train::TrainOptions::channels_last,
                 "conv models: channels-last (NHWC) weights and activations"),
      make_field("train.prefetch", &C::train, &train::TrainOptions::prefetch,
                 "batches prepared ahead by a background thread per worker (0 = none)", 0, 64),
      make_field("train.peak_gflops", &C::train, &train::TrainOptions::peak_gflops,
                 "peak GFLOP/s of one core at train.precision, for the fraction-of-peak report "
                 "(0 = from CPU flags and clock)", 0, 1e7),

      make_field("checkpoint.every", &C::checkpoint, &train::CheckpointOptions::every,
                 "steps between checkpoints (0 = every epoch)", 0, 1e12),
      make_field("checkpoint.keep", &C::checkpoint, &train::CheckpointOptions::keep,
                 "newest checkpoints kept (0 = all)", 0, 1e6),
      make_field("checkpoint.keep_best", &C::checkpoint, &train::CheckpointOptions::keep_best,
                 "also keep the K checkpoints with the lowest validation loss (0 = none; with checkpoint.keep > 0)",
                 0, 1e6),

      make_field("swarm.algo", &C::swarm, &swarm::SwarmOptions::algo,
                 "training algorithm: one worker, or N particles with NoSync or a baseline", 1, 0,
                 swarm::algo_names()),
      make_field("swarm.particles", &C::swarm, &swarm::SwarmOptions::particles,
                 "workers (0 = one per core, under mpirun the job's size; single uses 1)", 0, 4096),
      make_field("swarm.tau", &C::swarm, &swarm::SwarmOptions::tau,
                 "steps between exchanges (nosync, local-sgd, easgd; diloco: inner steps H)", 1, 1e9),
      make_field("swarm.period_s", &C::swarm, &swarm::SwarmOptions::period_s,
                 "nosync: seconds between exchanges instead of tau steps (0 = use tau)", 0, 1e6),
      make_field("swarm.attractor", &C::swarm, &swarm::SwarmOptions::attractor,
                 "nosync attractor: best particle, best in ring, swarm mean, or PSO personal+global best", 1, 0,
                 {"gbest", "lbest", "mean", "pso"}),
      make_field("swarm.mean_form", &C::swarm, &swarm::SwarmOptions::mean_form,
                 "attractor = mean: average of what the swarm has published (nobody waits), or one all-reduce "
                 "at the same step on every particle (lock-step, never stale)", 1, 0, {"fetch", "allreduce"}),
      make_field("swarm.lbest_k", &C::swarm, &swarm::SwarmOptions::lbest_k,
                 "lbest: neighbours on each side in the ring", 1, 4096),
      make_field("swarm.c1", &C::swarm, &swarm::SwarmOptions::c1, "pso: weight of the personal best", 0, 4),
      make_field("swarm.c2", &C::swarm, &swarm::SwarmOptions::c2, "pso: weight of the global best", 0, 4),
      make_field("swarm.rho_schedule", &C::swarm, &swarm::SwarmOptions::rho_schedule,
                 "pressure schedule from rho0 to rho1 over the run", 1, 0, {"constant", "linear", "cosine"}),
      make_field("swarm.rho0", &C::swarm, &swarm::SwarmOptions::rho0, "pressure at the start", 0, 1),
      make_field("swarm.rho1", &C::swarm, &swarm::SwarmOptions::rho1,
                 "pressure at the end (1 = particles end as one model)", 0, 1),
      make_field("swarm.random_r", &C::swarm, &swarm::SwarmOptions::random_r,
                 "scale each pull by r ~ U(0,1) (seeded), PSO-style"),
      make_field("swarm.momentum_on_pull", &C::swarm, &swarm::SwarmOptions::momentum_on_pull,
                 "optimizer momentum after a pull: keep, reset to 0, or scale by 1 - rho*r", 1, 0,
                 {"keep", "reset", "scale"}),
      make_field("swarm.fitness", &C::swarm, &swarm::SwarmOptions::fitness,
                 "fitness: loss on a fixed validation subset, or EMA of the training loss", 1, 0,
                 {"val", "train_ema"}),
      make_field("swarm.fitness_samples", &C::swarm, &swarm::SwarmOptions::fitness_samples,
                 "fitness = val: validation samples used", 1, 1e9),
      make_field("swarm.shard", &C::swarm, &swarm::SwarmOptions::shard,
                 "each worker trains on a disjoint shard instead of its own shuffle of everything"),
      make_field("swarm.group_size", &C::swarm, &swarm::SwarmOptions::group_size,
                 "mpi, nosync: ranks per particle; each particle is a group doing synchronous data-parallel SGD, "
                 "NoSync between groups (hybrid)", 1, 4096),
      make_field("swarm.deterministic", &C::swarm, &swarm::SwarmOptions::deterministic,
                 "exchanges in lock-step by step count (bit-identical runs with train.threads = 1)"),
      make_field("swarm.easgd_alpha", &C::swarm, &swarm::SwarmOptions::easgd_alpha,
                 "easgd: elastic coefficient per exchange", 0, 1),
      make_field("swarm.sync_scale_lr", &C::swarm, &swarm::SwarmOptions::sync_scale_lr,
                 "sync: multiply the learning rate by the number of workers"),
      make_field("swarm.outer_lr", &C::swarm, &swarm::SwarmOptions::outer_lr,
                 "diloco: learning rate of the outer Nesterov step on the averaged pseudo-gradient", 0, 10),
      make_field("swarm.outer_momentum", &C::swarm, &swarm::SwarmOptions::outer_momentum,
                 "diloco: momentum of the outer Nesterov step", 0, 0.999999),
      make_field("swarm.fault", &C::swarm, &swarm::SwarmOptions::fault,
                 "fault injection for tests: nan:particle=P:step=S, slow:particle=P:factor=F, "
                 "throw:particle=P:step=S, and under MPI throw|kill|stall:rank=R:step=S (comma-separated; "
                 "env NOSYNC_FAULT wins)"),
      make_field("swarm.overrides", &C::swarm, &swarm::SwarmOptions::overrides,
                 "per-particle train.* keys for heterogeneous swarms: P:train.key=value;... "
                 "(e.g. 1:train.lr=0.1;1:train.threads=2)"),

      make_field("comm.transport", &C::comm, &CommOptions::transport,
                 "how particles exchange: threads of this process (local), MPI ranks (mpi), or mpi when started "
                 "by mpirun/srun (auto)", 1, 0, {"auto", "local", "mpi"}),
      make_field("comm.watchdog_s", &C::comm, &CommOptions::watchdog_s,
                 "mpi: end the job, naming the rank, when a rank makes no training step for this many seconds "
                 "(0 = off)", 0, 1e9),

      make_field("run.dir", &C::run, &RunOptions::dir, "run directory (\"\" = runs/<date>-<time>)"),
      make_field("run.progress", &C::run, &RunOptions::progress,
                 "console output: live line on a terminal, plain log lines, or quiet", 1, 0,
                 {"auto", "live", "plain", "quiet"}),
  };
  return all;
}

const Field* find_field(const std::string& key) {
  for (const auto& f : fields())
    if (f.meta.key == key) return &f;
  return nullptr;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string unknown_key_hint(const std::string& key) {
  const Field* best = nullptr;
  size_t best_d = 4;
  for (const auto& f : fields()) {
    const size_t d = edit_distance(key, f.meta.key);
    if (d < best_d) best_d = d, best = &f;
  }
  if (best) return fmt::format("did you mean '{}'? `nosync train --help` lists every key", best->meta.key);
  return "`nosync train --help` lists every key";
}

const char* type_name(const Value& v) {
  switch (v.index()) {
    case 0: return "an integer";
    case 1: return "a number";
    case 2: return "true or false";
    default: return "a string";
  }
}

// Range, finiteness and choice checks; `where` is "file:line:col" or "--set".
void validate(const Field& f, const Value& v, const std::string& where) {
  const auto& m = f.meta;
  auto fail = [&](const std::string& what, const std::string& hint = {}) {
    throw UserError(fmt::format("{}: {}: {}", where, m.key, what),
                    hint.empty() ? "`nosync train --help` lists every key with its range" : hint);
  };
  if (const auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) fail(fmt::format("must be a finite number, found {}", *d));
    if (m.min <= m.max && (*d < m.min || *d > m.max))
      fail(fmt::format("must be in [{}, {}], found {}", m.min, m.max, *d));
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    if (m.min <= m.max && (static_cast<double>(*i) < m.min || static_cast<double>(*i) > m.max))
      fail(fmt::format("must be in [{}, {}], found {}", static_cast<int64_t>(m.min), m.max, *i));
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    if (!m.choices.empty() && std::find(m.choices.begin(), m.choices.end(), *s) == m.choices.end())
      fail(fmt::format("'{}' is not one of {}", *s, fmt::join(m.choices, ", ")));
  }
}

std::string where_of(const std::string& source, const toml::source_region& r) {
  return fmt::format("{}:{}:{}", source, r.begin.line, r.begin.column);
}

Value from_toml(const Field& f, const toml::node& node, const std::string& where) {
  const Value& def = f.meta.default_value;
  auto wrong = [&](const char* found) {
    throw UserError(fmt::format("{}: {}: expected {}, found {}", where, f.meta.key, type_name(def), found),
                    fmt::format("write it like {} = {}", f.meta.key.substr(f.meta.key.find('.') + 1),
                                std::holds_alternative<std::string>(def) ? "\"text\"" : "1"));
  };
  auto found_type = [&]() -> const char* {
    switch (node.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a float";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::table: return "a table";
      case toml::node_type::array: return "an array";
      default: return "a date/time";
    }
  };
  switch (def.index()) {
    case 0:
      if (auto v = node.as_integer()) return v->get();
      wrong(found_type());
      break;
    case 1:
      if (auto v = node.as_floating_point()) return v->get();
      if (auto v = node.as_integer()) return static_cast<double>(v->get());
      wrong(found_type());
      break;
    case 2:
      if (auto v = node.as_boolean()) return v->get();
      wrong(found_type());
      break;
    default:
      if (auto v = node.as_string()) return v->get();
      wrong(found_type());
  }
  return def;  // unreachable
}

Value from_text(const Field& f, const std::string& text, const std::string& where) {
  const Value& def = f.meta.default_value;
  auto wrong = [&]() -> Value {
    throw UserError(fmt::format("{}: {}: expected {}, found '{}'", where, f.meta.key, type_name(def), text),
                    "`nosync train --help` lists every key with its type");
  };
  switch (def.index()) {
    case 0: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return wrong();
      return v;
    }
    case 1: {
      if (text.empty()) return wrong();
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) return wrong();
      return v;
    }
    case 2:
      if (text == "true") return true;
      if (text == "false") return false;
      return wrong();
    default:
      if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front())
        return text.substr(1, text.size() - 2);
      return text;
  }
}

std::string toml_literal(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&v)) {
    std::string s = fmt::format("{}", *d);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a TOML float
    return s;
  }
  std::ostringstream out;
  out << toml::value<std::string>(std::get<std::string>(v));
  return out.str();
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> out;
    for (const auto& f : fields()) out.push_back(f.meta);
    return out;
  }();
  return keys;
}

namespace {

toml::table parse_toml(const std::string& text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw UserError(fmt::format("{}: {}", where_of(source, e.source()), e.description()),
                    "the file must be TOML: [section] headers and key = value lines");
  }
}

// Applies the [section] tables of `root` (every key checked) to `config`. `prefix` names the
// enclosing table in messages ("asked." for the tables under [asked]).
void apply_sections(Config& config, const toml::table& root, const std::string& source, const std::string& prefix) {
  for (auto&& [section, node] : root) {
    const std::string where = where_of(source, section.source());
    const auto* table = node.as_table();
    if (!table)
      throw UserError(fmt::format("{}: key '{}{}' is outside a section", where, prefix, section.str()),
                      "put keys under a [section] header such as [train]");
    if (prefix.empty() && section.str() == kAskedTable) continue;  // apply_asked's
    for (auto&& [name, value] : *table) {
      const std::string key = std::string(section.str()) + "." + std::string(name.str());
      const std::string at = where_of(source, name.source());
      const Field* f = find_field(key);
      if (!f) throw UserError(fmt::format("{}: unknown key '{}{}'", at, prefix, key), unknown_key_hint(key));
      const Value v = from_toml(*f, value, at);
      validate(*f, v, at);
      f->set(config, v);
    }
  }
}

}  // namespace

void apply_toml(Config& config, const std::string& text, const std::string& source) {
  const toml::table root = parse_toml(text, source);
  apply_sections(config, root, source, "");
  // [asked] is checked here too, so that a bad one is refused before anything runs.
  Config asked = config;
  if (const auto* t = root[kAskedTable].as_table()) apply_sections(asked, *t, source, std::string(kAskedTable) + ".");
}

void apply_asked(Config& config, const std::string& text, const std::string& source) {
  const toml::table root = parse_toml(text, source);
  if (const auto* t = root[kAskedTable].as_table()) apply_sections(config, *t, source, std::string(kAskedTable) + ".");
}

void apply_override(Config& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos)
    throw UserError(fmt::format("--set {}: expected section.key=value", assignment),
                    "for example --set train.lr=0.1");
  const std::string key = assignment.substr(0, eq);
  const std::string where = "--set " + assignment;
  const Field* f = find_field(key);
  if (!f) throw UserError(fmt::format("{}: unknown key '{}'", where, key), unknown_key_hint(key));
  const Value v = from_text(*f, assignment.substr(eq + 1), where);
  validate(*f, v, where);
  f->set(config, v);
}

// Checks between keys, after every source was applied.
void check_consistency(const Config& config) {
  models::check_model_options(config.model);
  const auto& sw = config.swarm;
  if (sw.period_s > 0 && sw.algo != "nosync")
    throw UserError(fmt::format("swarm.period_s = {} applies to swarm.algo = nosync only, not {}", sw.period_s, sw.algo),
                    "the collective baselines exchange every swarm.tau steps: set swarm.period_s = 0");
  if (sw.period_s > 0 && sw.mean_form == "allreduce")
    throw UserError("swarm.period_s > 0 cannot be combined with swarm.mean_form = allreduce",
                    "the all-reduce mean needs every particle at the same step: set swarm.period_s = 0 or "
                    "swarm.mean_form = fetch");
  if (sw.period_s > 0 && sw.deterministic)
    throw UserError("swarm.period_s > 0 cannot be combined with swarm.deterministic = true",
                    "deterministic runs exchange by step count: set swarm.period_s = 0 or use swarm.tau");
}

Config load_config(const std::optional<std::string>& file, const std::vector<std::string>& overrides) {
  Config config;
  if (file) {
    std::ifstream in(*file);
    if (!in)
      throw UserError(fmt::format("{}: cannot read config file", *file), "check the --config path");
    std::stringstream text;
    text << in.rdbuf();
    apply_toml(config, text.str(), *file);
  }
  for (const auto& o : overrides) apply_override(config, o);
  // The saved config.toml names the module by an absolute path, so that eval and resume find it
  // from any working directory.
  if (!config.model.path.empty()) config.model.path = std::filesystem::absolute(config.model.path).lexically_normal();
  check_consistency(config);
  return config;
}

train::TrainOptions particle_train_options(const Config& config, int particle, int particles) {
  Config c = config;
  std::stringstream entries(config.swarm.overrides);
  for (std::string entry; std::getline(entries, entry, ';');) {
    if (entry.empty()) continue;
    const auto colon = entry.find(':');
    auto bad = [&](const std::string& what) {
      return UserError(fmt::format("swarm.overrides: '{}': {}", entry, what),
                       "write P:train.key=value entries separated by ';', e.g. 1:train.lr=0.1");
    };
    if (colon == std::string::npos) throw bad("expected P:train.key=value");
    int p = -1;
    const std::string id = entry.substr(0, colon);
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), p);
    if (ec != std::errc() || end != id.data() + id.size()) throw bad(fmt::format("'{}' is not a particle number", id));
    if (p < 0 || p >= particles) throw bad(fmt::format("particle {} does not exist (0..{})", p, particles - 1));
    const std::string assignment = entry.substr(colon + 1);
    if (assignment.rfind("train.", 0) != 0) throw bad("only train.* keys can differ between particles");
    if (assignment.rfind("train.channels_last", 0) == 0)
      throw bad("train.channels_last orders the elements of the exchanged weights: it must be the same for "
                "every particle");
    Config scratch;  // every entry is checked, not only this particle's
    try {
      apply_override(scratch, assignment);
    } catch (const UserError& e) {
      throw UserError(fmt::format("swarm.overrides: '{}': {}", entry, e.what()), e.hint());
    }
    if (p == particle) apply_override(c, assignment);
  }
  return c.train;
}

std::string to_toml(const Config& config, const Config* asked) {
  std::string out;
  std::string section;
  std::vector<std::pair<std::string, std::string>> differs;  // (key, asked literal)
  for (const auto& f : fields()) {
    const std::string s = f.meta.key.substr(0, f.meta.key.find('.'));
    if (s != section) {
      out += fmt::format("{}[{}]\n", section.empty() ? "" : "\n", s);
      section = s;
    }
    out += fmt::format("{} = {}\n", f.meta.key.substr(s.size() + 1), toml_literal(f.get(config)));
    if (asked && f.get(*asked) != f.get(config)) differs.emplace_back(f.meta.key, toml_literal(f.get(*asked)));
  }
  if (differs.empty()) return out;
  out += "\n# What the command asked for where this machine decided the values above (0 = from the cores,\n"
         "# 'auto' = from the CPU): a record only. The keys above reproduce the run on another machine.\n";
  section.clear();
  for (const auto& [key, literal] : differs) {
    const std::string s = key.substr(0, key.find('.'));
    if (s != section) {
      out += fmt::format("[{}.{}]\n", kAskedTable, s);
      section = s;
    }
    out += fmt::format("{} = {}\n", key.substr(s.size() + 1), literal);
  }
  return out;
}

std::string describe_keys() {
  std::string out = "Config keys (TOML [section] key = value, or --set section.key=value):\n";
  for (const auto& f : fields()) {
    std::string range;
    if (!f.meta.choices.empty()) range = fmt::format(" {{{}}}", fmt::join(f.meta.choices, "|"));
    else if (f.meta.min <= f.meta.max) range = fmt::format(" [{} .. {}]", f.meta.min, f.meta.max);
    out += fmt::format("  {:<24} = {:<36} {}{}\n", f.meta.key, toml_literal(f.get(Config{})), f.meta.help, range);
  }
  return out;
}

}  // namespace nosync::app
