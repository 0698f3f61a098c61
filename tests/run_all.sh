#!/usr/bin/env bash
# Runs every test given and ends with one line "N passed, M failed" summed
# over all of them (", K skipped" follows when some were skipped).
#
#   tests/run_all.sh GTEST_BINARY... [-- SCRIPT...]
#
# Each gtest binary runs split in $HAZEL_TEST_SHARDS shards (default 2, by
# GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX), and every shard and script runs at
# the same time: most tests wait on sockets and timers, so running them side
# by side takes about as long as the longest shard. Reports are printed in
# the order given, each as soon as it and those before it are done.
#
# A gtest binary that crashes or exits non-zero without reporting a failure
# counts as one failed test. A script is one test: exit 0 passes, 77 is
# skipped (it says why), anything else fails; its output is printed.
set -u

bins=()
scripts=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    scripts=("$@")
    break
  fi
  bins+=("$1")
  shift
done

shards=${HAZEL_TEST_SHARDS:-2}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- start everything -------------------------------------------------------

for i in "${!bins[@]}"; do
  for ((s = 0; s < shards; s++)); do
    (
      export GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$s
      export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
      export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
      "${bins[$i]}" --gtest_color=no >"$tmp/b$i.$s.log" 2>&1
      echo $? >"$tmp/b$i.$s.rc"
    ) &
    pids+=($!)
  done
done
for i in "${!scripts[@]}"; do
  (
    bash "${scripts[$i]}" >"$tmp/s$i.log" 2>&1
    echo $? >"$tmp/s$i.rc"
  ) &
  pids+=($!)
done

# ---- report in order --------------------------------------------------------

passed=0
failed=0
skipped=0
next=0  # index into pids of the next job to wait for

wait_next() {
  wait "${pids[$next]}" 2>/dev/null
  next=$((next + 1))
}

counts() {  # "p passed, f failed[, k skipped]"
  local line="$1 passed, $2 failed"
  [ "$3" -gt 0 ] && line+=", $3 skipped"
  echo "$line"
}

for i in "${!bins[@]}"; do
  bin=${bins[$i]}
  echo "== $bin ($shards shards)"
  bp=0
  bf=0
  bs=0
  for ((s = 0; s < shards; s++)); do
    wait_next
    log=$tmp/b$i.$s.log
    rc=$(cat "$tmp/b$i.$s.rc" 2>/dev/null || echo 1)
    grep -E '^\[  (FAILED|PASSED|SKIPPED) |Failure|ERROR|runtime error|Sanitizer|Skipped' "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -1)
    k=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0}
    f=${f:-0}
    k=${k:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
      # Crashed (a sanitizer report aborts the run): count what finished, and
      # the test that was running as failed.
      p=$(grep -c '^\[       OK \]' "$log")
      echo "!! $bin shard $s exited with status $rc during: $(grep '^\[ RUN' "$log" | tail -1)"
      tail -20 "$log"
      f=1
    fi
    bp=$((bp + p))
    bf=$((bf + f))
    bs=$((bs + k))
  done
  echo "   $bin: $(counts "$bp" "$bf" "$bs")"
  passed=$((passed + bp))
  failed=$((failed + bf))
  skipped=$((skipped + bs))
done

for i in "${!scripts[@]}"; do
  script=${scripts[$i]}
  wait_next
  rc=$(cat "$tmp/s$i.rc" 2>/dev/null || echo 1)
  echo "== $script"
  sed 's/^/   /' "$tmp/s$i.log"
  case $rc in
    0) echo "   PASS $script"; passed=$((passed + 1)) ;;
    77) echo "   SKIP $script"; skipped=$((skipped + 1)) ;;
    *) echo "   FAIL $script (exit status $rc)"; failed=$((failed + 1)) ;;
  esac
done

counts "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
