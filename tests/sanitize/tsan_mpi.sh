#!/usr/bin/env bash
# The ThreadSanitizer build of the MPI transport tests (nosync_tsan_mpi_tests) under real mpirun.
# Usage: tsan_mpi.sh MPIRUN NP BINARY
#
# Open MPI is not instrumented, so TSan cannot see its own synchronisation (its progress and
# event threads). Every rank writes its reports to a log; tsan_filter.py then fails the test on
# any report with a stack frame outside Open MPI (libmpi, libopen-pal, libopen-rte, pmix, their
# mca_* components, libevent, hwloc) and the C/C++/TSan runtime, i.e. on every report that
# involves nosync's code, and lists the ones it let through. The test also fails if the tests
# themselves fail or if a rank dies.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mpirun=$1 np=$2 bin=$3
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# exitcode=0: TSan does not change the exit status; the filter below judges the reports.
export TSAN_OPTIONS="halt_on_error=0:exitcode=0:second_deadlock_stack=1:log_path=$logs/tsan"
export OMP_NUM_THREADS=1
timeout 500 "$mpirun" -np "$np" --oversubscribe --bind-to none -x TSAN_OPTIONS -x OMP_NUM_THREADS "$bin"
rc=$?
shopt -s nullglob
/usr/bin/python3 "$here/tsan_filter.py" "$logs"/tsan.* || exit 1
[ $rc -eq 0 ] || { echo "FAIL: the MPI transport tests under TSan exited $rc"; exit 1; }
echo "tsan: no report involving nosync's code under mpirun -np $np"
