// Console output of a run: a live progress line on a terminal, plain log lines otherwise, and
// the summary table at the end.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <mutex>

#include "nosync/data/dataset.h"
#include "nosync/train/events.h"

namespace nosync::app {

// Prints the events of a single worker, or of particle 0 of a swarm (metrics.jsonl has everyone),
// and every warning. Thread-safe: the particles of a swarm share one.
class ConsoleSink : public train::EventSink {
 public:
  // mode: auto | live | plain | quiet (auto = live when stderr is a terminal).
  ConsoleSink(const std::string& mode, int64_t log_every);
  void started(const train::StartEvent& e) override;
  void stepped(const train::StepEvent& e) override;
  void evaluated(const train::EvalEvent& e) override;
  void checkpointed(const train::CheckpointEvent& e) override;
  void resumed(const train::ResumeEvent& e) override;
  void warn(const std::string& message) override { message_line("warning: " + message); }
  void finish();  // ends the live line
  void message(const std::string& text) { message_line(text); }  // a permanent line

 private:
  static bool followed(int particle) { return particle <= 0; }
  void message_line(const std::string& text);
  void line(const std::string& text);  // a permanent line (clears the live line first); mutex held
  std::string status(const train::StepEvent& p) const;

  std::mutex mutex_;
  bool live_ = false;
  bool quiet_ = false;
  bool live_shown_ = false;
  int64_t log_every_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::string last_val_;  // the headline metric of the last evaluation ("88.12 %", "1.781 bits/byte")
};

std::string format_duration(double seconds);

// The start of a run on stderr: the effective config (as saved in run_dir/config.toml) and the data.
void print_run_header(const std::string& run_dir, const std::string& effective_config, const data::Splits& splits);

// Prints util::blas_info().advice as a warning on stderr, if any, unless progress is "quiet".
void warn_if_slow_blas(const std::string& progress);

// A two-column table with a title, e.g. the end-of-run summary.
std::string format_table(const std::string& title, const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace nosync::app
