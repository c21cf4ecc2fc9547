// metrics.csv's table: rows per (step, particle, rank), columns as metrics appear, merged records.
#include "nosync/train/metrics_csv.h"

#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace nosync::train {
namespace {

Scalars row(int particle, int rank, int64_t step, double wall_s, std::vector<std::pair<std::string, double>> v) {
  Scalars s;
  s.particle = particle;
  s.rank = rank;
  s.step = step;
  s.wall_s = wall_s;
  s.values = std::move(v);
  return s;
}

TEST(MetricsCsvTest, SingleWorkerRowsMergePerStep) {
  MetricsTable t;
  EXPECT_TRUE(t.empty());
  t.add(row(-1, -1, 10, 1.5, {{"train/loss", 0.5}, {"train/lr", 0.1}}));
  t.add(row(-1, -1, 20, 3.0, {{"train/loss", 0.25}, {"train/lr", 0.1}}));
  t.add(row(-1, -1, 20, 3.25, {{"val/loss", 0.375}}));  // eval of step 20: same row, new column
  t.add(row(-1, -1, 20, 3.5, {}));                       // a checkpoint: nothing
  EXPECT_EQ(t.csv(),
            "step,wall_s,train/loss,train/lr,val/loss\n"
            "10,1.5,0.5,0.1,\n"
            "20,3.25,0.25,0.1,0.375\n");
}

TEST(MetricsCsvTest, ParticlesRanksAndSwarmRows) {
  MetricsTable t;
  t.add(row(0, 0, 10, 1.0, {{"train/loss", 1.0}}));
  t.add(row(1, 1, 10, 1.25, {{"train/loss", 2.0}}));
  t.add(row(-1, 0, 10, 1.5, {{"swarm/diversity", 0.125}}));
  t.add(row(1, 1, 10, 2.0, {{"train/loss", 3.0}}));  // the same step again (a resumed run): replaced
  EXPECT_EQ(t.csv(),
            "step,particle,rank,wall_s,train/loss,swarm/diversity\n"
            "10,0,0,1,1,\n"
            "10,1,1,2,3,\n"
            "10,,0,1.5,,0.125\n");
}

TEST(MetricsCsvTest, NumbersRoundTrip) {
  MetricsTable t;
  const double v = 0.1 + 0.2;  // 0.30000000000000004
  Scalars s = row(-1, -1, 1, std::numeric_limits<double>::quiet_NaN(), {{"a", v}, {"b", 1e-30}});
  t.add(s);
  const std::string csv = t.csv();
  EXPECT_EQ(csv, "step,wall_s,a,b\n1,,0.30000000000000004,1e-30\n");
  EXPECT_EQ(std::stod(csv.substr(csv.find(",0.3") + 1)), v);
}

}  // namespace
}  // namespace nosync::train
