#!/usr/bin/env bash
# metrics_check.sh — a live scrape of ./hazel -w 2 --admin-port passes
# `promtool check metrics` (Prometheus's own parser and linter), has every
# worker's series (request-duration histograms included), and its counters
# and histograms grow with traffic. Skipped (exit 77)
# where promtool is not installed (apt-get install prometheus).
set -u
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIP metrics: promtool is not installed (apt-get install prometheus)"
  exit 77
fi
tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "metrics: $*"; exit 1; }

./hazel -b 127.0.0.1 -p 0 -w 2 --admin-port 0 --log-level info >"$tmp/log" 2>&1 &
pid=$!
# Both workers log their ports once they serve.
for _ in $(seq 200); do
  [ "$(grep -c 'admin port' "$tmp/log")" -ge 2 ] && break
  kill -0 "$pid" 2>/dev/null || fail "./hazel exited: $(cat "$tmp/log")"
  sleep 0.05
done
port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/log" | head -1)
admin=$(sed -n 's/.* admin port 127\.0\.0\.1:\([0-9]*\):.*/\1/p' "$tmp/log" | head -1)
[ -n "$port" ] && [ -n "$admin" ] || fail "no ports in the log: $(cat "$tmp/log")"

# GET over bash's /dev/tcp: the body of the answer, or nothing.
get() {
  local path=$1
  exec 3<>"/dev/tcp/127.0.0.1/$admin" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
  local reply
  reply=$(timeout 10 cat <&3)
  exec 3<&-
  printf '%s\n' "$reply" | tr -d '\r' | sed '1,/^$/d'
}
value() {  # value of series $2 for worker $3 in scrape $1
  sed -n "s/^$2{worker=\"$3\"} \\([0-9]*\\)\$/\\1/p" "$1"
}

get /metrics >"$tmp/m1" || fail "cannot reach the admin port $admin"
for _ in $(seq 20); do tools/hazel-cli -p "$port" ping >/dev/null || fail "ping failed"; done
tools/hazel-cli -p "$port" kv set metrics-check yes >/dev/null || fail "kv set failed"
get /metrics >"$tmp/m2" || fail "cannot reach the admin port $admin"

if ! promtool check metrics <"$tmp/m2" >"$tmp/promtool" 2>&1; then
  cat "$tmp/promtool"
  fail "promtool check metrics failed on the scrape:"$'\n'"$(cat "$tmp/m2")"
fi
grep -qx 'hazel_workers 2' "$tmp/m2" || fail "no hazel_workers 2"
grep -qx 'hazel_workers_answered 2' "$tmp/m2" || fail "not every worker answered"
for w in 0 1; do
  [ -n "$(value "$tmp/m2" hazel_clients "$w")" ] || fail "no hazel_clients of worker $w"
done
sum() { echo $(( $(value "$1" hazel_frames_in_total 0) + $(value "$1" hazel_frames_in_total 1) )); }
before=$(sum "$tmp/m1")
after=$(sum "$tmp/m2")
[ "$after" -ge $((before + 21)) ] || fail "frames_in grew from $before to $after after 21 requests"
# sys requests counted by the histograms of both workers together, and
# every bucket series cumulative.
hist() {  # _count of service $2 of worker $3 in scrape $1
  sed -n "s/^hazel_request_duration_seconds_count{worker=\"$3\",service=\"$2\"} \([0-9]*\)\$/\1/p" "$1"
}
for w in 0 1; do
  [ -n "$(hist "$tmp/m2" sys "$w")" ] || fail "no request-duration histogram of sys for worker $w"
done
sys_before=$(( $(hist "$tmp/m1" sys 0) + $(hist "$tmp/m1" sys 1) ))
sys_after=$(( $(hist "$tmp/m2" sys 0) + $(hist "$tmp/m2" sys 1) ))
[ "$sys_after" -ge $((sys_before + 20)) ] ||
  fail "the sys histogram counted $sys_before then $sys_after requests after 20 pings"
bad=$(awk '/^hazel_request_duration_seconds_bucket/ {
             series = $1; sub(/,le="[^"]*"}/, "", series)
             if (series == last && $2 + 0 < prev) print
             last = series; prev = $2 + 0 }' "$tmp/m2")
[ -z "$bad" ] || fail "buckets not cumulative: $bad"
keys=$(( $(value "$tmp/m2" hazel_kv_keys 0) + $(value "$tmp/m2" hazel_kv_keys 1) ))
[ "$keys" -eq 1 ] || fail "hazel_kv_keys sums to $keys, not 1"
[ "$(get /healthz)" = "ok" ] || fail "/healthz is not ok"
echo "metrics: promtool check metrics passes; $(grep -c '^hazel_' "$tmp/m2") series from 2 workers; frames_in $before -> $after; sys requests timed $sys_before -> $sys_after"
