#!/usr/bin/env bash
# browser_check.sh — the chat page (web/index.html, GET / on the WebSocket
# port) in headless Chromium, driven over the DevTools protocol by
# tests/browser/chat.mjs: two tabs chat, the member list follows a closed
# tab, the page reconnects after a server restart; the screenshot goes to
# build/browser/chat.png. Skipped (77) without Node.js >= 20 or Chromium
# (apt-get install chromium).
set -u
cd "$(dirname "$0")/.."
. tests/js_env.sh
exec timeout 120 node "${node_ws[@]}" tests/browser/chat.mjs "$@"
