// `nosync train --max-restarts K`: the CLI runs the training as a child process and, when the
// child crashes, relaunches it from the run's latest checkpoint, at most K times.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace nosync::app {

struct SuperviseOptions {
  std::vector<std::string> first_argv;   // the first launch (argv[0] is replaced by this executable)
  std::vector<std::string> resume_argv;  // every relaunch: `train --resume RUN_DIR`
  int max_restarts = 0;
  std::string run_dir;                   // for the messages
  std::function<bool()> has_checkpoint;  // false: nothing to resume from, so no relaunch
};

// What counts as a crash: death by a signal, or an exit code other than 0 (success or a clean
// stop on SIGTERM) and 2 (a user error, which a relaunch would only repeat). SIGTERM, SIGUSR1 and
// SIGINT sent to the supervisor are passed on to the child. Returns the exit code for the CLI:
// the child's on success or user error, 1 once the restarts are spent.
int supervise(const SuperviseOptions& options);

}  // namespace nosync::app
