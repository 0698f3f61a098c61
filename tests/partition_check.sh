#!/usr/bin/env bash
# partition_check.sh — a network partition between two hazel nodes on this
# machine. Node A runs in a network namespace of its own, joined to the host
# by a veth pair; Redis and node B run on the host. `ip link set down` on
# the host's end cuts A off from Redis (its clients, inside its namespace,
# still reach it), and `up` heals the link:
#   - while cut, B counts one node and A's member out of the room; A sees
#     Redis gone: kv answers UNAVAILABLE, its own room still works;
#   - healed, A registers again under the same node number by itself and
#     traffic crosses again; each change is logged once.
# Needs root (ip netns, veth): skipped (exit 77) where that is not allowed,
# or where redis-server is not installed.
set -u
cd "$(dirname "$0")/.."
skip() { echo "SKIP partition: $*"; exit 77; }
fail() { echo "partition: $*"; for f in "$tmp"/*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
[ -x /usr/bin/redis-server ] || skip "redis-server is not installed (apt-get install redis-server)"
for bin in ./hazel tools/hazel-cli; do [ -x "$bin" ] || { echo "partition: $bin missing: run make"; exit 1; }; done

tmp=$(mktemp -d)
ns=hzpart$$
host_if=hzh$$
ns_if=hzn$$
net=10.213.$(( $$ % 200 + 20 ))
pids=()
cleanup() {
  exec 2>/dev/null  # no "Killed" notices for what is stopped here
  for p in "${pids[@]}"; do kill -9 "$p"; done
  wait
  ip link del "$host_if" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$ns" 2>"$tmp/ns.err" || skip "ip netns add refused: $(cat "$tmp/ns.err")"
ip link add "$host_if" type veth peer name "$ns_if" 2>"$tmp/ns.err" ||
  skip "no veth: $(cat "$tmp/ns.err")"
ip netns exec "$ns" true 2>"$tmp/ns.err" || skip "ip netns exec refused: $(cat "$tmp/ns.err")"
ip link set "$ns_if" netns "$ns"
ip addr add "$net.1/24" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$net.2/24" dev "$ns_if"
ip netns exec "$ns" ip link set "$ns_if" up
ip netns exec "$ns" ip link set lo up

# Redis on the host, reachable from the namespace through the veth.
rport=""
for _ in 1 2 3 4 5; do
  p=$(( 20000 + RANDOM % 20000 ))
  redis-server --port "$p" --bind "$net.1 127.0.0.1" --protected-mode no --save '' --appendonly no \
    --loglevel warning >"$tmp/redis.log" 2>&1 &
  rpid=$!
  sleep 0.3
  if kill -0 "$rpid" 2>/dev/null; then rport=$p; pids+=("$rpid"); break; fi
done
[ -n "$rport" ] || fail "redis-server did not start"

# Short heartbeats and command deadlines keep the test short; the waits
# below are generous.
flags=(--cluster-heartbeat-ms 200 --cluster-timeout 1000 -b 127.0.0.1 -p 0 --log-level info)
./hazel --cluster "redis://127.0.0.1:$rport" "${flags[@]}" >"$tmp/b.log" 2>&1 &
pids+=($!)
ip netns exec "$ns" ./hazel --cluster "redis://$net.1:$rport" "${flags[@]}" >"$tmp/a.log" 2>&1 &
pids+=($!)
port_of() {  # log file -> the port it listens on, once it does
  for _ in $(seq 400); do
    p=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$1" | head -1)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.05
  done
  return 1
}
pa=$(port_of "$tmp/a.log") || fail "node A did not start"
pb=$(port_of "$tmp/b.log") || fail "node B did not start"
cli_a() { ip netns exec "$ns" tools/hazel-cli -p "$pa" "$@"; }
cli_b() { tools/hazel-cli -p "$pb" "$@"; }
info() { "$1" info 2>/dev/null | sed -n "s/^$2 //p"; }
eventually() {  # seconds command...: true once the command succeeds
  local until=$(( SECONDS + $1 ))
  shift
  while (( SECONDS < until )); do "$@" && return 0; sleep 0.1; done
  "$@"
}
nodes_are() { [ "$(info "$1" nodes)" = "$2" ]; }
node_of_a() { cli_a hello | sed -n 's/^node=//p'; }

eventually 20 nodes_are cli_a 2 || fail "A does not see B"
eventually 20 nodes_are cli_b 2 || fail "B does not see A"
number=$(node_of_a)
[ -n "$number" ] || fail "A's HELLO has no node="

# A member on A, listening; B publishes to it across the link.
cli_a room join lobby >"$tmp/member.out" 2>"$tmp/member.err" &
pids+=($!)
eventually 10 grep -q "joined lobby" "$tmp/member.out" || fail "the member did not join"
delivered() { "$1" room publish lobby "$2" | sed -n 's/^delivered to //p'; }
eventually 10 test "$(delivered cli_b before)" = 1 || fail "B's PUBLISH did not count A's member"
eventually 10 grep -q "before" "$tmp/member.out" || fail "A's member did not get B's message"

# ---- the cut -------------------------------------------------------------------
ip link set "$host_if" down
eventually 20 nodes_are cli_b 1 || fail "B still counts A after the cut"
eventually 10 test "$(delivered cli_b unseen)" = 0 || fail "B still counts A's member"
kv_unavailable() { cli_a kv get k 2>&1 | grep -q UNAVAILABLE; }
eventually 20 kv_unavailable || fail "A's kv does not answer UNAVAILABLE while cut off"
[ "$(delivered cli_a local)" = 1 ] || fail "A's own room stopped working"
eventually 10 grep -q "local" "$tmp/member.out" || fail "A's member did not get A's message"
cli_a ping >/dev/null || fail "A stopped serving its clients"

# ---- healed --------------------------------------------------------------------
ip link set "$host_if" up
eventually 30 nodes_are cli_b 2 || fail "B does not see A again after the link is back"
eventually 30 nodes_are cli_a 2 || fail "A does not see B again after the link is back"
[ "$(node_of_a)" = "$number" ] || fail "A came back as node $(node_of_a), not $number"
eventually 10 test "$(delivered cli_b after)" = 1 || fail "B's PUBLISH does not reach A again"
eventually 10 grep -q "after" "$tmp/member.out" || fail "A's member did not get B's message after the heal"
cli_a kv set k v >/dev/null && [ "$(cli_b kv get k)" = v ] || fail "kv is not shared again"

lost=$(grep -c "cluster: Redis lost" "$tmp/a.log")
back=$(grep -c "cluster: Redis back" "$tmp/a.log")
[ "$lost" = 1 ] && [ "$back" = 1 ] || fail "A logged Redis lost $lost times and back $back times"
echo "partition: node A cut off and healed: counted out within the heartbeats, back as node $number by itself"
