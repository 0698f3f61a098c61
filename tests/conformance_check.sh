#!/usr/bin/env bash
# conformance_check.sh — an independent client (tests/conformance/, written
# from the protocol document alone, in JavaScript) checks what PROTOCOL.md
# says about workers against ./hazel -w 2 and -w 3, a kill -9 of a worker
# included, then what it says about the WebSocket transport against
# ./hazel --ws-port. Both must pass. Skipped (exit 77) where Node.js is not
# installed.
set -u
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP conformance: node is not installed (apt-get install nodejs)"
  exit 77
fi
rc=0
node tests/conformance/workers.mjs || rc=1
node tests/conformance/websocket.mjs || rc=1
exit $rc
