// The chat page in headless Chromium, driven by Playwright (playwright-core,
// pinned in package.json, with the system's Chromium): two tabs join one
// room, see each other in the member list, one types and the other sees the
// message, one tab closes and the other's list updates, the server restarts
// and the page shows the drop and reconnects. Saves a screenshot of a tab.
//
//   node tests/browser/chat.mjs [SCREENSHOT.png]     (after npm ci here)
//
// Exit 0 pass, 1 fail, 77 skipped (no Chromium, or no playwright-core).
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';

import { root, startHazel } from '../js/server.mjs';

const shot = process.argv[2] ?? path.join(root, 'build/browser/chat.png');
const chromium = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser',
                  '/usr/bin/google-chrome'].find((p) => p && fs.existsSync(p));
if (!chromium) {
  console.log('SKIP browser: chromium is not installed (apt-get install chromium)');
  process.exit(77);
}
let playwright;
try {
  playwright = await import('playwright-core');
} catch {
  console.log('SKIP browser: playwright-core is not installed (npm ci in tests/browser)');
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

// Generous waits: a loaded machine may be slow, never wrong.
const kWait = 15000;
const members = (page) => page.locator('#members li').allTextContents().then((l) => l.join(','));
const expectMembers = async (page, want, what) => {
  await page.waitForFunction((w) => [...document.querySelectorAll('#members li')]
    .map((l) => l.textContent).join(',') === w, want, { timeout: kWait })
    .catch(async (e) => { throw new Error(`${what} (has ${await members(page)}): ${e.message}`); });
};
const expectText = (page, selector, text, what) =>
  page.locator(selector, { hasText: text }).first().waitFor({ timeout: kWait })
    .catch((e) => { throw new Error(`${what}: ${e.message}`); });
const expectStatus = (page, cls, what, timeout = kWait) =>
  page.locator(`#status.${cls}`).waitFor({ timeout })
    .catch((e) => { throw new Error(`${what}: ${e.message}`); });

async function join(page, name, room) {
  await page.goto(server.pageUrl);
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#join-button');
  await expectStatus(page, 'up', `${name} to connect`);
}

const browser = await playwright.chromium.launch({ executablePath: chromium, headless: true });
let code = 1;
try {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  const room = `chat-${process.pid}`;
  const alice = await context.newPage();
  const bob = await context.newPage();
  await join(alice, 'alice', room);
  await join(bob, 'bob', room);
  await expectMembers(alice, 'alice,bob', 'alice to list alice and bob');
  await expectMembers(bob, 'alice,bob', 'bob to list alice and bob');

  await alice.fill('#text', 'hello from alice');
  await alice.click('#send');
  await expectText(bob, '#messages li', 'alice: hello from alice', 'bob to see the message');
  await expectText(alice, '#messages li', 'alice: hello from alice', 'alice to see her own message');
  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await bob.screenshot({ path: shot });

  await alice.close();
  await expectMembers(bob, 'bob', 'bob to see alice leave');
  await expectText(bob, '#messages li', 'alice left', 'the note that alice left');

  if (!server.external) {
    // The server goes away and comes back on the same port: the page says
    // so and reconnects by itself.
    await server.stop();
    await expectText(bob, '#status', 'disconnected', 'bob to see the drop');
    server = await startHazel(args);
    await expectStatus(bob, 'up', 'bob to reconnect', 30000);
    await expectMembers(bob, 'bob', 'bob back in the room');
  }
  console.log(`browser: two tabs chatted, the list followed a closed tab${server.external ? '' : ', the page reconnected'}; ` +
              `screenshot ${path.relative(root, shot)} (Chromium ${browser.version()}, ` +
              `${((Date.now() - started) / 1000).toFixed(1)} s)`);
  code = 0;
} catch (e) {
  console.log(`FAIL browser: ${e.message.split('\n')[0]}`);
} finally {
  await browser.close();
  await server.stop();
}
process.exit(code);
