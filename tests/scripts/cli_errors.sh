#!/usr/bin/env bash
# User errors through the real binary: one clear line on stderr, exit code 2, nothing written.
# Usage: cli_errors.sh NOSYNC_BINARY SOURCE_DIR
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
failures=0

# expect_error NAME "expected text" -- ARGS...: exit 2, one stderr line containing the text.
expect_error() {
  local name=$1 text=$2
  shift 3
  "$bin" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne 2 ]; then
    echo "FAIL $name: exit $rc, expected 2"; cat "$work/err"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$text" "$work/err"; then
    echo "FAIL $name: stderr lacks '$text':"; cat "$work/err"; failures=$((failures + 1)); return
  fi
  if [ "$(wc -l <"$work/err")" -ne 1 ]; then
    echo "FAIL $name: expected one line:"; cat "$work/err"; failures=$((failures + 1)); return
  fi
  if grep -q "terminate\|Exception raised\|frame #" "$work/err"; then
    echo "FAIL $name: looks like a crash"; failures=$((failures + 1)); return
  fi
  echo "ok   $name: $(cat "$work/err")"
}

printf '[train]\nlr = 0.1\nepochz = 3\n' >bad_key.toml
printf '[train]\nlr = "fast"\n' >bad_type.toml
printf '[train]\nlr = 0.1\n[model]\nwidth = -2.0\n' >bad_range.toml
printf '[train\nlr = 1\n' >bad_syntax.toml

expect_error "unknown flag" "--bogus" -- train --bogus
expect_error "no subcommand" "subcommand" --
expect_error "unknown key in file" "bad_key.toml:3:1: unknown key 'train.epochz'" -- train --config bad_key.toml --run-dir r1
expect_error "wrong type in file" "bad_type.toml:2:1: train.lr: expected a number, found a string" -- train --config bad_type.toml --run-dir r2
expect_error "out of range in file" "bad_range.toml:4:1: model.width: must be in" -- train --config bad_range.toml --run-dir r3
expect_error "toml syntax" "bad_syntax.toml:1:" -- train --config bad_syntax.toml --run-dir r4
expect_error "missing config file" "config" -- train --config nope.toml
expect_error "unknown --set key" "did you mean 'train.lr'" -- train --set train.lrr=1 --run-dir r5
expect_error "non-finite --set" "must be a finite number" -- train --set train.lr=nan --run-dir r6
expect_error "bad --set type" "expected an integer, found 'many'" -- train --set train.epochs=many --run-dir r7
expect_error "missing data dir" "data directory /nonexistent not found" -- train --set data.dir=/nonexistent --run-dir r8
expect_error "missing cifar dir" "/nonexistent" -- train --set data.format=cifar10 --set data.dir=/nonexistent --run-dir r9
expect_error "mpi without launcher" "comm.transport = mpi, but this process was not started by mpirun" -- train --set comm.transport=mpi --run-dir r10
expect_error "group without mpi" "swarm.group_size = 2 needs an MPI job" -- train --set swarm.group_size=2 --set data.format=synthetic --run-dir r11
expect_error "gpt heads" "model.embed: 128 is not a multiple of model.heads = 3" -- train --set model.name=gpt --set model.heads=3 --run-dir r12
expect_error "gpt on images" "model.name = gpt is a language model, but" -- train --set model.name=gpt --run-dir r13
expect_error "resume of nothing" "not a nosync run directory" -- train --resume "$work/none"
expect_error "eval of nothing" "$work/none" -- eval --checkpoint "$work/none"

for d in r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11 r12 r13 runs; do
  if [ -e "$d" ]; then echo "FAIL: $d was created by a failed command"; failures=$((failures + 1)); fi
done

"$bin" train --help >help.txt 2>&1 || { echo "FAIL: train --help exit $?"; failures=$((failures + 1)); }
for key in data.val_size model.name train.lr train.schedule checkpoint.keep run.progress; do
  grep -q "$key" help.txt || { echo "FAIL: train --help lacks $key"; failures=$((failures + 1)); }
done
# docs/config.md lists every key the binary knows.

for key in $(sed -n '/^Config keys/,$p' help.txt | awk 'NR > 1 {print $1}'); do
  grep -q "^  $key " "$src/docs/config.md" || { echo "FAIL: docs/config.md lacks $key"; failures=$((failures + 1)); }
done
"$bin" eval --help | grep -q -- "--checkpoint" || { echo "FAIL: eval --help lacks --checkpoint"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] && echo "all CLI error cases behaved" || echo "$failures failure(s)"
exit $((failures > 0))
