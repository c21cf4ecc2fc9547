// Runs a swarm (or a baseline) as N particles on threads of this process over the local board.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "nosync/app/config.h"
#include "nosync/app/console.h"
#include "nosync/app/swarm_launch.h"
#include "nosync/app/swarm_resume.h"
#include "nosync/data/dataset.h"
#include "nosync/train/control.h"

namespace nosync::app {

// Trains, writes metrics.jsonl, checkpoints and summary.json under run_dir; returns the summary.
// `resume_particles` > 0 continues the run in run_dir, which was saved with that many particles
// (see resume_plan).
nlohmann::json run_local_swarm(const Config& config, const data::Splits& splits, const std::string& run_dir,
                               const std::string& config_toml, ConsoleSink& console, int resume_particles = 0,
                               train::RunControl* control = nullptr);

}  // namespace nosync::app
