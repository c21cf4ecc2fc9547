// The swarm on the local transport, end to end on synthetic data: NoSync and every baseline
// learn, lock-step mode is bit-identical, a NaN particle is re-spawned, sync keeps one model.
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "nosync/app/local_swarm.h"
#include "nosync/train/checkpoint.h"
#include "nosync/train/trainer.h"
#include "nosync/util/error.h"
#include "support/test_support.h"

namespace nosync::app {
namespace {

// What a launcher resumes each particle from: the plan, then each particle's checkpoint.
std::vector<train::CheckpointContent> resume_from(const Config& c, const data::Splits& splits, const std::string& dir,
                                                  int saved_particles, std::vector<std::string>& notes) {
  std::vector<train::CheckpointContent> points;
  for (const auto& source : resume_plan(c, splits, dir, saved_particles, notes))
    points.push_back(load_resume_point(source));
  return points;
}

Config swarm_config(const std::string& algo, int particles) {
  Config c;
  c.data.format = "synthetic";
  c.data.val_size = 256;
  c.data.synthetic_train = 1280;
  c.data.synthetic_test = 256;
  c.model.name = "mlp";
  c.model.width = 0.25;
  c.train.steps = 60;
  c.train.batch_size = 32;
  c.train.threads = 1;
  c.train.log_every = 10;
  c.checkpoint.every = 30;
  c.swarm.algo = algo;
  c.swarm.particles = particles;
  c.swarm.tau = 10;
  c.swarm.fitness_samples = 128;
  c.run.progress = "quiet";
  return c;
}

class LocalSwarm : public ::testing::Test {
 protected:
  nlohmann::json run(const Config& c, const std::string& name) {
    const auto splits = data::load_splits(c.data);
    const std::string dir = tmp_.file(name);
    std::filesystem::create_directories(dir);
    ConsoleSink console("quiet", 100);
    return run_local_swarm(c, splits, dir, to_toml(c), console);
  }
  std::vector<nlohmann::json> events(const std::string& name, const std::string& kind) {
    std::ifstream in(tmp_.file(name) + "/metrics.jsonl");
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j["event"] == kind) out.push_back(j);
    }
    return out;
  }
  testing::TempDir tmp_;
};

TEST_F(LocalSwarm, NoSyncLearnsAndReportsAllThreeModels) {
  const auto s = run(swarm_config("nosync", 3), "nosync");
  EXPECT_EQ(s["particles"], 3);
  for (const char* model : {"best", "average", "ensemble"}) {
    ASSERT_TRUE(s.contains(model)) << model;
    EXPECT_GT(s[model]["test_accuracy"].get<double>(), 0.85) << model << " (chance is 0.25)";
  }
  const auto exchanges = events("nosync", "exchange");
  EXPECT_EQ(exchanges.size(), 3u * 5u);  // steps 10..50 for each of 3 particles
  for (const auto& e : exchanges) {
    for (const char* key : {"particle", "fitness", "attractor", "distance", "rho", "staleness", "exchange_ms"})
      EXPECT_TRUE(e.contains(key)) << key << " in " << e.dump();
  }
  EXPECT_FALSE(events("nosync", "swarm").empty()) << "no diversity records";
  EXPECT_TRUE(std::filesystem::exists(tmp_.file("nosync/checkpoints/particle-2/latest")));
  EXPECT_TRUE(std::filesystem::exists(tmp_.file("nosync/checkpoints/average/latest")));
}

TEST_F(LocalSwarm, EveryBaselineLearns) {
  for (const std::string algo : {"sync", "local-sgd", "easgd", "diloco"}) {
    const auto s = run(swarm_config(algo, 2), algo);
    EXPECT_EQ(s["algo"], algo);
    EXPECT_GT(s["best"]["test_accuracy"].get<double>(), 0.85) << algo;
    EXPECT_GT(s["average"]["test_accuracy"].get<double>(), 0.85) << algo;
  }
}

TEST_F(LocalSwarm, SyncKeepsEveryWorkerOnOneModel) {
  run(swarm_config("sync", 3), "sync");
  const auto a = train::read_checkpoint(tmp_.file("sync/checkpoints/particle-0"));
  for (int i = 1; i < 3; ++i) {
    const auto b = train::read_checkpoint(tmp_.file("sync/checkpoints/particle-" + std::to_string(i)));
    for (size_t k = 0; k < a.model.size(); ++k)
      EXPECT_TRUE(a.model[k].second.equal(b.model[k].second)) << "particle " << i << " " << a.model[k].first;
  }
}

TEST_F(LocalSwarm, DeterministicModeIsBitIdentical) {
  for (const std::string attractor : {"gbest", "mean", "pso", "lbest"}) {
    auto c = swarm_config("nosync", 3);
    c.swarm.deterministic = true;
    c.swarm.attractor = attractor;
    run(c, attractor + "-a");
    run(c, attractor + "-b");
    for (int i = 0; i < 3; ++i) {
      const std::string p = "/checkpoints/particle-" + std::to_string(i);
      const auto a = train::read_checkpoint(tmp_.file(attractor + "-a" + p));
      const auto b = train::read_checkpoint(tmp_.file(attractor + "-b" + p));
      for (size_t k = 0; k < a.model.size(); ++k)
        EXPECT_TRUE(a.model[k].second.equal(b.model[k].second)) << attractor << " particle " << i;
    }
  }
}

TEST_F(LocalSwarm, NaNParticleIsRespawnedAndTheRunRecovers) {
  auto c = swarm_config("nosync", 2);
  c.swarm.fault = "nan:particle=1:step=25";
  const auto s = run(c, "nan");
  EXPECT_GE(s["respawns"].get<int>(), 1);
  bool warned = false;
  for (const auto& w : events("nan", "warning"))
    warned |= w["message"].get<std::string>().find("particle 1 has non-finite") != std::string::npos &&
              w["message"].get<std::string>().find("step 30") != std::string::npos;
  EXPECT_TRUE(warned) << "no warning naming particle 1 and step 30";
  // The NaN particle was never an attractor.
  for (const auto& e : events("nan", "exchange")) {
    if (e["step"] == 30) {
      EXPECT_NE(e["attractor"], 1);
    }
  }
  EXPECT_GT(s["best"]["test_accuracy"].get<double>(), 0.85);
  EXPECT_GT(s["average"]["test_accuracy"].get<double>(), 0.85);
}

TEST_F(LocalSwarm, PerParticleOverridesMakeAHeterogeneousSwarm) {
  auto c = swarm_config("nosync", 3);
  c.swarm.overrides = "1:train.lr=0.2;1:train.batch_size=16;2:train.schedule=constant";
  c.train.schedule = "cosine";
  run(c, "hetero");
  std::map<int, double> lr_at_10;
  for (const auto& e : events("hetero", "train"))
    if (e["step"] == 10) lr_at_10[e["particle"].get<int>()] = e["lr"].get<double>();
  EXPECT_GT(lr_at_10.at(1), 3 * lr_at_10.at(0));      // 0.2 vs ~0.05
  EXPECT_DOUBLE_EQ(lr_at_10.at(2), c.train.lr);        // constant schedule
  EXPECT_LT(lr_at_10.at(0), c.train.lr);               // cosine has started to decay
}

TEST(SwarmOverrides, BadEntriesNameTheKey) {
  Config c;
  for (const std::string bad : {"1train.lr=0.1", "x:train.lr=0.1", "5:train.lr=0.1", "1:model.width=2",
                                "1:train.lr=fast"}) {
    c.swarm.overrides = bad;
    try {
      particle_train_options(c, 0, 2);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const UserError& e) {
      EXPECT_NE(one_line(e).find("swarm.overrides"), std::string::npos) << one_line(e);
    }
  }
  c.swarm.overrides = "1:train.lr=0.3";
  EXPECT_DOUBLE_EQ(particle_train_options(c, 1, 2).lr, 0.3);
  EXPECT_DOUBLE_EQ(particle_train_options(c, 0, 2).lr, Config{}.train.lr);
}

TEST_F(LocalSwarm, ClockPeriodReplacesTau) {
  auto c = swarm_config("nosync", 2);
  c.swarm.tau = 1000000;  // never by step count
  c.swarm.period_s = 1e-9;  // due after every step
  run(c, "clock-every-step");
  std::map<int, int> per_particle;
  for (const auto& e : events("clock-every-step", "exchange")) ++per_particle[e["particle"].get<int>()];
  EXPECT_EQ(per_particle[0], 59);  // steps 1..59; none after the last step
  EXPECT_EQ(per_particle[1], 59);
  c.swarm.period_s = 1e6;  // never due within the run
  run(c, "clock-never");
  EXPECT_TRUE(events("clock-never", "exchange").empty());
}

// A crash after step 30 of 60, simulated on a finished run: the step-60 checkpoints are removed
// and `latest` points back to step 30, as a killed run leaves it.
void rewind_to_step_30(const std::string& dir, int particles) {
  for (int p = 0; p < particles; ++p) {
    const std::string ck = dir + "/checkpoints/particle-" + std::to_string(p);
    std::filesystem::remove_all(ck + "/step-60");
    std::ofstream(ck + "/latest") << "step-30\n";
  }
  std::filesystem::remove(dir + "/summary.json");
}

void expect_same_tensors(const std::string& a, const std::string& b) {
  const auto ta = train::load_tensors(a), tb = train::load_tensors(b);
  ASSERT_EQ(ta.size(), tb.size()) << a;
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].first, tb[i].first);
    EXPECT_TRUE(torch::equal(ta[i].second, tb[i].second)) << a << ": " << ta[i].first << " differs";
  }
}

TEST_F(LocalSwarm, ResumeAfterACrashIsBitIdentical) {
  struct Case { std::string algo, attractor; };
  for (const Case& k : {Case{"nosync", "pso"}, Case{"nosync", "mean"}, Case{"easgd", ""}, Case{"local-sgd", ""},
                        Case{"sync", ""}, Case{"diloco", ""}}) {
    SCOPED_TRACE(k.algo + " " + k.attractor);
    auto c = swarm_config(k.algo, 2);
    if (!k.attractor.empty()) c.swarm.attractor = k.attractor;
    c.swarm.deterministic = true;
    c.checkpoint.keep = 0;
    const std::string whole = k.algo + k.attractor + "-whole", cut = k.algo + k.attractor + "-cut";
    run(c, whole);
    run(c, cut);
    rewind_to_step_30(tmp_.file(cut), 2);
    const auto splits = data::load_splits(c.data);
    ConsoleSink console("quiet", 100);
    const auto s = run_local_swarm(c, splits, tmp_.file(cut), to_toml(c), console, /*resume_particles=*/2);
    EXPECT_EQ(s["steps"], 60);
    for (int p = 0; p < 2; ++p) {
      const std::string rel = "/checkpoints/particle-" + std::to_string(p) + "/step-60/";
      expect_same_tensors(tmp_.file(whole) + rel + "model.pt", tmp_.file(cut) + rel + "model.pt");
      expect_same_tensors(tmp_.file(whole) + rel + "optimizer.pt", tmp_.file(cut) + rel + "optimizer.pt");
    }
  }
}

TEST_F(LocalSwarm, ResumeWithMoreOrFewerParticles) {
  auto c = swarm_config("nosync", 3);
  c.checkpoint.keep = 0;
  run(c, "resize");
  rewind_to_step_30(tmp_.file("resize"), 3);
  const auto splits = data::load_splits(c.data);

  // Fewer: the particles with the lowest fitness are kept, best first.
  std::vector<std::string> notes;
  c.swarm.particles = 1;
  const auto kept = resume_from(c, splits, tmp_.file("resize"), 3, notes);
  ASSERT_EQ(kept.size(), 1u);
  const train::Evaluator fitness(splits.val.slice(0, c.swarm.fitness_samples), splits.norm);
  double best_loss = 1e300;
  for (int p = 0; p < 3; ++p) {
    auto net = models::build_model(c.model, splits.train.shape(), splits.train.num_classes);
    train::load_model_state(*net, train::read_checkpoint(tmp_.file("resize/checkpoints/particle-" + std::to_string(p))).model, "");
    best_loss = std::min(best_loss, fitness.run(*net).loss);
  }
  auto kept_net = models::build_model(c.model, splits.train.shape(), splits.train.num_classes);
  train::load_model_state(*kept_net, kept[0].model, "");
  EXPECT_DOUBLE_EQ(fitness.run(*kept_net).loss, best_loss);

  // More: new particles start from the best with no momentum, at the same step.
  notes.clear();
  c.swarm.particles = 5;
  const auto grown = resume_from(c, splits, tmp_.file("resize"), 3, notes);
  ASSERT_EQ(grown.size(), 5u);
  EXPECT_TRUE(grown[4].optimizer.empty());
  EXPECT_EQ(grown[4].state.at("trainer").at("step"), 30);
  ConsoleSink console("quiet", 100);
  const auto s = run_local_swarm(c, splits, tmp_.file("resize"), to_toml(c), console, /*resume_particles=*/3);
  EXPECT_EQ(s["particles"], 5);
  EXPECT_EQ(s["steps"], 60);
  EXPECT_GT(s["best"]["test_accuracy"].get<double>(), 0.85);
  EXPECT_TRUE(std::filesystem::exists(tmp_.file("resize/checkpoints/particle-4/step-60")));
}

TEST_F(LocalSwarm, ResumeRefusesMissingCheckpoints) {
  auto c = swarm_config("nosync", 2);
  run(c, "missing");
  std::filesystem::remove_all(tmp_.file("missing/checkpoints/particle-1"));
  const auto splits = data::load_splits(c.data);
  std::vector<std::string> notes;
  try {
    resume_from(c, splits, tmp_.file("missing"), 2, notes);
    ADD_FAILURE() << "resumed without particle 1's checkpoints";
  } catch (const UserError& e) {
    EXPECT_NE(one_line(e).find("particle 1 of 2 has no checkpoint"), std::string::npos) << one_line(e);
  }
}

TEST_F(LocalSwarm, ParticleCounts) {
  for (int n : {1, 2, 4, 7}) {
    auto c = swarm_config("nosync", n);
    c.train.steps = 20;
    const auto s = run(c, "n" + std::to_string(n));
    EXPECT_EQ(s["particles"], n);
    EXPECT_EQ(events("n" + std::to_string(n), "exchange").size(), static_cast<size_t>(n));  // step 10 only
  }
}

}  // namespace
}  // namespace nosync::app
