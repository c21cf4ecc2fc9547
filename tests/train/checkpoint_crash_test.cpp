// Crash during a checkpoint write: a child process writes checkpoints back to back and is killed
// with SIGKILL after a random delay, many times over. After every kill `latest` must name a
// complete checkpoint whose checksums verify and whose content is the step it claims; the next
// write must remove what the killed one left behind.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "nosync/train/checkpoint.h"
#include "nosync/util/fs.h"
#include "support/test_support.h"

namespace nosync::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A checkpoint whose every part says which step it belongs to.
CheckpointContent content_of(int64_t step, const torch::Tensor& buffer) {
  CheckpointContent ck;
  buffer.fill_(static_cast<float>(step));
  ck.model = {{"weight", buffer}};
  ck.optimizer = {{"momentum", buffer.narrow(0, 0, 1000)}};
  ck.state = {{"trainer", {{"step", step}}}};
  ck.config_toml = fmt::format("# step {}\n", step);
  return ck;
}

int64_t latest_step(const std::string& dir) {
  const std::string name = util::read_text(dir + "/latest");
  return std::stoll(name.substr(name.find('-') + 1));
}

int leftovers(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) ++n;
  return n;
}

TEST(CheckpointCrash, SigkillAtRandomPointsLeavesLatestComplete) {
  constexpr int kTrials = 25;
  constexpr int kKeep = 2;
  nosync::testing::TempDir tmp;
  const std::string dir = tmp.file("checkpoints");
  fs::create_directories(dir);
  torch::Tensor buffer = torch::empty({1 << 20});  // 4 MB of weights: a write takes a while

  // One timed write gives the scale of the random delays.
  const auto t0 = Clock::now();
  write_checkpoint(dir, 0, content_of(0, buffer), kKeep);
  const double write_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  std::mt19937 rng(20261125);
  std::uniform_real_distribution<double> delay_ms(0.0, 4 * write_ms + 5);
  int mid_write = 0, advanced = 0;
  int64_t next = 1, last_seen = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    SCOPED_TRACE(fmt::format("trial {}", trial));
    const double delay = delay_ms(rng);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // the writer: checkpoints back to back until killed
      try {
        for (int64_t step = next;; ++step) write_checkpoint(dir, step, content_of(step, buffer), kKeep);
      } catch (...) {
        _exit(3);  // never return into the test runner
      }
    }
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the writer ended on its own";

    // `latest` names a complete checkpoint: checksums verify and every file is of that step.
    const int64_t step = latest_step(dir);
    const CheckpointContent ck = read_checkpoint(dir);
    EXPECT_EQ(ck.state["trainer"]["step"].get<int64_t>(), step);
    EXPECT_TRUE(torch::all(ck.model.at(0).second == static_cast<float>(step)).item<bool>());
    EXPECT_TRUE(torch::all(ck.optimizer.at(0).second == static_cast<float>(step)).item<bool>());
    EXPECT_EQ(ck.config_toml, fmt::format("# step {}\n", step));
    EXPECT_GE(step, last_seen) << "latest went back";
    if (step > last_seen) ++advanced;
    last_seen = step;
    if (leftovers(dir) > 0) ++mid_write;

    // The next write cleans up after the killed one.
    next = step + 1000;  // clear of any step the killed writer may have started
    write_checkpoint(dir, next, content_of(next, buffer), kKeep);
    EXPECT_EQ(leftovers(dir), 0);
    EXPECT_EQ(latest_step(dir), next);
    last_seen = next++;
  }
  // The test exercised what it claims: kills landed inside writes, and writes did complete.
  EXPECT_GE(mid_write, kTrials / 4);
  EXPECT_GE(advanced, kTrials / 4);
  std::printf("checkpoint crash test: %d SIGKILLs at random delays (0-%.0f ms; one write %.1f ms): "
              "%d inside a write (leftovers found, then cleaned), %d after the writer had advanced latest; "
              "latest complete and verified after all %d\n",
              kTrials, 4 * write_ms + 5, write_ms, mid_write, advanced, kTrials);
}

}  // namespace
}  // namespace nosync::train
