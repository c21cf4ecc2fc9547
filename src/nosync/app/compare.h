// `nosync compare`: runs several algorithms on the same model, data, seed and budget, one after
// the other, and writes compare.md, compare.json and plots (test accuracy vs wall time,
// diversity vs wall time) as PNG and SVG through gnuplot.
#pragma once

#include <string>
#include <vector>

#include "nosync/app/config.h"

namespace nosync::app {

struct CompareOptions {
  std::vector<std::string> algos;  // single | sync | local-sgd | easgd | nosync
  std::string budget = "samples";  // samples: equal total samples; steps: equal steps per worker
  double target = 0.9;             // test accuracy for "time / samples to target"
  std::string out_dir;
};

// Returns the process exit code (0) or throws UserError.
int run_compare(const Config& base, const CompareOptions& options);

}  // namespace nosync::app
