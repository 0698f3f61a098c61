#!/usr/bin/env bash
# Runs each gtest binary given (release, then ASan+UBSan) and ends with one
# line "N passed, M failed" summed over all runs. A binary that crashes or
# exits non-zero without reporting a failure counts as one failed test.
set -u
passed=0
failed=0
for bin in "$@"; do
  echo "== $bin"
  log=$(mktemp)
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" --gtest_color=no 2>&1 | tee "$log" | grep -E '^\[  (FAILED|PASSED) |^\[ +OK|^\[ RUN|Failure|ERROR|runtime error|Sanitizer' \
    | grep -vE '^\[ RUN|^\[ +OK' || true
  rc=${PIPESTATUS[0]}
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -1)
  p=${p:-0}
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    # Crashed (a sanitizer report aborts the run): count what finished, and
    # the test that was running as failed.
    p=$(grep -c '^\[       OK \]' "$log" || true)
    echo "!! $bin exited with status $rc during: $(grep '^\[ RUN' "$log" | tail -1)"
    f=1
  fi
  echo "   $bin: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
