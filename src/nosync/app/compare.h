// `nosync compare`: runs several algorithms on the same model, data, seed and budget, one after
// the other, and writes compare.md, compare.json and plots (test accuracy vs wall time,
// diversity vs wall time) as PNG and SVG through gnuplot.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nosync/app/config.h"
#include "nosync/data/dataset.h"

namespace nosync::app {

struct CompareOptions {
  std::vector<std::string> algos;  // single | sync | local-sgd | easgd | nosync
  std::string budget = "samples";  // samples: equal total samples; steps: equal steps per worker
  double target = 0.9;             // test accuracy for "time / samples to target"
  std::string out_dir;
};

// Trains `config` in this process (one worker, or the swarm on threads) into `dir`, which holds
// config_toml already; returns the summary with best/average/ensemble also for a single worker.
nlohmann::json run_in_process(const Config& config, const data::Splits& splits, const std::string& dir,
                              const std::string& config_toml);

// Returns the process exit code (0) or throws UserError.
int run_compare(const Config& base, const CompareOptions& options);

}  // namespace nosync::app
