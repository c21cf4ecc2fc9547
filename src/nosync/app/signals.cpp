#include "nosync/app/signals.h"

#include <csignal>

namespace nosync::app {

namespace {

// What the handlers poke. Only lock-free atomics are touched inside a handler.
train::RunControl* g_control = nullptr;

void on_sigusr1(int) {
  if (g_control != nullptr) g_control->checkpoint_requests.fetch_add(1);
}
void on_sigterm(int) {
  if (g_control != nullptr) g_control->stop.store(true);
}

void install(train::RunControl* control) {
  g_control = control;
  struct sigaction sa {};
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = control != nullptr ? on_sigusr1 : SIG_DFL;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = control != nullptr ? on_sigterm : SIG_DFL;
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace

SignalScope::SignalScope(train::RunControl* control) { install(control); }
SignalScope::~SignalScope() { install(nullptr); }

}  // namespace nosync::app
