// The validation phase (app/preflight.h): a checkpoint edited by hand is refused with a
// UserError or resumes correctly, never an internal error or a crash. A property test: every
// field of state.json and of manifest.json, mutated in every way below (state.json's hash and
// size recomputed so that the integrity check passes and the field checks are what is tested).
#include "nosync/app/preflight.h"

#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>

#include <gtest/gtest.h>

#include "nosync/app/local_swarm.h"
#include "nosync/app/swarm_launch.h"
#include "nosync/train/loop.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "support/test_support.h"

namespace nosync::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Config tiny(const std::string& algo, int particles) {
  Config c;
  c.data.format = "synthetic";
  c.data.val_size = 64;
  c.data.synthetic_train = 256;
  c.data.synthetic_test = 64;
  c.model.name = "mlp";
  c.model.width = 0.25;
  c.train.steps = 4;
  c.train.batch_size = 16;
  c.train.threads = 1;
  c.checkpoint.every = 4;
  c.swarm.algo = algo;
  c.swarm.particles = particles;
  c.swarm.attractor = "pso";  // nosync: pbest_fitness in state.json too
  c.swarm.tau = 2;
  c.swarm.fitness_samples = 32;
  c.run.progress = "quiet";
  return c;
}

// Trains `c` into dir (resume: continues it); returns the steps done.
int64_t train_into(const Config& c, const data::Splits& splits, const std::string& dir, bool resume) {
  ConsoleSink console("quiet", 100);
  if (c.swarm.algo != "single") {
    const auto s = run_local_swarm(c, splits, dir, to_toml(c), console, resume ? static_cast<int>(c.swarm.particles) : 0);
    return s.at("steps").get<int64_t>();
  }
  train::RunSetup setup = run_setup(c, dir, to_toml(c));
  setup.resume = resume;
  return train::run_single(setup, splits, console).steps;
}

// Every value in `j` (objects and arrays too), as JSON pointers. Inside state.json's model_card
// (train/model_card.h: what inference needs, which a resume never reads) only the card as a
// whole is mutated: its dozens of fields would each cost a resumed run and test nothing more.
void pointers(const json& j, const std::string& at, std::vector<std::string>& out) {
  if (!at.empty()) out.push_back(at);
  if (at == "/model_card") return;
  if (j.is_object())
    for (const auto& [k, v] : j.items()) pointers(v, at + "/" + k, out);
  if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) pointers(j[i], at + "/" + std::to_string(i), out);
}

// The ways a careless or hostile edit changes one value (nullopt: remove it).
std::vector<std::optional<json>> mutations(const json& v) {
  std::vector<std::optional<json>> out = {std::nullopt, json(), json(-1), json(0), json(1.5), json("x"),
                                          json::array(), json::object(), json(true), json(int64_t{1000000000000000}),
                                          json(-1e300), json(uint64_t{18446744073709551615ULL})};
  if (v.is_number_integer()) {
    out.push_back(json(v.get<int64_t>() + 1));
    out.push_back(json(v.get<int64_t>() - 1));
    out.push_back(json(v.get<int64_t>() * 2));
  }
  if (v.is_string()) out.push_back(json(v.get<std::string>() + "x"));
  return out;
}

void write_json(const std::string& path, const json& j) { util::write_file_atomic(path, j.dump(2) + "\n"); }

// Points state.json's manifest entry at its current content.
void rehash(const std::string& step_dir) {
  const std::vector<char> state = util::read_file(step_dir + "/state.json");
  json manifest = json::parse(util::read_text(step_dir + "/manifest.json"));
  manifest["files"]["state.json"] = {{"sha256", util::sha256_hex(state.data(), state.size())},
                                     {"bytes", state.size()}};
  write_json(step_dir + "/manifest.json", manifest);
}

struct Outcome {
  int refused = 0, resumed = 0;
};

// Mutates every field of `file` (state.json or manifest.json) of the checkpoint that `pristine`'s
// particle 0 (single: the run) resumes from, in a copy each time; checks the outcome.
Outcome mutate_every_field(const Config& c, const data::Splits& splits, const std::string& pristine,
                           const std::string& scratch, const std::string& file) {
  fs::create_directories(scratch);
  const std::string sub = c.swarm.algo == "single" ? "checkpoints" : "checkpoints/particle-0";
  const std::string step_dir = sub + "/step-4";
  const json original = json::parse(util::read_text(pristine + "/" + step_dir + "/" + file));
  std::vector<std::string> fields;
  pointers(original, "", fields);
  EXPECT_GE(fields.size(), 5u);
  Config more = c;
  more.train.steps = 6;  // a resume that has work to do
  const int saved = c.swarm.algo == "single" ? 0 : static_cast<int>(c.swarm.particles);
  Outcome outcome;
  int n = 0;
  for (const auto& field : fields) {
    const json::json_pointer ptr(field);
    for (const auto& m : mutations(original.at(ptr))) {
      const std::string dir = scratch + "/" + std::to_string(n++);
      fs::copy(pristine, dir, fs::copy_options::recursive);
      json edited = original;
      if (m) {
        edited.at(ptr) = *m;
      } else {
        json& parent = edited.at(ptr.parent_pointer());
        if (parent.is_array()) parent.erase(std::stoul(ptr.back()));
        else parent.erase(ptr.back());
      }
      write_json(dir + "/" + step_dir + "/" + file, edited);
      if (file == "state.json") rehash(dir + "/" + step_dir);
      const std::string what = file + field + " = " + (m ? m->dump() : "(removed)");
      try {
        const CheckedResume checked = check_resume(more, splits, dir, saved, c.swarm.algo == "single" ? 1 : saved);
        // Accepted: the resume must then work and end where it should.
        EXPECT_EQ(checked.step, 4) << what;
        EXPECT_EQ(train_into(more, splits, dir, true), 6) << what;
        ++outcome.resumed;
      } catch (const UserError& e) {
        EXPECT_FALSE(one_line(e).empty()) << what;
        ++outcome.refused;
      } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": not a UserError: " << e.what();
      }
      fs::remove_all(dir);
    }
  }
  return outcome;
}

class PreflightProperty : public ::testing::TestWithParam<std::string> {
 protected:
  testing::TempDir tmp_;
};

TEST_P(PreflightProperty, EveryMutatedFieldIsRefusedOrResumes) {
  const Config c = tiny(GetParam(), GetParam() == "single" ? 1 : 2);
  const auto splits = data::load_splits(c.data);
  const std::string pristine = tmp_.file("pristine");
  fs::create_directories(pristine);
  ASSERT_EQ(train_into(c, splits, pristine, false), 4);
  for (const std::string file : {"state.json", "manifest.json"}) {
    const Outcome o = mutate_every_field(c, splits, pristine, tmp_.file("scratch"), file);
    EXPECT_GT(o.refused, 10) << file << ": a field check is missing";
    std::cout << GetParam() << " " << file << ": " << o.refused << " refused, " << o.resumed << " resumed\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Runs, PreflightProperty, ::testing::Values("single", "nosync"));

TEST(Preflight, RefusesWhatCouldNeverWork) {
  Config c = tiny("nosync", 4);
  c.swarm.shard = true;
  c.train.batch_size = 100;  // 256 - 64 = 192 training samples: 48 per shard
  const auto splits = data::load_splits(c.data);
  EXPECT_THROW(check_run(c, splits, 4, 0), UserError);
  c.train.batch_size = 16;
  EXPECT_NO_THROW(check_run(c, splits, 4, 0));
  c.swarm.fault = "nan:particle=4:step=1";
  EXPECT_THROW(check_run(c, splits, 4, 0), UserError);
  c.swarm.fault = "kill:rank=0:step=1";
  EXPECT_THROW(check_run(c, splits, 4, 0), UserError);
  EXPECT_NO_THROW(check_run(c, splits, 4, 4));
}

}  // namespace
}  // namespace nosync::app
