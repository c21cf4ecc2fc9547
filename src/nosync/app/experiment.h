// `nosync experiment`: reruns the NoSync paper's five claims with this engine and writes
// report/claims.md (tables with mean and spread over seeds, PNG/SVG plots, the exact commands
// and a verdict per claim). See docs/experiments.md.
#pragma once

#include <string>
#include <vector>

#include "nosync/app/config.h"

namespace nosync::app {

struct ExperimentOptions {
  std::vector<std::string> claims;  // "1".."5", "sensitivity"; empty = all
  bool quick = false;               // a preview: budgets x 0.25 and 2 seeds (< 15 min on 2 cores)
  double scale = 1;                 // multiplies every step budget (smoke tests use a tiny one)
  int seeds = 0;                    // 0 = 3 (full) or 2 (quick)
  std::string out_dir;              // "" = report (full) or report/quick
  std::string cifar_dir;            // CIFAR-10 binary batches for claim 1's resnet section ("" = skip)
  std::string command_line;         // as typed, for the report
};

// Runs the experiments (reusing finished runs found under <out>/runs) and writes the report.
// Returns the exit code: 0, or 1 when a run failed (the report names it).
int run_experiment(const Config& base, const ExperimentOptions& options);

}  // namespace nosync::app
