#!/usr/bin/env bash
# js_unit_check.sh — the JavaScript client (clients/js/hazel.js) on its own,
# against a fake WebSocket: frames, sessions, timeouts, pushes, GOODBYE,
# keepalive. Skipped (77) without Node.js >= 20.
set -u
cd "$(dirname "$0")/.."
. tests/js_env.sh
node_test tests/js/unit.test.mjs
