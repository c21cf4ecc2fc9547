// summary.json.
#include "nosync/train/run_summary.h"

#include "nosync/util/fs.h"

namespace nosync::train {

namespace {

nlohmann::json test_json(const EvalResult& r) { return {{"test_accuracy", r.accuracy}, {"test_loss", r.loss}}; }

}  // namespace

nlohmann::json RunSummary::to_json() const {
  nlohmann::json s = {{"algo", algo},
                      {"completed", completed},
                      {"model", model},
                      {"parameters", parameters},
                      {"test_accuracy", test.accuracy},
                      {"test_loss", test.loss},
                      {"val_accuracy", val.accuracy},
                      {"val_loss", val.loss},
                      {"steps", steps},
                      {"samples", samples},
                      {"wall_s", wall_s},
                      {"samples_per_s", samples_per_s}};
  if (epochs >= 0) s["epochs"] = epochs;
  if (swarm) {
    s["particles"] = swarm->particles;
    s["best_particle"] = swarm->best_particle;
    s["best"] = test_json(swarm->best);
    s["average"] = test_json(swarm->average);
    s["ensemble"] = test_json(swarm->ensemble);
    s["final_diversity"] = swarm->final_diversity;
    s["exchange_s_per_particle"] = swarm->exchange_s_per_particle;
    s["train_samples_per_s"] = swarm->train_samples_per_s;
    s["respawns"] = swarm->respawns;
  }
  if (mpi) {
    s["transport"] = "mpi";
    s["ranks"] = mpi->ranks;
    s["group_size"] = mpi->group_size;
    if (mpi->group_size > 1) s["group_max_divergence"] = mpi->group_max_divergence;
  }
  s.update(speed);
  return s;
}

void RunSummary::write(const std::string& run_dir) const {
  util::write_file_atomic(run_dir + "/summary.json", to_json().dump(2) + "\n");
}

}  // namespace nosync::train
