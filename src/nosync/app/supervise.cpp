#include "nosync/app/supervise.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "nosync/util/error.h"

namespace nosync::app {

namespace {

volatile sig_atomic_t g_child = 0;        // the running child, for the forwarding handler
volatile sig_atomic_t g_terminated = 0;   // SIGTERM/SIGINT/SIGHUP seen: no relaunch after this child

void forward(int sig) {
  if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) g_terminated = 1;
  if (g_child > 0) kill(static_cast<pid_t>(g_child), sig);
}

void set_handlers(void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGUSR1, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
}

// Starts this executable with `args` and waits for it; returns waitpid's status.
int run_child(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::cout << std::flush;
  std::cerr << std::flush;
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    set_handlers(SIG_DFL);
    execv("/proc/self/exe", argv.data());
    std::fprintf(stderr, "nosync: error: cannot start /proc/self/exe: %s\n", std::strerror(errno));
    _exit(127);
  }
  g_child = pid;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
  }
  g_child = 0;
  return status;
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("exit code {}", WEXITSTATUS(status));
}

}  // namespace

int supervise(const SuperviseOptions& options) {
  set_handlers(forward);
  int restarts = 0;
  int status = run_child(options.first_argv);
  while (true) {
    const bool exited = WIFEXITED(status);
    if (exited && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == kExitUserError)) break;
    if (g_terminated) break;
    const std::string hint = fmt::format("fix the cause, then continue with: nosync train --resume {}", options.run_dir);
    if (restarts >= options.max_restarts) {
      std::cerr << fmt::format("nosync: error: the run in {} failed ({}) and {} restart(s) were allowed, all used "
                               "(hint: {})\n",
                               options.run_dir, describe(status), options.max_restarts, hint);
      set_handlers(SIG_DFL);
      return 1;
    }
    if (!options.has_checkpoint()) {
      std::cerr << fmt::format("nosync: error: the run in {} failed ({}) before its first checkpoint: nothing to "
                               "restart from (hint: lower checkpoint.every, then start it again)\n",
                               options.run_dir, describe(status));
      set_handlers(SIG_DFL);
      return 1;
    }
    ++restarts;
    std::cerr << fmt::format("nosync: the run failed ({}); restart {} of {} from its latest checkpoint\n",
                             describe(status), restarts, options.max_restarts)
              << std::flush;
    status = run_child(options.resume_argv);
  }
  set_handlers(SIG_DFL);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  if (restarts > 0 && WEXITSTATUS(status) == 0)
    std::cerr << fmt::format("nosync: the run in {} completed after {} restart(s)\n", options.run_dir, restarts);
  return WEXITSTATUS(status);
}

}  // namespace nosync::app
