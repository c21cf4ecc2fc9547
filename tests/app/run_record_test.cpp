#include "nosync/app/run_record.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "nosync/util/error.h"
#include "nosync/util/fs.h"
#include "support/test_support.h"

namespace nosync::app {
namespace {

using nosync::testing::TempDir;

// Two workers' evaluations interleave in metrics.jsonl; a torn last line is ignored.
TEST(RunRecord, ReadsEventsAndFindsTheFirstWorkerAtTarget) {
  TempDir dir;
  util::write_file_atomic(dir.file("summary.json"),
                          R"({"algo":"nosync","particles":2,"best":{"test_accuracy":0.9,"test_loss":0.3}})");
  util::write_file_atomic(dir.file("metrics.jsonl"),
                          "{\"event\":\"eval\",\"particle\":0,\"step\":10,\"wall_s\":2.0,\"test_accuracy\":0.80}\n"
                          "{\"event\":\"swarm\",\"step\":10,\"wall_s\":2.1,\"diversity\":3.5}\n"
                          "{\"event\":\"eval\",\"particle\":1,\"step\":20,\"wall_s\":3.0,\"test_accuracy\":0.91}\n"
                          "{\"event\":\"eval\",\"particle\":0,\"step\":20,\"wall_s\":2.9,\"test_accuracy\":0.92}\n"
                          "{\"event\":\"eval\",\"particle\":0,\"st");
  const RunRecord r = read_run(dir.path());
  ASSERT_EQ(r.evals.size(), 3u);
  ASSERT_EQ(r.swarm.size(), 1u);
  EXPECT_DOUBLE_EQ(r.swarm[0].diversity, 3.5);
  EXPECT_EQ(r.evals[1].particle, 1);
  const Reached hit = first_reaching(r, 0.9);  // particle 0 got there first in wall time
  EXPECT_DOUBLE_EQ(hit.wall_s, 2.9);
  EXPECT_EQ(hit.step, 20);
  EXPECT_EQ(first_reaching(r, 0.95).step, -1);
  const auto curve = best_accuracy_curve(r);  // sorted by time, best so far
  ASSERT_EQ(curve.size(), 3u);
  EXPECT_DOUBLE_EQ(curve[1].first, 2.9);
  EXPECT_DOUBLE_EQ(curve[1].second, 0.92);
  EXPECT_DOUBLE_EQ(curve[2].second, 0.92);
}

TEST(RunRecord, SingleWorkerSummaryGetsBestAverageEnsemble) {
  TempDir dir;
  util::write_file_atomic(dir.file("summary.json"), R"({"test_accuracy":0.5,"test_loss":1.25})");
  const RunRecord r = read_run(dir.path());
  EXPECT_EQ(r.summary["algo"], "single");
  EXPECT_EQ(r.summary["particles"], 1);
  for (const char* k : {"best", "average", "ensemble"}) EXPECT_DOUBLE_EQ(r.summary[k]["test_accuracy"].get<double>(), 0.5);
}

TEST(RunRecord, UnfinishedRunIsAUserError) {
  TempDir dir;
  EXPECT_THROW(read_run(dir.path()), UserError);
  util::write_file_atomic(dir.file("summary.json"), "{not json");
  EXPECT_THROW(read_run(dir.path()), UserError);
}

}  // namespace
}  // namespace nosync::app
