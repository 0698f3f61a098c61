#!/usr/bin/env bash
# Runs libFuzzer targets one after the other, each for SECONDS, and prints
# one line per target. Exits 1 if any target found something (crash, leak,
# timeout, out-of-memory, sanitizer report, broken invariant), naming the
# target and the input it saved; the rest still run.
#
#   fuzz/run.sh SECONDS BUILD_DIR NAME...     (`make fuzz` calls it)
#
# For each NAME: BUILD_DIR/bin/NAME_fuzz, seeded from fuzz/corpus/NAME/ into
# a working corpus BUILD_DIR/run/NAME/corpus/ (kept between runs, so that
# local runs build on each other; the repository is never written), with
# fuzz/NAME.dict and the flags in fuzz/NAME.options if they exist. Inputs
# that broke something go to BUILD_DIR/run/NAME/, the log to .../log.
set -u

if [ $# -lt 3 ]; then
  echo "usage: fuzz/run.sh SECONDS BUILD_DIR NAME..." >&2
  exit 2
fi
secs=$1
build=$2
shift 2

# One input running this long is a hang. Far above any seed's time, even
# on a loaded machine.
per_input_timeout=${FUZZ_INPUT_TIMEOUT:-25}

failed=()
for name in "$@"; do
  bin=$build/bin/${name}_fuzz
  work=$build/run/$name
  if [ ! -x "$bin" ]; then
    echo "  $name: no fuzz target $bin (make fuzz-build)"
    failed+=("$name")
    continue
  fi
  mkdir -p "$work/corpus"
  rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*
  if [ -d "fuzz/corpus/$name" ]; then
    cp fuzz/corpus/"$name"/* "$work/corpus/" 2>/dev/null
  fi
  args=(-max_total_time="$secs" -timeout="$per_input_timeout"
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/")
  [ -f "fuzz/$name.dict" ] && args+=(-dict="fuzz/$name.dict")
  if [ -f "fuzz/$name.options" ]; then
    read -r -a extra <"fuzz/$name.options"
    args+=("${extra[@]}")
  fi
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" "${args[@]}" "$work/corpus" >"$work/log" 2>&1
  rc=$?

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$work/log" | tail -n 1 | cut -d' ' -f2)
  units=$(find "$work/corpus" -type f | wc -l)
  found=$(find "$work" -maxdepth 1 -type f \
            \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
               -o -name 'oom-*' \) | head -n 1)
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    what=$(grep -m1 -E '==[0-9]+==ERROR|runtime error|invariant failed|ALARM|out-of-memory|deadly signal' \
             "$work/log")
    echo "FAIL $name: ${what:-libFuzzer exited $rc}"
    echo "     input: ${found:-none saved}   log: $work/log"
    echo "     replay: $bin ${found:-INPUT}"
    failed+=("$name")
    continue
  fi
  printf '  %-10s %10s execs (%s/s)  cov %s  ft %s  corpus %s  %ss, no finding\n' \
    "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units" "$secs"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "make fuzz: findings in ${failed[*]}"
  exit 1
fi
