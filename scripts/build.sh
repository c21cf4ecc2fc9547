#!/usr/bin/env bash
# Configures and builds nosync (library, CLI, tests, benchmarks) into BUILD_DIR (default build/).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
jobs=${JOBS:-$(nproc)}
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
echo "build: compiling into $build with $jobs jobs (first build takes several minutes)"
cmake --build "$build" -j "$jobs"
