// Config schema: defaults, TOML files, --set overrides and every kind of bad value.
#include <fstream>

#include <gtest/gtest.h>

#include "nosync/app/config.h"
#include "nosync/util/error.h"
#include "support/test_support.h"

namespace nosync::app {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return one_line(e);
  }
  return "no error";
}

TEST(Config, DefaultsMatchTheOptionStructs) {
  const Config c = load_config(std::nullopt, {});
  EXPECT_EQ(c.model.name, "cnn");
  EXPECT_EQ(c.data.dir, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(c.data.val_size, 5000);
  EXPECT_EQ(c.train.batch_size, 64);
}

TEST(Config, FileThenOverridesInOrder) {
  testing::TempDir dir;
  const std::string path = dir.file("run.toml");
  testing::write_bytes(path, {});
  const std::string text = "[train]\nlr = 0.2\nbatch_size = 32\n[model]\nname = \"mlp\"\nwidth = 2\n";
  std::ofstream(path) << text;
  const Config c = load_config(path, {"train.lr=0.3", "data.augment_flip=true", "model.name=resnet"});
  EXPECT_DOUBLE_EQ(c.train.lr, 0.3);
  EXPECT_EQ(c.train.batch_size, 32);
  EXPECT_EQ(c.model.name, "resnet");
  EXPECT_DOUBLE_EQ(c.model.width, 2.0);  // an integer is accepted for a float key
  EXPECT_TRUE(c.data.augment_flip);
}

TEST(Config, PrintedConfigLoadsBackIdentically) {
  Config c = load_config(std::nullopt, {"train.lr=0.125", "data.dir=/tmp/x y\"z", "train.epochs=3",
                                        "model.width=1e-1", "train.nesterov=true"});
  const std::string text = to_toml(c);
  Config back;
  apply_toml(back, text, "printed.toml");
  EXPECT_EQ(to_toml(back), text);
  EXPECT_EQ(back.data.dir, "/tmp/x y\"z");
  EXPECT_DOUBLE_EQ(back.model.width, 0.1);
}

TEST(Config, UnknownKeyInFileNamesFileLineAndSuggestion) {
  Config c;
  const std::string msg = error_of([&] { apply_toml(c, "[train]\nlr = 0.1\nbatch_sise = 3\n", "bad.toml"); });
  EXPECT_NE(msg.find("bad.toml:3:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'train.batch_sise'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'train.batch_size'"), std::string::npos) << msg;
}

TEST(Config, WrongTypeInFile) {
  Config c;
  const std::string msg = error_of([&] { apply_toml(c, "[train]\n\nlr = \"fast\"\n", "t.toml"); });
  EXPECT_NE(msg.find("t.toml:3:1: train.lr: expected a number, found a string"), std::string::npos) << msg;
  const std::string msg2 = error_of([&] { apply_toml(c, "[train]\nepochs = 1.5\n", "t.toml"); });
  EXPECT_NE(msg2.find("train.epochs: expected an integer, found a float"), std::string::npos) << msg2;
}

TEST(Config, OutOfRangeAndNonFinite) {
  Config c;
  EXPECT_NE(error_of([&] { apply_toml(c, "[train]\nbatch_size = 0\n", "t.toml"); }).find("t.toml:2:1: train.batch_size: must be in [1, 65536], found 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_toml(c, "[train]\nlr = nan\n", "t.toml"); }).find("must be a finite number"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_override(c, "train.lr=inf"); }).find("--set train.lr=inf: train.lr: must be a finite number"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_override(c, "train.momentum=1.5"); }).find("must be in [0, 1], found 1.5"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_override(c, "model.name=vgg"); }).find("'vgg' is not one of mlp, cnn, resnet, gpt"),
            std::string::npos);
}

TEST(Config, BadOverrides) {
  Config c;
  EXPECT_NE(error_of([&] { apply_override(c, "train.lr"); }).find("expected section.key=value"), std::string::npos);
  EXPECT_NE(error_of([&] { apply_override(c, "train.epochs=ten"); }).find("expected an integer, found 'ten'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_override(c, "train.epochs=3x"); }).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { apply_override(c, "train.nesterov=yes"); }).find("expected true or false"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_override(c, "trian.lr=1"); }).find("did you mean 'train.lr'"), std::string::npos);
  // A failed override leaves the value as it was.
  EXPECT_EQ(c.train.epochs, Config{}.train.epochs);
}

TEST(Config, RulesBetweenKeys) {
  EXPECT_NO_THROW(load_config(std::nullopt, {"swarm.period_s=2"}));
  const std::string baseline = error_of([] { load_config(std::nullopt, {"swarm.period_s=2", "swarm.algo=local-sgd"}); });
  EXPECT_NE(baseline.find("swarm.period_s = 2 applies to swarm.algo = nosync only, not local-sgd"), std::string::npos)
      << baseline;
  const std::string lockstep =
      error_of([] { load_config(std::nullopt, {"swarm.period_s=2", "swarm.deterministic=true"}); });
  EXPECT_NE(lockstep.find("swarm.deterministic"), std::string::npos) << lockstep;
}

TEST(Config, ModelSizeKeysBelongToTheirModels) {
  EXPECT_NO_THROW(load_config(std::nullopt, {"model.name=gpt", "model.layers=2", "model.heads=8", "model.embed=64"}));
  const std::string heads = error_of([] { load_config(std::nullopt, {"model.name=gpt", "model.heads=3"}); });
  EXPECT_NE(heads.find("model.embed: 128 is not a multiple of model.heads = 3"), std::string::npos) << heads;
  const std::string width = error_of([] { load_config(std::nullopt, {"model.name=gpt", "model.width=2"}); });
  EXPECT_NE(width.find("model.width: does not apply to model.name = gpt"), std::string::npos) << width;
  const std::string layers = error_of([] { load_config(std::nullopt, {"model.layers=8"}); });  // cnn
  EXPECT_NE(layers.find("model.layers: applies to model.name = gpt only, not cnn"), std::string::npos) << layers;
}

TEST(Config, SyntaxErrorAndKeyOutsideSection) {
  Config c;
  const std::string msg = error_of([&] { apply_toml(c, "[train]\nlr = = 1\n", "s.toml"); });
  EXPECT_NE(msg.find("s.toml:2:"), std::string::npos) << msg;
  const std::string msg2 = error_of([&] { apply_toml(c, "lr = 1\n", "s.toml"); });
  EXPECT_NE(msg2.find("s.toml:1:1: key 'lr' is outside a section"), std::string::npos) << msg2;
}

TEST(Config, HelpListsEveryKeyWithDefault) {
  const std::string help = describe_keys();
  for (const auto& key : config_keys()) EXPECT_NE(help.find(key.key), std::string::npos) << key.key;
  const auto line = help.substr(help.find("train.batch_size"), 60);
  EXPECT_NE(line.find("= 64"), std::string::npos) << line;
}

}  // namespace
}  // namespace nosync::app
