// TensorBoard events and metrics.csv from metrics records.
#include "nosync/train/scalar_logs.h"

#include <filesystem>
#include <iostream>
#include <system_error>

#include <fmt/format.h>

#include "nosync/train/metrics.h"
#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::train {
namespace {

// Records that close a stretch of the run: what a killed run keeps is up to the last of them.
bool flushes(const nlohmann::json& record) {
  const auto e = record.find("event");
  return e != record.end() && e->is_string() && (*e == "eval" || *e == "checkpoint" || *e == "final");
}

}  // namespace

ScalarLogs::ScalarLogs(const std::string& run_dir, Warn warn)
    : csv_path_(run_dir + "/metrics.csv"), warn_(std::move(warn)) {
  if (!warn_) warn_ = [](const std::string& m) { std::cerr << "nosync: warning: " << m << "\n"; };
  const std::string tb_dir = run_dir + "/tb";
  std::error_code ec;
  std::filesystem::create_directories(tb_dir, ec);  // a failure shows as the file's create error
  events_ = std::make_unique<EventFileWriter>(tfevents::new_event_file_path(tb_dir));
  check_events();
  for (const nlohmann::json& r : read_metrics_records(run_dir + "/metrics.jsonl")) table_.add(scalars_of(r));
}

ScalarLogs::~ScalarLogs() {
  // Quietly: a run that ends normally flushed at its last eval, checkpoint or final record, so
  // what is left here is a run ending on an error (a full disk), whose error is the one message.
  warn_ = [](const std::string&) {};
  flush();
}

void ScalarLogs::add(const nlohmann::json& record) {
  const Scalars s = scalars_of(record);
  if (!s.values.empty()) {
    std::vector<tfevents::Scalar> scalars;
    scalars.reserve(s.values.size());
    for (const auto& [name, value] : s.values) scalars.push_back({scalar_tag(s, name), static_cast<float>(value)});
    events_->write_scalars(s.step, scalars);
    table_.add(s);
    csv_dirty_ = true;
  }
  if (flushes(record)) flush();
  check_events();
}

void ScalarLogs::flush() {
  events_->flush();
  check_events();
  if (!csv_dirty_ || csv_failed_) return;
  try {
    util::write_file_atomic(csv_path_, table_.csv());
    csv_dirty_ = false;
  } catch (const UserError& e) {
    csv_failed_ = true;
    warn_(fmt::format("{}; metrics.csv is no longer updated (metrics.jsonl is)", one_line(e)));
  }
}

void ScalarLogs::check_events() {
  if (events_warned_ || events_->error().empty()) return;
  events_warned_ = true;
  warn_(fmt::format("{}; the TensorBoard events file stops here (metrics.jsonl goes on)", events_->error()));
}

}  // namespace nosync::train
