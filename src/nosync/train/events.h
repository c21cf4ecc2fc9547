// What a training run tells the world: typed events, one sink interface that receives them, and
// the one place where each event becomes a metrics.jsonl record (docs/metrics.md lists them).
//
// A single worker's events carry particle -1 and their records no "particle" field; a swarm
// particle's events carry its id. Algorithms add records of their own (exchange, swarm, final)
// through EventSink::record.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nosync/train/evaluator.h"
#include "nosync/train/metrics.h"
#include "nosync/train/scalar_logs.h"

namespace nosync::train {

struct StartEvent {
  int particle = -1;
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 1;
  int64_t parameters = 0;
};

// After every step (cheap: sent often); every train.log_every steps also as a "train" record.
struct StepEvent {
  int particle = -1;
  int64_t step = 0;
  int64_t total_steps = 0;
  double epoch = 0;          // fractional epochs done
  double train_loss = 0;     // mean over the last log window
  double lr = 0;
  double samples_per_s = 0;  // over the last log window
  double elapsed_s = 0;      // wall time of the run, resumed runs included
};

struct EvalEvent {
  int particle = -1;
  int64_t step = 0;
  double epoch = 0;
  double lr = 0;
  double elapsed_s = 0;
  EvalResult val, test;
};

struct CheckpointEvent {
  int particle = -1;
  int64_t step = 0;
  std::string dir;                 // the step-N directory written
  std::string reason = "schedule";  // schedule | request (SIGUSR1) | stop (SIGTERM, preemption)
};

struct ResumeEvent {
  int particle = -1;
  int64_t step = 0;
  int from = -1;  // the saved particle continued (a swarm resized on resume), -1 = single worker
  std::string dir;
};

// Receives a run's events. Implementations used by several particle threads must be thread-safe.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void started(const StartEvent& e) {}
  virtual void stepped(const StepEvent& e) {}  // every step
  virtual void logged(const StepEvent& e) {}   // every train.log_every steps and the last
  virtual void evaluated(const EvalEvent& e) {}
  virtual void checkpointed(const CheckpointEvent& e) {}
  virtual void resumed(const ResumeEvent& e) {}
  virtual void record(const nlohmann::json& record) {}  // an algorithm's own record (exchange, swarm, ...)
  virtual void warn(const std::string& message) {}
  // Polled after every step: true makes the loop checkpoint and stop early.
  virtual bool should_stop() { return false; }
};

// The metrics.jsonl record of each event.
nlohmann::json to_record(const StepEvent& e);
nlohmann::json to_record(const EvalEvent& e);
nlohmann::json to_record(const CheckpointEvent& e);
nlohmann::json to_record(const ResumeEvent& e);
nlohmann::json warning_record(const std::string& message);

// Writes every event as a metrics record, thread-safe: appended to a run directory's
// metrics.jsonl, with the same records as TensorBoard events and metrics.csv beside it
// (train/scalar_logs.h); or kept as lines until taken (an MPI rank without the run directory).
// `extra` fields go into every record.
class MetricsSink : public EventSink {
 public:
  // Writes run_dir/metrics.jsonl (appended to), run_dir/tb/ and run_dir/metrics.csv.
  explicit MetricsSink(const std::string& run_dir, nlohmann::json extra = nlohmann::json::object());
  // Keeps the records in memory (take_lines) instead of writing a file.
  explicit MetricsSink(nlohmann::json extra = nlohmann::json::object());
  void logged(const StepEvent& e) override { record(to_record(e)); }
  void evaluated(const EvalEvent& e) override { record(to_record(e)); }
  void checkpointed(const CheckpointEvent& e) override { record(to_record(e)); }
  void resumed(const ResumeEvent& e) override { record(to_record(e)); }
  void warn(const std::string& message) override { record(warning_record(message)); }
  void record(const nlohmann::json& record) override;
  // Writes records another process kept (their take_lines), one per line; a file sink only.
  // Flushes the TensorBoard events and metrics.csv after them.
  void append_lines(const std::string& lines);
  std::string take_lines();

 private:
  std::mutex mutex_;
  std::unique_ptr<MetricsWriter> writer_;
  std::unique_ptr<ScalarLogs> scalar_logs_;  // with writer_
  nlohmann::json extra_;
  std::string lines_;
};

// Sends every event to each of its sinks, in order (e.g. the metrics and the console).
class TeeSink : public EventSink {
 public:
  // Null entries are skipped (a sink a rank or a run does not have).
  TeeSink(std::initializer_list<EventSink*> sinks) {
    for (EventSink* s : sinks)
      if (s != nullptr) sinks_.push_back(s);
  }
  void started(const StartEvent& e) override { each([&](EventSink& s) { s.started(e); }); }
  void stepped(const StepEvent& e) override { each([&](EventSink& s) { s.stepped(e); }); }
  void logged(const StepEvent& e) override { each([&](EventSink& s) { s.logged(e); }); }
  void evaluated(const EvalEvent& e) override { each([&](EventSink& s) { s.evaluated(e); }); }
  void checkpointed(const CheckpointEvent& e) override { each([&](EventSink& s) { s.checkpointed(e); }); }
  void resumed(const ResumeEvent& e) override { each([&](EventSink& s) { s.resumed(e); }); }
  void record(const nlohmann::json& r) override { each([&](EventSink& s) { s.record(r); }); }
  void warn(const std::string& m) override { each([&](EventSink& s) { s.warn(m); }); }
  bool should_stop() override {
    for (EventSink* s : sinks_)
      if (s->should_stop()) return true;
    return false;
  }

 private:
  template <typename F>
  void each(const F& f) {
    for (EventSink* s : sinks_) f(*s);
  }
  std::vector<EventSink*> sinks_;
};

}  // namespace nosync::train
