# Sourced by the JavaScript checks: finds Node.js >= 20 and the flag that
# gives it a WebSocket (Node 20 has it only behind --experimental-websocket).
# Exits 77 (skipped, with the reason) when there is no such node.
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed (apt-get install nodejs)"
  exit 77
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "SKIP: node $(node --version) is older than 20"
  exit 77
fi
node_ws=()
node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null ||
  node_ws=(--experimental-websocket)

# Runs `node --test FILE...`; prints the whole report if a test failed,
# only its summary otherwise.
node_test() {
  local out rc
  out=$(node "${node_ws[@]}" --test "$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then
    printf '%s\n' "$out"
  else
    printf '%s\n' "$out" | grep -E '^# (tests|pass|fail|skipped|duration_ms) '
  fi
  return $rc
}
