#!/usr/bin/env bash
# bench/run.sh — hazel against Redis and a raw epoll echo server on this
# machine, all driven by the same load generator (tools/hazel-bench).
#
#   bash bench/run.sh [--quick]     (what `make bench` / `make bench-quick` run)
#
# Each scenario runs against each server in turn, round after round
# (A B C, A B C, ...), so drift in the machine (heat, noisy neighbours) hits
# every server alike; the table shows the median of the rounds.
#
# BENCH_PIN chooses where processes run: `same` (default) puts the server and
# the generator on CPU 0, `split` the server on CPU 0 and the generator on
# CPU 1, `none` leaves it to the scheduler. `same` is the default because on
# virtual machines a wakeup across vCPUs can cost milliseconds (measured on a
# 2-vCPU VM: ping 1x1 at 8k/s split against 170k/s same), which would compare
# hypervisors, not servers; and unpinned placement changes from run to run.
# Sharing one core also makes "per core" literal: server plus its load.
#
# Next to each rate it reports efficiency: operations per second of server
# CPU time, from the kernel's CPU clocks of the server process and all its
# descendants, read by hazel-bench right before and after the timed window
# (--server-pid). With the generator on the same cores, the rate says as much
# about the generator as about the server; the efficiency does not.
#
# A third table compares hazel with token authentication on
# (--auth-secret-file; each connection sends AUTH once, before the timed
# window) against the same hazel without, scenario by scenario: the cost of
# the permission check on every request.
#
# A WebSocket table runs the same hazel over its --ws-port (hazel-bench --ws:
# the upgrade, then every frame one masked binary message) against its TCP
# port, scenario by scenario in the same round: what the transport costs.
#
# When ./hazel has worker processes (--workers in its --help), a second table
# compares -w 2 with -w 1 (and with Redis) in efficiency. Those servers and
# their generator are not pinned: two workers need both CPUs.
#
# Everything it starts is stopped on exit, Ctrl-C included. The report goes to
# stdout and build/bench-last.txt; progress and diagnostics go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: bash bench/run.sh [--quick]" >&2; exit 2 ;;
esac

# Budget on a 2-core machine: about 100 s by default, about 20 s with --quick
# (about twice that with the worker scenarios).
if (( quick )); then
  rounds=1 secs=0.5 warmup=0.2 idle_secs=1
else
  rounds=3 secs=1.5 warmup=0.3 idle_secs=2
fi
idle_conns=10000

bench=tools/hazel-bench
logdir=build/bench-logs
report=build/bench-last.txt
for bin in ./hazel "$bench" bench/raw_echo; do
  [[ -x $bin ]] || { echo "run.sh: $bin is missing: run make first" >&2; exit 1; }
done
mkdir -p "$logdir"
: >"$logdir/idle.pids"

# 10,000 idle connections need that many descriptors on each side.
hard=$(ulimit -Hn)
[[ $hard == unlimited ]] && hard=1048576
ulimit -n $(( hard < 65536 ? hard : 65536 ))
if (( $(ulimit -n) < idle_conns + 100 )); then
  idle_conns=$(( $(ulimit -n) - 100 ))
  echo "run.sh: ulimit -n is $(ulimit -n); the idle scenario uses $idle_conns" >&2
fi

server_cpu=() client_cpu=() pinning="not pinned"
pin=${BENCH_PIN:-same}
command -v taskset >/dev/null || pin=none
case $pin in
  same) server_cpu=(taskset -c 0) client_cpu=(taskset -c 0)
        pinning="server and generator share CPU 0" ;;
  split) if (( $(nproc) >= 2 )); then
           server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
           pinning="server on CPU 0, generator on CPU 1"
         fi ;;
  none) ;;
  *) echo "run.sh: BENCH_PIN must be same, split or none" >&2; exit 2 ;;
esac

# ---- processes -----------------------------------------------------------------

started=()  # every pid this script started; cleanup stops them all
cleanup() {
  local p
  # Idle generators start inside $(...) subshells and are listed in a file.
  if [[ -f ${logdir}/idle.pids ]]; then
    while read -r p; do started+=("$p"); done <"$logdir/idle.pids"
  fi
  for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${started[@]}"; do
    for _ in {1..30}; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

# A port that no socket on this machine uses, judged from the kernel's tables.
free_port() {
  local p
  for _ in {1..200}; do
    p=$(( 20000 + RANDOM % 20000 ))
    if ! grep -qi "$(printf ':%04X ' "$p")" /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "run.sh: found no free port" >&2
  exit 1
}

declare -A PID PORT
launch=("${server_cpu[@]}")  # how start_server places a server
start_server() {  # name command... (@PORT@ in the command becomes the port)
  local name=$1
  shift
  PORT[$name]=$(free_port)
  local cmd=("${@//@PORT@/${PORT[$name]}}")
  "${launch[@]}" "${cmd[@]}" >"$logdir/$name.log" 2>&1 &
  PID[$name]=$!
  started+=("$!")
  for _ in {1..50}; do
    if ! kill -0 "${PID[$name]}" 2>/dev/null; then
      echo "run.sh: $name exited at start; see $logdir/$name.log" >&2
      exit 1
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$name]}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: $name does not listen on port ${PORT[$name]}" >&2
  exit 1
}

servers=(hazel redis raw)
# What this ./hazel offers. Read once into a variable: `./hazel --help |
# grep -q` would make the pipeline fail (pipefail) whenever grep quits
# before the whole text is written.
hazel_help=$(./hazel --help 2>&1)
hazel_flags=(-p @PORT@ -b 127.0.0.1 --log-level warn --max-clients 20000 --idle-timeout 0)
redis_flags=(--save '' --appendonly no --port @PORT@ --bind 127.0.0.1
             --maxclients 20000 --loglevel warning)
# The WebSocket port of the same hazel, when it has one (--ws-port).
ws_port=""
if grep -q -- '--ws-port' <<<"$hazel_help"; then
  ws_port=$(free_port)
  start_server hazel ./hazel "${hazel_flags[@]}" --ws-port "$ws_port"
  PORT[ws]=$ws_port PID[ws]=${PID[hazel]}
else
  start_server hazel ./hazel "${hazel_flags[@]}"
  echo "WebSocket scenarios skipped: ./hazel has no --ws-port" >&2
fi
start_server raw bench/raw_echo -p @PORT@ -b 127.0.0.1
have_redis=0
if command -v redis-server >/dev/null; then
  have_redis=1
  start_server redis redis-server "${redis_flags[@]}"
else
  echo "redis-server not found: install it with apt-get install -y redis-server" >&2
fi
have() { [[ -n ${PORT[$1]:-} ]]; }

# The same hazel with tokens required, and a token that allows what the
# scenarios do (kv bench:*, room bench).
token=""
if grep -q -- '--auth-secret-file' <<<"$hazel_help"; then
  (umask 077 && head -c 48 /dev/urandom | base64 >"$logdir/secret")
  start_server auth ./hazel "${hazel_flags[@]}" --auth-secret-file "$logdir/secret"
  token=$(tools/hazel-cli token --secret-file "$logdir/secret" --sub bench \
            --rooms bench --kv bench: --ttl 86400)
fi

# Worker processes: hazel --workers 1 and 2 (-w), and a Redis placed like them.
workers_skipped=""
if grep -q -- '--workers' <<<"$hazel_help"; then
  launch=()
  start_server w1 ./hazel --workers 1 "${hazel_flags[@]}"
  start_server w2 ./hazel --workers 2 "${hazel_flags[@]}"
  (( have_redis )) && start_server wredis redis-server "${redis_flags[@]}"
  # Two nodes of a cluster (--cluster: each worker is a node) joined
  # through that Redis: what crosses between them goes through Redis.
  if (( have_redis )) && grep -q -- '--cluster' <<<"$hazel_help"; then
    start_server c2 ./hazel --workers 2 --cluster "redis://127.0.0.1:${PORT[wredis]}" \
      --cluster-prefix bench "${hazel_flags[@]}"
  fi
  launch=("${server_cpu[@]}")
else
  workers_skipped="skipped: ./hazel has no --workers"
  echo "worker scenarios $workers_skipped" >&2
fi

# ---- measuring -----------------------------------------------------------------

# Runs happen inside $(...) subshells, so failures are collected in a file.
failfile="$logdir/failures.txt"
: >"$failfile"

json_field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" <<<"$1"; }
# "26/24" from "per_worker": [26, 24]; "-" without it.
json_per_worker() {
  local v
  v=$(sed -n 's/.*"per_worker": \[\([0-9, ]*\)\].*/\1/p' <<<"$1" | sed 's/, */\//g')
  echo "${v:--}"
}

gen=("${client_cpu[@]}")  # how measure places the generator

# Runs hazel-bench once, measuring the server's CPU time too; prints
# "rate p99_us ops-per-server-CPU-second per-worker", or records why it failed.
measure() {  # server mode connections depth [more hazel-bench flags]
  local server=$1 mode=$2 c=$3 d=$4 json rc=0 err="$logdir/last-bench.err"
  shift 4
  json=$("${gen[@]}" "$bench" -p "${PORT[$server]}" -m "$mode" -c "$c" -d "$d" \
           -t "$secs" --warmup "$warmup" --server-pid "${PID[$server]}" "$@" \
           -q --json 2>"$err") || rc=$?
  if (( rc == 0 )); then
    echo "$(json_field "$json" rate) $(json_field "$json" p99_us)" \
         "$(json_field "$json" per_cpu_s) $(json_per_worker "$json")"
  else
    echo "$server $mode ${c}x$d $*: $(grep -m1 . "$err" || echo "exit status $rc")" >>"$failfile"
  fi
}

vmrss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Opens idle_conns connections (one ping each), reads the server's RSS while
# they are held, and prints "bytes-per-connection rss-before-kB rss-after-kB".
idle_rss() {  # server mode
  local server=$1 mode=$2 before after bpid rc=0 err="$logdir/idle-$server.err"
  before=$(vmrss_kb "${PID[$server]}")
  "${client_cpu[@]}" "$bench" -p "${PORT[$server]}" -m "$mode" -c "$idle_conns" \
    -t "$idle_secs" --json >/dev/null 2>"$err" &
  bpid=$!
  echo "$bpid" >>"$logdir/idle.pids"
  for _ in {1..300}; do  # "holding" means every connection answered its ping
    grep -q '^holding' "$err" 2>/dev/null && break
    kill -0 "$bpid" 2>/dev/null || break
    sleep 0.1
  done
  sleep 0.2
  after=$(vmrss_kb "${PID[$server]}")
  wait "$bpid" || rc=$?
  if (( rc != 0 )); then
    echo "$server $mode $idle_conns idle: $(grep -m1 -v '^holding' "$err" || echo "exit status $rc")" >>"$failfile"
    return
  fi
  echo "$(( (after - before) * 1024 / idle_conns )) $before $after"
}

median() {
  tr ' ' '\n' <<<"$1" | { grep . || true; } | sort -g |
    awk '{ v[NR] = $1 }
         END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# key | label | hazel: mode connections depth | redis: ... | raw: ...   (- = skip)
scenarios=(
  "ping-1x1|ping, 1 conn x depth 1|ping 1 1|resp-ping 1 1|raw 1 1"
  "ping-50x1|ping, 50 x 1|ping 50 1|resp-ping 50 1|raw 50 1"
  "ping-50x16|ping, 50 x 16|ping 50 16|resp-ping 50 16|raw 50 16"
  "get-50x16|kv GET, 50 x 16|kv-get 50 16|resp-get 50 16|-"
  "set-50x16|kv SET, 50 x 16|kv-set 50 16|resp-set 50 16|-"
  "pub-50x16|publish to 50 members, depth 16 (deliveries/s)|publish 50 16|resp-publish 50 16|-"
  "echo-32|echo 32 B, 50 x 16|echo 50 16 -s 32|resp-echo 50 16 -s 32|raw 50 16 -s 32"
  "echo-1k|echo 1 KiB, 50 x 16|echo 50 16 -s 1024|resp-echo 50 16 -s 1024|raw 50 16 -s 1024"
  "echo-16k|echo 16 KiB, 50 x 4|echo 50 4 -s 16384|resp-echo 50 4 -s 16384|raw 50 4 -s 16384"
  "echo-64k|echo 64 KiB, 50 x 4|echo 50 4 -s 65536|resp-echo 50 4 -s 65536|raw 50 4 -s 65536"
)

# WebSocket against TCP, same server: key | label | mode connections depth [flags]
wsscenarios=(
  "ws-echo-16|echo 16 B, 50 x 16|echo 50 16"
  "ws-echo-1k|echo 1 KiB, 50 x 16|echo 50 16 -s 1024"
  "ws-pub|publish to 50 members, depth 16 (deliveries/s)|publish 50 16"
)

# Worker scenarios: key | label | server mode connections depth [flags]
# (run only when ./hazel has --workers; compared in the second table).
wscenarios=(
  "ping-w1|ping 50x16 at -w 1|w1 ping 50 16"
  "ping-w2|ping 50x16 at -w 2|w2 ping 50 16"
  "tell-local|TELL 50x16 to a client on the same worker|w2 tell 50 16 --peer local"
  "tell-remote|TELL 50x16 to a client on the other worker|w2 tell 50 16 --peer remote"
  "get-w1|kv GET 50x16, 1000 keys, -w 1|w1 kv-get 50 16 --keys 1000"
  "get-w2|kv GET 50x16, 1000 keys, -w 2|w2 kv-get 50 16 --keys 1000"
  "get-redis|kv GET 50x16, 1000 keys, Redis|wredis resp-get 50 16 --keys 1000"
  "set-w1|kv SET 50x16, 1000 keys, -w 1|w1 kv-set 50 16 --keys 1000"
  "set-w2|kv SET 50x16, 1000 keys, -w 2|w2 kv-set 50 16 --keys 1000"
  "set-redis|kv SET 50x16, 1000 keys, Redis|wredis resp-set 50 16 --keys 1000"
  "pub-w1|publish to 50 members at -w 1|w1 publish 50 16"
  "pub-w2|publish to 50 members at -w 2|w2 publish 50 16"
  "tell-cluster|TELL 50x16 to a client on the other node, through Redis|c2 tell 50 16 --peer remote"
  "pub-cluster|publish to 50 members on 2 nodes, through Redis|c2 publish 50 16"
  "pub-redis|Redis PUBLISH to 50 subscribers|wredis resp-publish 50 16"
)

declare -A RATES P99S EFFS WORKERS IDLE
started_at=$SECONDS

# Idle first, on fresh servers, so the RSS growth is not hidden by memory that
# earlier scenarios left behind in the allocator.
for server in hazel redis; do
  have "$server" || continue
  mode=idle
  [[ $server == redis ]] && mode=resp-idle
  echo "  idle        $server  $idle_conns connections" >&2
  IDLE[$server]=$(idle_rss "$server" "$mode")
done

# Measures one run and files its figures under RATES[key/column] (and
# P99S, EFFS); a failed run is in the failures file.
take() {  # key column server mode connections depth [flags]
  local key=$1 column=$2 result rate p99 eff
  shift 2
  result=$(measure "$@")
  printf '  [%d/%d] %-11s %-6s %s\n' "$round" "$rounds" "$key" "$column" \
    "${result:-FAILED}" >&2
  [[ -n $result ]] || return 0
  read -r rate p99 eff _ <<<"$result"
  RATES[$key/$column]+=" $rate"
  P99S[$key/$column]+=" $p99"
  EFFS[$key/$column]+=" $eff"
}

for (( round = 1; round <= rounds; round++ )); do
  for sc in "${scenarios[@]}"; do
    IFS='|' read -r key _ spec_hazel spec_redis spec_raw <<<"$sc"
    for server in "${servers[@]}"; do
      spec_var="spec_$server"
      spec=${!spec_var}
      [[ $spec == - ]] && continue
      have "$server" || continue
      # shellcheck disable=SC2086  # spec is "mode connections depth"
      take "$key" "$server" "$server" $spec
    done
    if have auth && [[ $spec_hazel != - ]]; then
      # shellcheck disable=SC2086  # spec is "mode connections depth"
      take "$key" auth auth $spec_hazel --token "$token"
    fi
  done
  if have ws; then
    # Each scenario over TCP then over WebSocket, back to back.
    for sc in "${wsscenarios[@]}"; do
      IFS='|' read -r key _ spec <<<"$sc"
      # shellcheck disable=SC2086  # spec is "mode connections depth flags"
      take "$key" tcp hazel $spec
      # shellcheck disable=SC2086
      take "$key" ws ws $spec --ws
    done
  fi
  [[ -z $workers_skipped ]] || continue
  gen=()
  for sc in "${wscenarios[@]}"; do
    IFS='|' read -r key _ spec <<<"$sc"
    read -r server _ <<<"$spec"
    have "$server" || continue
    # shellcheck disable=SC2086  # spec is "server mode connections depth flags"
    result=$(measure $spec)
    if [[ -z $result ]]; then
      printf '  [%d/%d] %-11s %-6s FAILED\n' "$round" "$rounds" "$key" "$server" >&2
      continue
    fi
    read -r rate p99 eff per_worker <<<"$result"
    printf '  [%d/%d] %-11s %-6s %s %s, %s per CPU-s, by worker %s\n' "$round" \
      "$rounds" "$key" "$server" "$rate" "$p99" "$eff" "$per_worker" >&2
    RATES[$key]+=" $rate"
    EFFS[$key]+=" $eff"
    WORKERS[$key]=$per_worker
  done
  gen=("${client_cpu[@]}")
done

# ---- slow loris -----------------------------------------------------------------

# A fresh hazel with its default memory budgets under loris_conns connections
# that each announce a max_frame body and trickle it (hazel-bench -m loris),
# while one honest connection does echo round trips; the server's RSS is read
# every 100 ms. Not pinned: the attack, the honest client and the server need
# the CPUs between them.
loris_conns=1000 loris_secs=$(( quick ? 4 : 10 ))
(( $(ulimit -n) >= loris_conns + 100 )) || loris_conns=$(( $(ulimit -n) - 100 ))
launch=()
start_server loris ./hazel -p @PORT@ -b 127.0.0.1 --log-level warn --max-clients 20000
launch=("${server_cpu[@]}")
loris_budget=$(./hazel --help | sed -n 's/.*most gets GOODBYE LIMIT (default \([0-9]*\)).*/\1/p')
echo "  loris       hazel  $loris_conns connections x 1 MiB, ${loris_secs} s" >&2
"$bench" -p "${PORT[loris]}" -m loris -c "$loris_conns" -s 1048576 \
  -t "$loris_secs" --warmup 0 --json >"$logdir/loris.json" 2>"$logdir/loris.err" &
loris_pid=$!
started+=("$loris_pid")
sleep 1
honest=$("$bench" -p "${PORT[loris]}" -m echo -c 1 -d 1 -t $(( loris_secs - 2 )) \
           --warmup 0.2 -q --json 2>>"$logdir/loris.err" &
         hpid=$!
         peak=0
         while kill -0 "$hpid" 2>/dev/null; do
           r=$(vmrss_kb "${PID[loris]}")
           (( r > peak )) && peak=$r
           sleep 0.1
         done
         wait "$hpid" >/dev/null; echo "peak_kb=$peak")
wait "$loris_pid" || echo "loris: hazel-bench failed, see $logdir/loris.err" >>"$failfile"
loris_json=$(cat "$logdir/loris.json" 2>/dev/null || true)
honest_json=$(sed -n '/^{/p' <<<"$honest")
loris_peak_kb=$(sed -n 's/^peak_kb=//p' <<<"$honest")
[[ -n $honest_json ]] || echo "loris: the honest client failed, see $logdir/loris.err" >>"$failfile"

# ---- report --------------------------------------------------------------------

fmt_count() {
  awk -v v="$1" 'BEGIN {
    if (v == "") print "-";
    else if (v >= 1e6) printf "%.2fM\n", v / 1e6;
    else if (v >= 1e3) printf "%.1fk\n", v / 1e3;
    else printf "%.0f\n", v }'
}
fmt_rate() {
  local c
  c=$(fmt_count "$1")
  if [[ $c == - ]]; then echo -; else echo "$c/s"; fi
}
# Server CPU per operation, from operations per CPU-second.
fmt_cpu_per_op() {
  awk -v v="$1" 'BEGIN { if (v == "" || v == 0) print "-"; else printf "%.2f us\n", 1e6 / v }'
}
fmt_us() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.0f us\n", v }'; }
fmt_mib() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.1f MiB\n", v / 1048576 }'; }
fmt_kib() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.1f KiB\n", v / 1024 }'; }
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f\n", a / b }'
}

# A table comparing b with a, a row per scenario: rates, b/a, efficiencies,
# b/a, p99s; figures filed under the columns a_col and b_col.
pair_table() {  # a b a_col b_col scenario...
  local a=$1 b=$2 ca=$3 cb=$4 sc key label ra rb ea eb
  shift 4
  echo "| scenario | $a | $b | $b/$a | $a per CPU-s | $b per CPU-s | $b/$a | p99 $a | p99 $b |"
  echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
  for sc in "$@"; do
    IFS='|' read -r key label _ <<<"$sc"
    ra=$(median "${RATES[$key/$ca]:-}") rb=$(median "${RATES[$key/$cb]:-}")
    ea=$(median "${EFFS[$key/$ca]:-}") eb=$(median "${EFFS[$key/$cb]:-}")
    echo "| $label | $(fmt_rate "$ra") | $(fmt_rate "$rb") | $(ratio "$rb" "$ra")" \
         "| $(fmt_count "$ea") | $(fmt_count "$eb") | $(ratio "$eb" "$ea")" \
         "| $(fmt_us "$(median "${P99S[$key/$ca]:-}")")" \
         "| $(fmt_us "$(median "${P99S[$key/$cb]:-}")") |"
  done
  echo
}

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
redis_version="no redis"
if have redis; then
  redis_version=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/redis \1/p')
fi

{
  echo "# hazel bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) CPUs (${cpu_model:-unknown}), Linux $(uname -r); $pinning"
  echo "- servers: $(./hazel --version), $redis_version, bench/raw_echo"
  echo "- method: closed loop, 16-byte payloads unless the row says, every reply checked;" \
       "median of $rounds round(s) of $secs s after $warmup s warmup, servers interleaved"
  echo
  echo "| scenario | hazel | per CPU-s | redis | per CPU-s | raw | per CPU-s | hazel/redis | hazel/raw | p99 hazel | p99 redis | p99 raw |"
  echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  for sc in "${scenarios[@]}"; do
    IFS='|' read -r key label _ <<<"$sc"
    declare -A rate=() p99=() eff=()
    for server in "${servers[@]}"; do
      rate[$server]=$(median "${RATES[$key/$server]:-}")
      p99[$server]=$(median "${P99S[$key/$server]:-}")
      eff[$server]=$(median "${EFFS[$key/$server]:-}")
    done
    echo "| $label | $(fmt_rate "${rate[hazel]}") | $(fmt_count "${eff[hazel]}")" \
         "| $(fmt_rate "${rate[redis]}") | $(fmt_count "${eff[redis]}")" \
         "| $(fmt_rate "${rate[raw]}") | $(fmt_count "${eff[raw]}")" \
         "| $(ratio "${rate[hazel]}" "${rate[redis]}")" \
         "| $(ratio "${rate[hazel]}" "${rate[raw]}") | $(fmt_us "${p99[hazel]}")" \
         "| $(fmt_us "${p99[redis]}") | $(fmt_us "${p99[raw]}") |"
  done
  read -r idle_hazel hazel_before hazel_after <<<"${IDLE[hazel]:-}" || true
  read -r idle_redis redis_before redis_after <<<"${IDLE[redis]:-}" || true
  echo "| $idle_conns idle connections: RSS per connection | $(fmt_kib "${idle_hazel:-}")" \
       "| - | $(fmt_kib "${idle_redis:-}") | - | - | - | $(ratio "${idle_hazel:-}" "${idle_redis:-}")" \
       "| - | - | - | - |"
  echo
  echo "Rates are requests/s (deliveries/s for publish); a rate ratio above 1 means"
  echo "hazel is faster, an RSS ratio below 1 that it uses less memory per connection."
  echo "\"per CPU-s\" is efficiency: the same operations per second of the server's own"
  echo "CPU time (its process and all descendants, over the timed window)."
  echo "VmRSS before -> while holding the idle connections:" \
       "hazel ${hazel_before:--} -> ${hazel_after:--} kB," \
       "redis ${redis_before:--} -> ${redis_after:--} kB."
  echo
  if have auth; then
    echo "Token authentication (--auth-secret-file, one AUTH per connection before"
    echo "the timed window) against none, same binary, same placement:"
    echo
    pair_table off on hazel auth "${scenarios[@]}"
  fi
  if have ws; then
    echo "WebSocket (--ws-port, every frame one binary message) against TCP, the"
    echo "same hazel, each pair run back to back in every round (target: echo at"
    echo "50 x 16 over WebSocket at least 0.8 x TCP):"
    echo
    pair_table tcp ws tcp ws "${wsscenarios[@]}"
  fi
  if [[ -n $workers_skipped ]]; then
    echo "Worker scenarios: $workers_skipped."
  else
    declare -A wrate=() weff=()
    for sc in "${wscenarios[@]}"; do
      IFS='|' read -r key _ <<<"$sc"
      wrate[$key]=$(median "${RATES[$key]:-}")
      weff[$key]=$(median "${EFFS[$key]:-}")
    done
    # a b: two scenario keys; the ratio is of operations per server CPU-second.
    wrow() {  # label a b
      echo "| $1 | $(fmt_count "${weff[$2]}") | $(fmt_count "${weff[$3]}")" \
           "| $(ratio "${weff[$2]}" "${weff[$3]}") | $(fmt_rate "${wrate[$2]}")" \
           "| $(fmt_rate "${wrate[$3]}") |"
    }
    echo "Worker processes (not pinned), per server CPU-second:"
    echo
    echo "| comparison, a / b | a per CPU-s | b per CPU-s | a/b | rate a | rate b |"
    echo "|---|--:|--:|--:|--:|--:|"
    wrow "ping 50x16: -w 2 / -w 1" ping-w2 ping-w1
    echo "| TELL 50x16, server CPU per op: remote / local worker" \
         "| $(fmt_cpu_per_op "${weff[tell-remote]}") | $(fmt_cpu_per_op "${weff[tell-local]}")" \
         "| $(ratio "${weff[tell-local]}" "${weff[tell-remote]}") | $(fmt_rate "${wrate[tell-remote]}")" \
         "| $(fmt_rate "${wrate[tell-local]}") |"
    wrow "kv GET 50x16, 1000 keys: -w 2 / -w 1" get-w2 get-w1
    wrow "kv GET 50x16, 1000 keys: -w 2 / Redis" get-w2 get-redis
    wrow "kv SET 50x16, 1000 keys: -w 2 / -w 1" set-w2 set-w1
    wrow "kv SET 50x16, 1000 keys: -w 2 / Redis" set-w2 set-redis
    wrow "fan-out to 50 members, deliveries: -w 2 / -w 1" pub-w2 pub-w1
    if have c2; then
      wrow "TELL 50x16 to another node: cluster / -w 2 bus" tell-cluster tell-remote
      wrow "fan-out to 50 members on 2 nodes: cluster / -w 2 bus" pub-cluster pub-w2
      echo "| fan-out deliveries/s: cluster / Redis PUBLISH driven directly" \
           "| - | - | $(ratio "${wrate[pub-cluster]}" "${wrate[pub-redis]}")" \
           "| $(fmt_rate "${wrate[pub-cluster]}") | $(fmt_rate "${wrate[pub-redis]}") |"
    fi
    echo
    echo "A ratio above 1 means a does more per CPU-second than b (for TELL: a costs"
    echo "more server CPU per op). Members per worker in the -w 2 fan-out:" \
         "${WORKERS[pub-w2]:--}; TELL connections per worker:" \
         "${WORKERS[tell-local]:--}."
  fi
  echo
  echo "Slow loris: $loris_conns connections each announcing a 1048576-byte frame and"
  echo "trickling it (a hundredth every 100 ms, never the last byte), reopened when"
  echo "closed, for $loris_secs s against hazel with its default budgets"
  echo "(--max-input-memory $loris_budget); meanwhile one honest connection echoes"
  echo "16 bytes, depth 1:"
  echo
  echo "| peak hazel RSS | budget + 64 MiB | honest echo rate | honest p50 | honest p99 | attack closed (GOODBYE LIMIT) |"
  echo "|--:|--:|--:|--:|--:|--:|"
  echo "| $(fmt_mib "$(( ${loris_peak_kb:-0} * 1024 ))") | $(fmt_mib "$(( ${loris_budget:-0} + 67108864 ))")" \
       "| $(fmt_rate "$(json_field "$honest_json" rate)") | $(fmt_us "$(json_field "$honest_json" p50_us)")" \
       "| $(fmt_us "$(json_field "$honest_json" p99_us)") | $(json_field "$loris_json" goodbye_limit) |"
  if [[ -s $failfile ]]; then
    echo
    echo "Failed runs (no figure in the table):"
    sed 's/^/- /' "$failfile"
  fi
} | tee "$report"

echo "report written to $report in $(( SECONDS - started_at )) s" >&2
[[ ! -s $failfile ]]
