#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the whole test suite under CTest.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
bash "$src/scripts/install-deps.sh"
bash "$src/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900 "$@"
