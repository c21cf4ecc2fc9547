// TensorBoard events and metrics.csv beside metrics.jsonl: the same records, flushed at evals,
// a new events file per process, the CSV whole across a resume, write errors as warnings.
#include "nosync/train/scalar_logs.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "nosync/train/events.h"
#include "nosync/util/fs.h"
#include "support/test_support.h"
#include "support/tfrecord_reader.h"

namespace nosync::train {
namespace {

using nosync::testing::TempDir;

std::vector<std::string> event_files(const std::string& run_dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(run_dir + "/tb")) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

StepEvent step_event(int particle, int64_t step, double loss) {
  StepEvent e;
  e.particle = particle;
  e.step = step;
  e.train_loss = loss;
  e.lr = 0.1;
  e.samples_per_s = 100;
  e.elapsed_s = 0.5 * step;
  return e;
}

EvalEvent eval_event(int particle, int64_t step, double acc) {
  EvalEvent e;
  e.particle = particle;
  e.step = step;
  e.val = {0.5, acc};
  e.test = {0.6, acc};
  return e;
}

TEST(ScalarLogsTest, MetricsSinkWritesEventsAndCsvFromItsRecords) {
  TempDir tmp;
  const std::string run = tmp.path();
  {
    MetricsSink sink(run);
    sink.logged(step_event(0, 10, 2.0));
    sink.logged(step_event(1, 10, 3.0));
    sink.evaluated(eval_event(0, 10, 0.5));  // flushes
    const auto files = event_files(run);
    ASSERT_EQ(files.size(), 1u);
    const auto r = nosync::testing::read_event_file(files[0]);
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.events.size(), 4u) << "version + 3 records, on disk before the sink closes";
    EXPECT_EQ(r.events[1].step, 10);
    EXPECT_EQ(r.events[1].scalars.size(), 4u);
    EXPECT_EQ(r.events[2].scalars[3], std::make_pair(std::string("p1/train/loss"), 3.0f));
    EXPECT_EQ(r.events[3].scalars[0], std::make_pair(std::string("p0/test/accuracy"), 0.5f));
    EXPECT_EQ(util::read_text(run + "/metrics.csv"),
              "step,particle,wall_s,train/epoch,train/lr,train/samples_per_s,train/loss,test/accuracy,test/loss,"
              "val/accuracy,val/loss\n"
              "10,0,0,0,0.1,100,2,0.5,0.6,0.5,0.5\n"
              "10,1,5,0,0.1,100,3,,,,\n");
    sink.logged(step_event(0, 20, 1.0));  // not flushed yet: the CSV still shows the eval
    EXPECT_EQ(util::read_text(run + "/metrics.csv").find("\n20,"), std::string::npos);
  }
  // Closing flushed the rest; a second process (a resume) appends a new events file, and its
  // CSV starts from what metrics.jsonl holds.
  EXPECT_NE(util::read_text(run + "/metrics.csv").find("\n20,0,10,"), std::string::npos);
  std::filesystem::rename(event_files(run)[0], run + "/tb/events.out.tfevents.0.first");  // as if started earlier
  {
    MetricsSink sink(run);
    sink.logged(step_event(0, 30, 0.5));
  }
  const auto files = event_files(run);
  ASSERT_EQ(files.size(), 2u);
  const auto second = nosync::testing::read_event_file(files[1] == run + "/tb/events.out.tfevents.0.first" ? files[0]
                                                                                                           : files[1]);
  ASSERT_EQ(second.events.size(), 2u) << "only the new process's records";
  EXPECT_EQ(second.events[1].step, 30);
  const std::string csv = util::read_text(run + "/metrics.csv");
  for (const char* row : {"\n10,0,", "\n10,1,", "\n20,0,", "\n30,0,"}) EXPECT_NE(csv.find(row), std::string::npos) << row;
}

TEST(ScalarLogsTest, ForwardedLinesReachBoth) {
  TempDir tmp;
  MetricsSink rank1(nlohmann::json{{"rank", 1}});
  rank1.logged(step_event(1, 10, 4.0));
  MetricsSink rank0(tmp.path(), nlohmann::json{{"rank", 0}});
  rank0.logged(step_event(0, 10, 2.0));
  rank0.append_lines(rank1.take_lines());  // flushes
  const auto r = nosync::testing::read_event_file(event_files(tmp.path())[0]);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[2].scalars[3], std::make_pair(std::string("p1/train/loss"), 4.0f));
  EXPECT_NE(util::read_text(tmp.file("metrics.csv")).find("\n10,1,1,5,0,0.1,100,4\n"), std::string::npos)
      << util::read_text(tmp.file("metrics.csv"));
}

TEST(ScalarLogsTest, WriteErrorsAreOneWarningEachNeverTheEnd) {
  TempDir tmp;
  nosync::testing::write_bytes(tmp.file("tb"), {'x'});           // tb/ cannot be made
  std::filesystem::create_directories(tmp.file("metrics.csv"));  // nor metrics.csv replaced
  std::vector<std::string> warnings;
  {
    ScalarLogs logs(tmp.path(), [&](const std::string& m) { warnings.push_back(m); });
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("TensorBoard"), std::string::npos) << warnings[0];
    for (int step = 1; step <= 3; ++step) {
      logs.add(to_record(step_event(-1, step, 1.0)));
      logs.add(to_record(eval_event(-1, step, 0.5)));
    }
  }
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[1].find("metrics.csv"), std::string::npos) << warnings[1];
}

TEST(ScalarLogsTest, AFailingWriteStopsTheFileNotTheCaller) {
  // A file-size limit makes write(2) fail with EFBIG (SIGXFSZ ignored), as a full disk fails with
  // ENOSPC: the writer keeps the error, writes nothing more and never throws.
  TempDir tmp;
  const std::string path = tmp.file("events.out.tfevents.1.h.1");
  struct sigaction ignore = {}, old_action = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  rlimit old_limit = {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = 1000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string error;
  {
    EventFileWriter w(path);
    for (int step = 0; step < 200 && w.error().empty(); ++step) {
      w.write_scalars(step, {{"a/long/enough/tag/to/fill/the/buffer", 1.0f}});
      w.flush();
    }
    error = w.error();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &old_action, nullptr);
  EXPECT_NE(error.find("write failed: File too large"), std::string::npos) << error;
  const auto r = nosync::testing::read_event_file(path);
  EXPECT_LE(std::filesystem::file_size(path), 1000u);
  EXPECT_GT(r.events.size(), 5u) << "what was flushed before the failure stays readable";
}

}  // namespace
}  // namespace nosync::train
