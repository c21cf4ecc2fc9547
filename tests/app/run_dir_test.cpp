// Run-directory ownership (app/run_dir.h): one holder at a time, named by PID; the lock goes with
// its holder (also when the holder is killed); what a directory holds decides whether a new run
// may start in it.
#include "nosync/app/run_dir.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>

#include <gtest/gtest.h>

#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "support/test_support.h"

namespace nosync::app {
namespace {

namespace fs = std::filesystem;

std::string refusal(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return one_line(e);
  }
  return "";
}

TEST(RunDirLock, OneHolderNamedByPidAndNoTraceAfter) {
  testing::TempDir tmp;
  const std::string lock_file = tmp.file(RunDirLock::kFileName);
  {
    RunDirLock first(tmp.path());
    EXPECT_EQ(util::read_text(lock_file), std::to_string(::getpid()) + "\n");
    const std::string refused = refusal([&] { RunDirLock second(tmp.path()); });
    EXPECT_NE(refused.find(fmt::format("in use by another nosync process (PID {})", ::getpid())), std::string::npos)
        << refused;
    EXPECT_TRUE(fs::exists(lock_file)) << "a refused taker must not remove the holder's file";
  }
  EXPECT_FALSE(fs::exists(lock_file)) << "the holder removes its lock file";
  EXPECT_NO_THROW(RunDirLock again(tmp.path()));
}

TEST(RunDirLock, AKilledHolderLeavesNoLock) {
  testing::TempDir tmp;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RunDirLock held(tmp.path());
    char c = 'x';
    (void)!::write(ready[1], &c, 1);
    ::pause();  // until SIGKILL
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  const std::string refused = refusal([&] { RunDirLock mine(tmp.path()); });
  EXPECT_NE(refused.find(fmt::format("(PID {})", child)), std::string::npos) << refused;
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(fs::exists(tmp.file(RunDirLock::kFileName))) << "a killed holder cannot clean up";
  RunDirLock mine(tmp.path());  // the kernel released the lock: the stale file is taken over
  EXPECT_EQ(util::read_text(tmp.file(RunDirLock::kFileName)), std::to_string(::getpid()) + "\n");
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(RunDir, WhatADirectoryHolds) {
  testing::TempDir tmp;
  const std::string dir = tmp.file("run");
  EXPECT_EQ(inspect_run_dir(dir), RunDirKind::kAbsent);
  fs::create_directories(dir);
  EXPECT_EQ(inspect_run_dir(dir), RunDirKind::kAbsent);
  util::write_file_atomic(dir + "/notes.txt", std::string("mine"));
  EXPECT_EQ(inspect_run_dir(dir), RunDirKind::kForeign);
  util::write_file_atomic(dir + "/config.toml", std::string(""));
  EXPECT_EQ(inspect_run_dir(dir), RunDirKind::kFresh);
  fs::create_directories(dir + "/checkpoints/particle-1");
  EXPECT_EQ(inspect_run_dir(dir), RunDirKind::kFresh) << "no complete checkpoint yet";
  util::write_file_atomic(dir + "/checkpoints/particle-1/latest", std::string("step-2\n"));
  EXPECT_EQ(inspect_run_dir(dir), RunDirKind::kRun);
}

TEST(RunDir, NewRunRefusesRunsAndForeignFilesAndLeavesNothing) {
  testing::TempDir tmp;
  const std::string foreign = tmp.file("foreign");
  fs::create_directories(foreign + "/checkpoints");
  util::write_file_atomic(foreign + "/summary.json", std::string("{}"));
  util::write_file_atomic(foreign + "/checkpoints/latest", std::string("step-1\n"));
  EXPECT_NE(refusal([&] { NewRunDir d(foreign); }).find("no config.toml, so it is not a nosync run"),
            std::string::npos);
  EXPECT_EQ(util::read_text(foreign + "/summary.json"), "{}");
  EXPECT_FALSE(fs::exists(foreign + "/" + RunDirLock::kFileName));

  const std::string run = tmp.file("run");
  fs::create_directories(run);
  util::write_file_atomic(run + "/config.toml", std::string("x"));
  util::write_file_atomic(run + "/summary.json", std::string("{}"));
  EXPECT_NE(refusal([&] { NewRunDir d(run); }).find("already holds a run"), std::string::npos);

  const std::string fresh = tmp.file("fresh");  // died before its first checkpoint: reused
  fs::create_directories(fresh);
  util::write_file_atomic(fresh + "/config.toml", std::string("old"));
  util::write_file_atomic(fresh + "/metrics.jsonl", std::string("{}\n"));
  {
    NewRunDir d(fresh);
    EXPECT_FALSE(fs::exists(fresh + "/metrics.jsonl")) << "the dead run's records go";
  }

  const std::string file = tmp.file("a-file");
  util::write_file_atomic(file, std::string("x"));
  EXPECT_NE(refusal([&] { NewRunDir d(file); }).find("Not a directory"), std::string::npos);

  const std::string made = tmp.file("new/run");
  {
    NewRunDir d(made);
    EXPECT_TRUE(fs::is_directory(made));
    d.abandon();
  }
  EXPECT_FALSE(fs::exists(made)) << "an abandoned new directory is removed";
}

TEST(RunDir, ASecondNewRunIsRefusedWhileTheFirstHoldsIt) {
  testing::TempDir tmp;
  const std::string dir = tmp.file("run");
  NewRunDir first(dir);
  EXPECT_NE(refusal([&] { NewRunDir second(dir); }).find("in use by another nosync process"), std::string::npos);
  EXPECT_TRUE(fs::is_directory(dir));
}

}  // namespace
}  // namespace nosync::app
