// metrics.csv: the scalars of a run's metrics records (train/scalars.h) as one table, in the
// layout of PyTorch Lightning's CSVLogger: a header row, then one row per step (per particle, and
// per rank under MPI), one column per metric; a cell is empty where that row has no such value.
//
// Records of one step merge into one row (train and eval of step 100; a later record of the same
// step and column replaces the value, as a resumed run's does). A CSV header cannot grow, and
// metrics appear as the run goes (the first exchange, the final record), so the table is kept in
// memory and the file is rewritten whole, atomically, whenever train/scalar_logs.h flushes.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "nosync/train/scalars.h"

namespace nosync::train {

class MetricsTable {
 public:
  void add(const Scalars& s);
  bool empty() const { return rows_.empty(); }
  // Columns: step, then particle (if any row has one), rank (if any has one), wall_s, then the
  // metrics in the order they first appeared. Rows in the order they first appeared.
  std::string csv() const;

 private:
  struct Row {
    int particle = -1;
    int rank = -1;
    int64_t step = 0;
    double wall_s = std::numeric_limits<double>::quiet_NaN();
    std::map<size_t, double> values;  // column index -> value
  };
  std::vector<std::string> columns_;
  std::map<std::string, size_t> column_of_;
  std::vector<Row> rows_;
  std::map<std::tuple<int, int, int64_t>, size_t> row_of_;  // (particle, rank, step) -> row
  bool any_particle_ = false;
  bool any_rank_ = false;
};

}  // namespace nosync::train
