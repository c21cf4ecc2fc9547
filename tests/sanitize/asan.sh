#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the library and its unit tests; used by
# CTest (asan.build, asan.unit_tests).
#   tests/sanitize/asan.sh build DIR        configure and build the library, the CLI and nosync_tests
#                                            into DIR (-O1, no debug info, -fno-sanitize-recover,
#                                            unity build)
#   tests/sanitize/asan.sh run DIR [ARGS]    run DIR/tests/nosync_tests (ARGS go to GoogleTest)
# libtorch, libgomp and Open MPI are not instrumented; reports inside them only are suppressed by
# the files next to this script (see docs/reliability.md). Any other report fails the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mode=$1 build=$2
shift 2
case $mode in
  build)
    # A unity build (16 sources per compilation) parses and instantiates the libtorch headers far
    # less often: 4.6 instead of 10.8 CPU-minutes on this 2-core machine.
    cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
      -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 \
      -DNOSYNC_SANITIZE=address,undefined -DNOSYNC_BUILD_BENCH=OFF -DNOSYNC_TSAN_TESTS=OFF \
      -DNOSYNC_FUZZ_TESTS=OFF -DNOSYNC_ASAN_TESTS=OFF >/dev/null
    cmake --build "$build" -j "${JOBS:-2}" --target nosync_tests
    ;;
  run)
    bin=$build/tests/nosync_tests
    [ -x "$bin" ] || { echo "$bin is not built (asan.build failed?)"; exit 1; }
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_init_order=1:detect_stack_use_after_return=1:check_initialization_order=1:suppressions=$here/asan.supp"
    export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp"
    # One OpenMP thread, and CheckpointCrash.* in a process of its own: under ASan, the writer
    # that test forks makes no progress within its kill delays (0 of 25 kills land inside or
    # after a write) when the forking process has run other tests first or has two OpenMP
    # threads; alone with one thread it behaves as without ASan. libgomp is not instrumented.
    # nosync's own threads (swarm particles, the local board) still run concurrently.
    # LocalSwarm.NaNParticleIsRespawnedAndTheRunRecovers is left to the plain build (and
    # script.nan_particle): it expects the NaN particle's respawn at a given exchange, which
    # ASan's slowdown moved once in CI; it checks timing, not memory.
    # KeepFreedMemory.* test glibc malloc's settings; under ASan malloc is ASan's own (mallopt
    # does nothing), so they run in the plain build only.
    export OMP_NUM_THREADS=1
    if [ $# -gt 0 ]; then
      "$bin" "$@"
    else
      "$bin" --gtest_filter='-CheckpointCrash.*:LocalSwarm.NaNParticleIsRespawnedAndTheRunRecovers:KeepFreedMemory.*'
      "$bin" --gtest_filter='CheckpointCrash.*'
    fi
    ;;
  *) echo "usage: tests/sanitize/asan.sh build DIR | run DIR [GTEST ARGS]"; exit 2 ;;
esac
