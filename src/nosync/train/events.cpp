// Events as metrics.jsonl records, and the sink that writes them.
#include "nosync/train/events.h"

#include "nosync/util/error.h"

namespace nosync::train {

namespace {

// A single worker's records name no particle.
nlohmann::json base(const char* event, int particle, int64_t step) {
  nlohmann::json r = {{"event", event}};
  if (particle >= 0) r["particle"] = particle;
  r["step"] = step;
  return r;
}

}  // namespace

nlohmann::json to_record(const StepEvent& e) {
  nlohmann::json r = base("train", e.particle, e.step);
  r.update({{"epoch", e.epoch}, {"wall_s", e.elapsed_s}, {"train_loss", e.train_loss}, {"lr", e.lr},
            {"samples_per_s", e.samples_per_s}});
  return r;
}

nlohmann::json to_record(const EvalEvent& e) {
  nlohmann::json r = base("eval", e.particle, e.step);
  r.update({{"epoch", e.epoch}, {"wall_s", e.elapsed_s}, {"lr", e.lr}});
  add_eval_fields(r, "val", e.val);
  add_eval_fields(r, "test", e.test);
  return r;
}

nlohmann::json to_record(const CheckpointEvent& e) {
  nlohmann::json r = base("checkpoint", e.particle, e.step);
  r.update({{"path", e.dir}, {"reason", e.reason}});
  return r;
}

nlohmann::json to_record(const ResumeEvent& e) {
  nlohmann::json r = base("resume", e.particle, e.step);
  if (e.from >= 0) r["from"] = e.from;
  r["path"] = e.dir;
  return r;
}

nlohmann::json warning_record(const std::string& message) { return {{"event", "warning"}, {"message", message}}; }

// metrics.jsonl is opened first (a UserError if it cannot be: nothing else written yet); opening
// appends nothing, so ScalarLogs then reads the records it held before this process.
MetricsSink::MetricsSink(const std::string& run_dir, nlohmann::json extra)
    : writer_(std::make_unique<MetricsWriter>(run_dir + "/metrics.jsonl")),
      scalar_logs_(std::make_unique<ScalarLogs>(run_dir)),
      extra_(std::move(extra)) {}

MetricsSink::MetricsSink(nlohmann::json extra) : extra_(std::move(extra)) {}

void MetricsSink::record(const nlohmann::json& record) {
  nlohmann::json r = record;
  r.update(extra_);
  std::lock_guard<std::mutex> lock(mutex_);
  if (writer_) {
    writer_->write(r);
    scalar_logs_->add(r);
  } else {
    lines_ += r.dump() + "\n";
  }
}

void MetricsSink::append_lines(const std::string& lines) {
  NOSYNC_CHECK(writer_ != nullptr, "append_lines on a sink without a file");
  std::lock_guard<std::mutex> lock(mutex_);
  size_t start = 0;
  while (start < lines.size()) {
    const size_t end = lines.find('\n', start);
    const std::string line = lines.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty()) {
      const nlohmann::json r = nlohmann::json::parse(line);
      writer_->write(r);
      scalar_logs_->add(r);
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  scalar_logs_->flush();
}

std::string MetricsSink::take_lines() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::move(lines_);
}

}  // namespace nosync::train
