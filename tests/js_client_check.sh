#!/usr/bin/env bash
# js_client_check.sh — the JavaScript client against a real ./hazel over its
# WebSocket port (tests/js/client.test.mjs): every helper, a WebSocket and
# a TCP client in one room, the transport's GOODBYE + Close rules, 1,000
# WebSocket clients at once. Skipped (77) without Node.js >= 20.
set -u
cd "$(dirname "$0")/.."
. tests/js_env.sh
node_test tests/js/client.test.mjs
