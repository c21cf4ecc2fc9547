#!/usr/bin/env bash
# Which BLAS runs float32 matrix products: `nosync train` records it in summary.json and warns,
# with the file and what to install, when it is the Netlib reference BLAS (10x slower). The
# reference library is forced with LD_LIBRARY_PATH (Debian keeps it in blas/ and lapack/ beside
# the alternatives); the run must still complete. Exits 77 (skipped) if libblas3 is not there.
# Usage: blas_warning.sh NOSYNC_BINARY SOURCE_DIR
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
lib=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
if [ ! -e "$lib/blas/libblas.so.3" ] || [ ! -e "$lib/lapack/liblapack.so.3" ]; then
  echo "SKIPPED: no reference BLAS in $lib/blas (Debian package libblas3)"
  exit 77
fi
args=(--set data.format=synthetic --set data.val_size=256 --set model.name=mlp --set train.steps=2
      --set swarm.algo=single --set train.threads=1 --set run.progress=plain)
# blas_of RUN_DIR: the "blas" field of the run's summary.
blas_of() { $py -c "import json,sys; print(json.load(open(sys.argv[1]))['blas'])" "$1/summary.json"; }

"$bin" train "${args[@]}" --run-dir optimized >optimized.out 2>optimized.err || { cat optimized.err; fail "plain run"; }
grep -q "BLAS" optimized.err && { cat optimized.err; fail "a BLAS warning on this machine's own BLAS"; }
[ "$(blas_of optimized)" = "OpenBLAS (openmp)" ] || fail "summary blas = '$(blas_of optimized)', expected OpenBLAS (openmp)"
echo "ok   this machine: $(blas_of optimized), no warning"

LD_LIBRARY_PATH="$lib/blas:$lib/lapack" "$bin" train "${args[@]}" --run-dir reference >reference.out 2>reference.err \
  || { cat reference.err; fail "the run on the reference BLAS did not complete"; }
grep -q "^nosync: warning: float32 matrix products .* run on the reference BLAS ($lib/blas/libblas.so.3[.0-9]*), about 10x slower .*install libopenblas0-openmp" reference.err \
  || { cat reference.err; fail "no warning naming the reference BLAS and what to install"; }
[ "$(blas_of reference)" = "reference BLAS" ] || fail "summary blas = '$(blas_of reference)', expected reference BLAS"
echo "ok   reference BLAS: warned, recorded, run completed"

LD_LIBRARY_PATH="$lib/blas:$lib/lapack" "$bin" train "${args[@]}" --set run.progress=quiet --run-dir quiet >quiet.out 2>quiet.err \
  || { cat quiet.err; fail "quiet run"; }
[ ! -s quiet.err ] || { cat quiet.err; fail "run.progress = quiet still printed on stderr"; }
echo "blas warning checks passed"
