#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the default job
# (`nosync train`: the `cnn` model on Fashion-MNIST), ending with a summary table.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bash "$src/scripts/install-deps.sh"
bash "$src/scripts/build.sh"
cd "$src"
exec "${BUILD_DIR:-$src/build}/nosync" train "$@"
