// The MPI rank's watchdog (watchdog.h).
#include "nosync/app/watchdog.h"

#include <fmt/format.h>

namespace nosync::app {

void Watchdog::run() {
  while (!done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!armed_) continue;
    const double waiting_s = collective_wait_s_();
    if (waiting_s > 0) {
      if (waiting_s > 2 * limit_s_ + 10)
        end_job_(fmt::format("watchdog: rank {} waited {:.0f} s for its peers in a collective "
                             "(comm.watchdog_s = {}): ending the job",
                             rank_, waiting_s, limit_s_));
      continue;
    }
    const double idle_s = 1e-9 * static_cast<double>(now_ns() - last_ns_.load());
    if (idle_s > limit_s_)
      end_job_(fmt::format("watchdog: rank {} of {} made no training step for {:.1f} s (last step "
                           "{}, comm.watchdog_s = {}): it is stalled; ending the job",
                           rank_, size_, idle_s, last_step_.load(), limit_s_));
  }
}

}  // namespace nosync::app
