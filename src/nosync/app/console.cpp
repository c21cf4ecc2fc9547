#include "nosync/app/console.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "nosync/util/machine.h"

namespace nosync::app {

std::string format_duration(double seconds) {
  if (!(seconds >= 0)) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string format_table(const std::string& title, const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t a = 0, b = 0;
  for (const auto& [k, v] : rows) a = std::max(a, k.size()), b = std::max(b, v.size());
  const std::string rule = fmt::format("+{}+{}+\n", std::string(a + 2, '-'), std::string(b + 2, '-'));
  std::string out = fmt::format("{}\n{}", title, rule);
  for (const auto& [k, v] : rows) out += fmt::format("| {:<{}} | {:>{}} |\n", k, a, v, b);
  return out + rule;
}

ConsoleSink::ConsoleSink(const std::string& mode, int64_t log_every) : log_every_(log_every) {
  quiet_ = mode == "quiet";
  live_ = mode == "live" || (mode == "auto" && isatty(STDERR_FILENO));
}

void ConsoleSink::message_line(const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  line(text);
}

void ConsoleSink::line(const std::string& text) {
  if (quiet_) return;
  std::fprintf(stderr, "%s%s\n", live_shown_ ? "\r\033[K" : "", text.c_str());
  live_shown_ = false;
  std::fflush(stderr);
}

std::string ConsoleSink::status(const train::StepEvent& p) const {
  const double rate = p.step > 0 ? p.elapsed_s / p.step : 0;
  std::string s = fmt::format("epoch {:.2f} step {}/{} loss {:.4f} lr {:.4g}", p.epoch, p.step, p.total_steps,
                              p.train_loss, p.lr);
  if (!last_val_.empty()) s += " val " + last_val_;
  s += fmt::format(" {:.0f} samples/s ETA {}", p.samples_per_s, format_duration(rate * (p.total_steps - p.step)));
  return s;
}

void ConsoleSink::started(const train::StartEvent& e) {
  if (!followed(e.particle)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (e.particle < 0)
    line(fmt::format("training {} steps ({} per epoch), {} parameters", e.total_steps, e.steps_per_epoch,
                     e.parameters));
}

void ConsoleSink::stepped(const train::StepEvent& p) {
  if (quiet_ || !followed(p.particle)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (live_) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(200) && p.step != p.total_steps) return;
    last_draw_ = now;
    std::fprintf(stderr, "\r\033[K%s", status(p).c_str());
    std::fflush(stderr);
    live_shown_ = true;
  } else if (p.step % log_every_ == 0) {
    line(status(p));
  }
}

void ConsoleSink::evaluated(const train::EvalEvent& e) {
  if (!followed(e.particle)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const nlohmann::json val = train::eval_fields("val", e.val), test = train::eval_fields("test", e.test);
  last_val_ = train::headline_value(val, "val");
  line(fmt::format("eval  epoch {:.2f} step {}: val loss {:.4f} {} | test loss {:.4f} {} ({})", e.epoch, e.step,
                   e.val.loss, last_val_, e.test.loss, train::headline_value(test, "test"),
                   format_duration(e.elapsed_s)));
}

void ConsoleSink::checkpointed(const train::CheckpointEvent& e) {
  if (!followed(e.particle)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!live_ && e.particle < 0) line("checkpoint " + e.dir);
}

void ConsoleSink::resumed(const train::ResumeEvent& e) {
  if (!followed(e.particle)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  line(fmt::format("resuming at step {} from {}", e.step, e.dir));
}

void ConsoleSink::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (live_shown_ && !quiet_) std::fprintf(stderr, "\n");
  live_shown_ = false;
}

void print_run_header(const std::string& run_dir, const std::string& effective_config, const data::Splits& splits) {
  std::cerr << "# effective config (" << run_dir << "/config.toml)\n" << effective_config << "\n";
  const auto& t = splits.train;
  const std::string what = t.task == data::Task::language_model
                               ? fmt::format("windows of {} bytes", t.inputs.size(1))
                               : fmt::format("samples of {}", fmt::join(t.inputs.sizes().slice(1), "x"));
  std::cerr << fmt::format("data: {} train, {} val, {} test {} ({})\n", t.size(), splits.val.size(),
                           splits.test.size(), what, t.source);
}

void warn_if_slow_blas(const std::string& progress) {
  const std::string& advice = util::blas_info().advice;
  if (progress != "quiet" && !advice.empty()) std::cerr << "nosync: warning: " << advice << "\n";
}

}  // namespace nosync::app
