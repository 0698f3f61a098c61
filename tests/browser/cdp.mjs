// A very small Chrome DevTools Protocol client (Node >= 20 with
// --experimental-websocket): launches a headless Chromium and drives its
// pages. Only what the chat page's test needs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function findChromium() {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser',
                   '/usr/bin/google-chrome']) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

export class Browser {
  static async launch(binary, { timeoutMs = 20000 } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hazel-chromium-'));
    const args = ['--headless=new', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
                  '--disable-extensions', '--disable-background-networking', '--mute-audio',
                  '--remote-debugging-port=0', `--user-data-dir=${dir}`, '--window-size=900,700'];
    // Chromium's sandbox does not run as root (CI containers).
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    const proc = spawn(binary, [...args, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${log}`)), timeoutMs);
      proc.on('exit', () => reject(new Error(`chromium exited:\n${log}`)));
      proc.stderr.on('data', (d) => {
        log += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const b = new Browser(proc, dir);
    await b._open(url);
    return b;
  }

  constructor(proc, dir) {
    this.proc = proc;
    this.dir = dir;
    this.next = 1;
    this.pending = new Map();
  }

  _open(url) {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(url);
      this.ws.addEventListener('open', resolve, { once: true });
      this.ws.addEventListener('error', () => reject(new Error(`cannot reach ${url}`)), { once: true });
      this.ws.addEventListener('message', (e) => {
        const msg = JSON.parse(e.data);
        const p = msg.id !== undefined && this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      });
    });
  }

  send(method, params = {}, sessionId) {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
  }

  async newPage(url) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, targetId, sessionId);
    await page.send('Runtime.enable');
    await page.send('Page.enable');
    await page.send('Page.navigate', { url });
    return page;
  }

  async close() {
    const exited = new Promise((r) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) r();
      else this.proc.once('exit', r);
    });
    const within = (ms) => new Promise((r) => setTimeout(r, ms));
    this.send('Browser.close').catch(() => {});
    await Promise.race([exited, within(3000)]);
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await exited;
    }
    this.ws?.close();
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

export class Page {
  constructor(browser, targetId, sessionId) {
    this.browser = browser;
    this.targetId = targetId;
    this.sessionId = sessionId;
  }
  send(method, params) { return this.browser.send(method, params, this.sessionId); }

  // The value of a JavaScript expression in the page (awaited if a promise).
  async eval(expression) {
    const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`in page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  }

  // Polls `expression` until it is truthy; returns its value.
  async waitFor(expression, what, timeoutMs = 10000) {
    const end = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        last = await this.eval(expression);
        if (last) return last;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async screenshot(file) {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png' });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.from(data, 'base64'));
  }

  close() { return this.browser.send('Target.closeTarget', { targetId: this.targetId }); }
}
