// Console output of a run: a live progress line on a terminal, plain log lines otherwise, and
// the summary table at the end.
#pragma once

#include <chrono>
#include <string>

#include "nosync/train/loop.h"

namespace nosync::app {

class ConsoleObserver : public train::Observer {
 public:
  // mode: auto | live | plain | quiet (auto = live when stderr is a terminal).
  ConsoleObserver(const std::string& mode, int64_t log_every);
  void on_start(int64_t total_steps, int64_t steps_per_epoch, int64_t parameters) override;
  void on_step(const train::Progress& p) override;
  void on_eval(const train::Progress& p) override;
  void on_checkpoint(const std::string& dir) override;
  void on_resume(int64_t step, const std::string& dir) override;
  void finish();  // ends the live line
  void message(const std::string& text) { line(text); }  // a permanent line

 private:
  void line(const std::string& text);  // a permanent line (clears the live line first)
  std::string status(const train::Progress& p) const;

  bool live_ = false;
  bool quiet_ = false;
  bool live_shown_ = false;
  int64_t log_every_;
  int64_t steps_per_epoch_ = 1;
  std::chrono::steady_clock::time_point last_draw_{};
  double last_val_accuracy_ = -1;
};

std::string format_duration(double seconds);

// Prints util::blas_info().advice as a warning on stderr, if any, unless progress is "quiet".
void warn_if_slow_blas(const std::string& progress);

// A two-column table with a title, e.g. the end-of-run summary.
std::string format_table(const std::string& title, const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace nosync::app
