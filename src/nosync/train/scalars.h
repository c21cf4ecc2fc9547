// The one mapping from a metrics record (what metrics.jsonl holds: train/events.h's to_record and
// the algorithms' own records) to named scalars. TensorBoard's event files and metrics.csv are
// both written from it (train/scalar_logs.h), so each shows every number metrics.jsonl has, under
// the same names; docs/metrics.md lists them.
//
// Names: a field `train_X`, `val_X` or `test_X` is `train/X`, `val/X`, `test/X` (whatever the
// record: eval's val_loss is val/loss); a field `<event>_X` of an <event> record is `<event>/X`
// (exchange_ms: exchange/ms); any other numeric field F is `<event>/F` (train's lr: train/lr,
// exchange's staleness: exchange/staleness, swarm's diversity: swarm/diversity). A final
// record's summary becomes `final/<path>` of its numeric leaves (final/best/test_accuracy).
// Identity and time fields are not metrics: event, particle, rank, step, from, attractor, wall_s;
// neither are an eval record's lr and epoch (the train record of the step carries them).
// Strings, booleans and nulls are skipped.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nosync::train {

struct Scalars {
  int particle = -1;  // -1: a single worker's record, or the swarm's (swarm, final)
  int rank = -1;      // the MPI rank that wrote it, -1 without "rank"
  int64_t step = 0;   // a final record: its summary's steps
  double wall_s = std::numeric_limits<double>::quiet_NaN();  // the record's wall_s, NaN without
  std::vector<std::pair<std::string, double>> values;  // name -> value, in the record's key order
};

// Empty `values` for records without metrics (checkpoint, resume, warning, group_sync) and for
// records without a step.
Scalars scalars_of(const nlohmann::json& record);

// The TensorBoard tag of one value: the name alone for a single worker's and the swarm's records,
// "p<particle>/<name>" for a particle's, "p<particle>-rank<r>/<name>" for one written by a rank
// other than rank <particle> (a member of a data-parallel group, swarm.group_size > 1, whose
// train records would otherwise share their leader's tags).
std::string scalar_tag(const Scalars& s, const std::string& name);

}  // namespace nosync::train
