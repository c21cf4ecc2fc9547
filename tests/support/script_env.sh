# Sourced by the shell tests (tests/scripts/*.sh, tests/mpi/*.sh) right after their `set` line,
# with the test's own arguments: NOSYNC_BINARY SOURCE_DIR [MPIRUN]. It defines
#   bin, src   absolute paths of the nosync binary and the source tree
#   mpirun     the MPIRUN argument (empty when not given)
#   py         the system Python (Debian's python3-torch lives there)
#   work       a scratch directory, made the current directory, removed at exit
#   on_exit    commands a test adds for exit (run before $work is removed), e.g. killing a child
#   fail MSG   prints FAIL: MSG and exits 1
bin=$(realpath "$1")
src=$(realpath "$2")
mpirun=${3:-}
py=/usr/bin/python3
work=$(mktemp -d)
on_exit=:
trap 'eval "$on_exit"; rm -rf "$work"' EXIT
cd "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
