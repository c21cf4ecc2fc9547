#!/usr/bin/env bash
# Builds the fuzz targets with clang (ASan + UBSan + libFuzzer) and runs them; used by CTest.
#   fuzz/run.sh build FUZZ_BUILD_DIR           configure and build fuzz/ into FUZZ_BUILD_DIR
#   fuzz/run.sh run FUZZ_BUILD_DIR TARGET SECS  replay fuzz/regressions/TARGET, then fuzz for SECS
#                                               seconds from fuzz/corpus/TARGET (a copy: the repo
#                                               is not modified; new crashes land in the build dir)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
mode=$1 build=$2
case $mode in
  build)
    command -v clang++-14 >/dev/null || { echo "clang++-14 is missing: run scripts/install-deps.sh"; exit 1; }
    cmake -S "$src/fuzz" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
    cmake --build "$build" -j "${JOBS:-2}"
    ;;
  run)
    target=$3 secs=$4
    bin=$build/fuzz_$target
    [ -x "$bin" ] || { echo "$bin is not built (fuzz.build failed?)"; exit 1; }
    work=$build/work-$target
    rm -rf "$work" && mkdir -p "$work/corpus" "$work/crashes"
    cp "$src/fuzz/corpus/$target/"* "$work/corpus/"
    if [ -d "$src/fuzz/regressions/$target" ]; then
      echo "replaying fuzz/regressions/$target"
      "$bin" "$src/fuzz/regressions/$target/"*  # runs each file once; fails on any crash
    fi
    "$bin" -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
      -artifact_prefix="$work/crashes/" "$work/corpus" 2>&1 | grep -v "^#[0-9]" || true
    # libFuzzer exits non-zero on a finding; the pipeline above hides that, so check artifacts.
    if compgen -G "$work/crashes/*" >/dev/null; then
      echo "FAIL: fuzz_$target found inputs that crash: $(ls "$work/crashes")"
      echo "copy them to fuzz/regressions/$target/ and add a test for the fix"
      exit 1
    fi
    echo "fuzz_$target: no finding in $secs s"
    ;;
  *) echo "usage: fuzz/run.sh build DIR | run DIR TARGET SECONDS"; exit 2 ;;
esac
