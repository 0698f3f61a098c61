#!/usr/bin/env bash
# browser_check.sh — the chat page (web/index.html, GET / on the WebSocket
# port) in headless Chromium, driven by Playwright (tests/browser/chat.mjs):
# two tabs chat, the member list follows a closed tab, the page reconnects
# after a server restart; the screenshot goes to build/browser/chat.png.
# playwright-core comes from tests/browser/package-lock.json (`npm ci` into
# tests/browser/node_modules, when that is missing or another version); it
# drives the system's Chromium, so no browser is downloaded. Skipped (77)
# without Node.js >= 20, npm or Chromium (apt-get install nodejs npm chromium).
set -u
cd "$(dirname "$0")/.."
. tests/js_env.sh
dir=tests/browser
want=$(node -p "require('./$dir/package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('./$dir/node_modules/playwright-core/package.json').version } catch { '' }")
if [ "$have" != "$want" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "SKIP browser: npm is not installed (apt-get install npm)"
    exit 77
  fi
  if ! out=$(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 npm ci --no-audit --no-fund 2>&1); then
    printf '%s\n' "$out" | tail -5
    echo "FAIL browser: npm ci in $dir could not install playwright-core $want"
    exit 1
  fi
fi
exec timeout 120 node "${node_ws[@]}" "$dir/chat.mjs" "$@"
