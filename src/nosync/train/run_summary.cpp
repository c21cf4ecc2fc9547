// summary.json.
#include "nosync/train/run_summary.h"

#include "nosync/util/fs.h"

namespace nosync::train {

nlohmann::json RunSummary::to_json() const {
  nlohmann::json s = {{"algo", algo},
                      {"completed", completed},
                      {"model", model},
                      {"parameters", parameters},
                      {"task", data::task_name(test.task)},
                      {"steps", steps},
                      {"samples", samples},
                      {"wall_s", wall_s},
                      {"samples_per_s", samples_per_s}};
  add_eval_fields(s, "test", test);
  add_eval_fields(s, "val", val);
  if (epochs >= 0) s["epochs"] = epochs;
  if (swarm) {
    s["particles"] = swarm->particles;
    s["best_particle"] = swarm->best_particle;
    s["best"] = eval_fields("test", swarm->best);
    s["average"] = eval_fields("test", swarm->average);
    s["ensemble"] = eval_fields("test", swarm->ensemble);
    s["final_diversity"] = swarm->final_diversity;
    s["exchange_s_per_particle"] = swarm->exchange_s_per_particle;
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
