// What a run directory shows besides metrics.jsonl, made from the same records: TensorBoard
// event files (RUN/tb/events.out.tfevents.*, train/tfevents.h) and RUN/metrics.csv
// (train/metrics_csv.h), both through train/scalars.h. MetricsSink feeds every record it writes,
// MPI ranks' forwarded ones included (train/events.h).
//
// Both are flushed at every eval, checkpoint and final record, and at the end: a killed run keeps
// what they held at its last evaluation or checkpoint. A failed write (full disk, a path that is
// not a directory) is one warning per file and stops that file, never the run.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nosync/train/metrics_csv.h"
#include "nosync/train/tfevents.h"

namespace nosync::train {

class ScalarLogs {
 public:
  using Warn = std::function<void(const std::string& message)>;
  // Opens a new events file under run_dir/tb/ (a resumed run adds one; TensorBoard reads them all
  // as one run). metrics.csv starts from the records run_dir/metrics.jsonl already holds, so a
  // resumed run's CSV still covers the whole run. `warn` (default: a line on stderr) hears of
  // failed writes.
  explicit ScalarLogs(const std::string& run_dir, Warn warn = {});
  ~ScalarLogs();  // flushes, without warnings (the run has ended)
  ScalarLogs(const ScalarLogs&) = delete;
  ScalarLogs& operator=(const ScalarLogs&) = delete;

  void add(const nlohmann::json& record);  // not thread-safe: MetricsSink holds its lock
  void flush();
  const std::string& events_path() const { return events_->path(); }

 private:
  void check_events();

  std::string csv_path_;
  Warn warn_;
  std::unique_ptr<EventFileWriter> events_;
  bool events_warned_ = false;
  MetricsTable table_;
  bool csv_dirty_ = false;
  bool csv_failed_ = false;
};

}  // namespace nosync::train
