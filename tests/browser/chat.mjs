// The chat page in headless Chromium: two tabs join one room, see each
// other in the member list, one types and the other sees the message, one
// tab closes and the other's list updates, the server restarts and the
// page shows the drop and reconnects. Saves a screenshot of a tab.
//
//   node --experimental-websocket tests/browser/chat.mjs [SCREENSHOT.png]
//
// Exit 0 pass, 1 fail, 77 skipped (no Chromium, or no WebSocket transport).
import path from 'node:path';
import net from 'node:net';

import { Browser, findChromium } from './cdp.mjs';
import { root, startHazel } from '../js/server.mjs';

const shot = process.argv[2] ?? path.join(root, 'build/browser/chat.png');
const chromium = findChromium();
if (!chromium) {
  console.log('SKIP browser: chromium is not installed (apt-get install chromium)');
  process.exit(77);
}

// A port free a moment ago, so the restarted server can take the same one.
const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

const started = Date.now();
const wsPort = process.env.HAZEL_WS_URL ? 0 : await freePort();
const args = wsPort ? ['--ws-port', String(wsPort)] : [];
let server = await startHazel(args);

const members = (page) => page.eval(`[...document.querySelectorAll('#members li')].map((l) => l.textContent).join(',')`);
const messages = (page) => page.eval(`[...document.querySelectorAll('#messages li')].map((l) => l.textContent).join('\\n')`);
const status = (page) => page.eval(`document.getElementById('status').textContent`);

async function join(page, name, room) {
  await page.waitFor(`document.readyState === 'complete' && !!document.getElementById('join')`, 'the page');
  await page.eval(`(() => {
    document.getElementById('name').value = ${JSON.stringify(name)};
    document.getElementById('room').value = ${JSON.stringify(room)};
    document.getElementById('join').requestSubmit();
  })()`);
  await page.waitFor(`document.getElementById('status').className === 'up'`, `${name} connected`);
}

const browser = await Browser.launch(chromium);
let code = 1;
try {
  const room = `chat-${process.pid}`;
  const alice = await browser.newPage(server.pageUrl);
  const bob = await browser.newPage(server.pageUrl);
  await join(alice, 'alice', room);
  await join(bob, 'bob', room);
  for (const [who, page] of [['alice', alice], ['bob', bob]])
    await page.waitFor(`[...document.querySelectorAll('#members li')].map((l) => l.textContent).join(',') === 'alice,bob'`,
                       `${who} to list alice and bob (has ${await members(page)})`);

  await alice.eval(`(() => {
    document.getElementById('text').value = 'hello from alice';
    document.getElementById('say').requestSubmit();
  })()`);
  await bob.waitFor(`document.getElementById('messages').textContent.includes('alice: hello from alice')`,
                    'bob to see the message');
  await alice.waitFor(`document.getElementById('messages').textContent.includes('alice: hello from alice')`,
                      'alice to see her own message');
  await bob.screenshot(shot);

  await alice.close();
  await bob.waitFor(`[...document.querySelectorAll('#members li')].map((l) => l.textContent).join(',') === 'bob'`,
                    'bob to see alice leave');
  await bob.waitFor(`document.getElementById('messages').textContent.includes('alice left')`, 'the note that alice left');

  if (!server.external) {
    // The server goes away and comes back on the same port: the page says
    // so and reconnects by itself.
    await server.stop();
    await bob.waitFor(`document.getElementById('status').textContent.startsWith('disconnected')`, 'bob to see the drop');
    server = await startHazel(args);
    await bob.waitFor(`document.getElementById('status').className === 'up'`, 'bob to reconnect', 15000);
    await bob.waitFor(`[...document.querySelectorAll('#members li')].map((l) => l.textContent).join(',') === 'bob'`,
                      'bob back in the room');
  }
  console.log(`browser: two tabs chatted, the list followed a closed tab${server.external ? '' : ', the page reconnected'}; ` +
              `screenshot ${path.relative(root, shot)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  void messages;
  void status;
  code = 0;
} catch (e) {
  console.log(`FAIL browser: ${e.message}`);
} finally {
  await browser.close();
  await server.stop();
}
process.exit(code);
