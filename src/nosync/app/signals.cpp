#include "nosync/app/signals.h"

#include <csignal>

namespace nosync::app {

namespace {

// What the handlers poke. Only lock-free atomics are touched inside a handler.
train::RunControl* g_control = nullptr;

void on_sigusr1(int) {
  if (g_control != nullptr) g_control->checkpoint_requests.fetch_add(1);
}
// SIGTERM, SIGINT, SIGHUP: checkpoint after this step and stop. A second one while the first is
// being honoured forces: the default action (the process ends by that signal, no checkpoint).
void on_stop(int sig) {
  if (g_control == nullptr) return;
  if (g_control->stop.exchange(true)) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  g_control->stop_signal.store(sig);
}

void install(train::RunControl* control) {
  g_control = control;
  struct sigaction sa {};
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = control != nullptr ? on_sigusr1 : SIG_DFL;
  sigaction(SIGUSR1, &sa, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    // An interrupt or hangup the process was started to ignore (nohup, a background job of a
    // script) stays ignored, as the shell asked.
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (sig != SIGTERM && old.sa_handler == SIG_IGN) continue;
    sa.sa_handler = control != nullptr ? on_stop : SIG_DFL;
    sigaction(sig, &sa, nullptr);
  }
}

}  // namespace

SignalScope::SignalScope(train::RunControl* control) { install(control); }
SignalScope::~SignalScope() { install(nullptr); }

std::string stop_signal_name(const train::RunControl& control) {
  switch (control.stop_signal.load()) {
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGTERM: return "SIGTERM";
    default: return "request";
  }
}

}  // namespace nosync::app
