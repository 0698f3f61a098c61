// The check harness shared by the conformance scripts: "ok - <name>" /
// "not ok - <name>: <why>" lines, "# " diagnostics, deadlines, and a bounded
// run that ends with "N passed, M failed" and exits 0 only if all passed.

import fs from 'node:fs';
import net from 'node:net';

let passed = 0;
let failed = 0;
const t0 = Date.now();

export const out = (s) => process.stdout.write(s + '\n');
export const note = (s) => out('# ' + s);

export class CheckError extends Error {}
export function fail(msg) { throw new CheckError(msg); }
export function expect(cond, msg) { if (!cond) fail(typeof msg === 'function' ? msg() : msg); }

export function withDeadline(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, rej) => { timer = setTimeout(() => rej(new CheckError(`${what}: no result within ${ms} ms`)), ms); }),
  ]);
}

// Runs one check; resolves true if it passed.
export async function check(name, fn, ms = 20000) {
  try {
    await withDeadline(Promise.resolve().then(fn), ms, 'check');
    passed++;
    out(`ok - ${name}`);
    return true;
  } catch (e) {
    failed++;
    const why = e instanceof CheckError || e.code ? e.message : (e.stack ?? String(e));
    out(`not ok - ${name}: ${why.replace(/\n/g, '\n#   ')}`);
    return false;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Calls fn until it returns { done: true, value }; fails after ms.
export async function poll(fn, ms, what, every = 50) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); if (last && last.done) return last.value; } catch (e) { last = { why: e.message }; }
    if (Date.now() > end) fail(`${what}: not within ${ms} ms${last && last.why ? ` (last: ${last.why})` : ''}`);
    await sleep(every);
  }
}

// A TCP port nobody listens on right now.
export function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Runs main() within limitMs, counting an interrupt, an uncaught error or the
// limit as a failure; cleanup() (kill every process started) runs on any exit.
export async function run({ hazel, limitMs, cleanup }, main) {
  let finished = false;
  let runTimer = null;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(runTimer);
    cleanup();
    out(`${passed} passed, ${failed} failed`);
    note(`run took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    process.exit(failed === 0 && passed > 0 ? 0 : 1);
  };
  const abort = (why) => { out(`not ok - ${why}`); failed++; finish(); };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => abort(`run interrupted by ${sig}`));
  process.on('uncaughtException', (e) => abort(`uncaught exception: ${e.stack}`));
  process.on('unhandledRejection', (e) => abort(`unhandled rejection: ${e && e.stack ? e.stack : e}`));
  runTimer = setTimeout(() => abort(`whole run within ${limitMs} ms: still running`), limitMs);
  try {
    if (!fs.existsSync(hazel)) abort(`${hazel} exists (run make first, from the repo root)`);
    await main();
  } catch (e) {
    out(`not ok - harness: ${e.stack ?? e}`);
    failed++;
  }
  finish();
}
