// The MPI rank's watchdog: ends the job, naming the rank, when its training thread stalls.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace nosync::app {

// Ends the job when this rank's training thread makes no step for `limit_s` while it is not
// waiting for its peers in a collective (then a peer is the one that stalled, and its own
// watchdog names it).
class Watchdog {
 public:
  // `collective_wait_s`: how long the training thread has been waiting in a collective (0 = not).
  // `end_job`: ends the whole job with the message (it does not return).
  Watchdog(double limit_s, int rank, int size, std::function<double()> collective_wait_s,
           std::function<void(const std::string&)> end_job)
      : limit_s_(limit_s),
        rank_(rank),
        size_(size),
        collective_wait_s_(std::move(collective_wait_s)),
        end_job_(std::move(end_job)) {
    if (limit_s_ > 0) thread_ = std::thread([this] { run(); });
  }
  ~Watchdog() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void step(int64_t step) {
    last_step_ = step;
    last_ns_ = now_ns();
  }
  void arm(bool on) {
    last_ns_ = now_ns();
    armed_ = on;
  }

 private:
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void run();

  const double limit_s_;
  const int rank_, size_;
  const std::function<double()> collective_wait_s_;
  const std::function<void(const std::string&)> end_job_;
  std::atomic<bool> done_{false}, armed_{false};
  std::atomic<int64_t> last_ns_{0}, last_step_{0};
  std::thread thread_;
};

}  // namespace nosync::app
