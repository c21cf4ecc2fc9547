// Preemption signals as requests to a run: while a SignalScope lives, SIGUSR1 asks for a
// checkpoint (the run continues); SIGTERM, SIGINT (Ctrl-C) and SIGHUP ask for a checkpoint and a
// clean stop, and a second of them forces the stop (the signal's default action). A SIGINT or
// SIGHUP the process inherited as ignored (nohup, a script's background job) stays ignored. Used
// by the local launchers (single worker, local swarm) and by every MPI rank.
#pragma once

#include <string>

#include "nosync/train/control.h"

namespace nosync::app {

// Signals go to `control` while this scope lives (also when the run throws out of it); default
// actions again afterwards, since nothing would look at the requests any more.
class SignalScope {
 public:
  explicit SignalScope(train::RunControl* control);
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
};

// "SIGTERM", "SIGINT" or "SIGHUP": what stopped the run (for the stop message).
std::string stop_signal_name(const train::RunControl& control);

}  // namespace nosync::app
