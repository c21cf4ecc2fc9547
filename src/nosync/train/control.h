// Requests to a running training loop from outside its thread (signal handlers, supervisors).
// The single-worker loop and every swarm worker look at them after each step.
#pragma once

#include <atomic>

namespace nosync::train {

struct RunControl {
  std::atomic<int> checkpoint_requests{0};  // each increment: write a checkpoint after this step
  std::atomic<bool> stop{false};            // write a checkpoint after this step, then stop
  std::atomic<int> stop_signal{0};          // the signal that set `stop` (0: none, or not a signal)
};

}  // namespace nosync::train
