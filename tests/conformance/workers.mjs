// Conformance checks for every statement of PROTOCOL.md that speaks of
// workers, run against ./hazel -w 2 and ./hazel -w 3 over real sockets.
// Written from /work/shared/PROTOCOL.md alone, with the client in hazel.mjs.
//
//   node tests/conformance/workers.mjs        (from the repo root, after make)
//
// Prints "ok - <name>" / "not ok - <name>: <why>" per check, then
// "N passed, M failed"; exits 0 only if every check passed. The whole run is
// bounded (RUN_LIMIT_MS) and every process it started is killed on exit.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import {
  Client, SERVICE, SYS, KV, ROOM, KIND, STATUS, GOODBYE, statusName, okBody, sys, kv, room,
} from './hazel.mjs';
import {
  note, fail, expect, withDeadline, check, sleep, poll, freePort, run,
} from './checks.mjs';

const HOST = '127.0.0.1';
const HAZEL = process.env.HAZEL ?? './hazel';
const RUN_LIMIT_MS = 55000;
const T = 5000;            // deadline for an ordinary request (the server is local)
const LONG = 20000;        // deadline for a request the server may answer with TIMEOUT

// ---- reporting ------------------------------------------------------------

const show = (r) => (r && r.status !== undefined
  ? `${statusName(r.status)}${r.body.length ? ' ' + JSON.stringify(r.body.toString('utf8').slice(0, 80)) : ''}`
  : String(r));
function expectStatus(r, status, what) {
  expect(r.status === status, () => `${what}: expected ${statusName(status)}, got ${show(r)}`);
  return r.body;
}

// ---- /proc ------------------------------------------------------------------

function readProc(pid, file) { try { return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8'); } catch { return null; } }
function ppidOf(pid) {
  const s = readProc(pid, 'stat');
  if (!s) return null;
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return rest[0] === 'Z' || rest[0] === 'X' ? null : Number(rest[1]); // zombies are gone
}
function titleOf(pid) { const c = readProc(pid, 'cmdline'); return c === null ? null : c.replace(/\0+/g, ' ').trim(); }
function workerIndexOf(pid) { const m = /^hazel: worker (\d+)$/.exec(titleOf(pid) ?? ''); return m ? Number(m[1]) : null; }
// Live worker processes of a master: [{ pid, index }]
function workersOf(masterPid) {
  const res = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (ppidOf(pid) !== masterPid) continue;
    const index = workerIndexOf(pid);
    if (index !== null) res.push({ pid, index });
  }
  return res.sort((a, b) => a.index - b.index);
}
// The pid of the process holding the server side of a client's connection.
function serverPidOfConnection(port, clientPort, pids) {
  const hex = (n) => n.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hex(port)}`;
  const remote = `0100007F:${hex(clientPort)}`;
  let inode = null;
  for (const line of (readProc('self', 'net/tcp') ?? '').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2] === remote) { inode = f[9]; break; }
  }
  if (!inode) return null;
  for (const pid of pids) {
    let fds = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      try { if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid; } catch {}
    }
  }
  return null;
}

// ---- server harness -----------------------------------------------------------

const servers = new Set();

class Server {
  constructor(n) {
    this.n = n;
    this.log = [];
    this.allIds = new Set();   // every client id seen in this run (decimal text)
    this.reused = [];          // ids handed out twice
    this.clients = new Set();  // every Conn opened (open or not)
    this.spare = new Map();    // worker index -> [Conn] not yet handed to a check
    this.seenWorkerPids = new Set();
  }

  async start() {
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort(HOST);
      this.proc = spawn(HAZEL, ['-b', HOST, '-p', String(this.port), '-w', String(this.n)],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      servers.add(this);
      this.exited = new Promise((r) => this.proc.once('exit', (code, sig) => r({ code, sig })));
      this.exitInfo = null;
      this.exited.then((x) => { this.exitInfo = x; });
      for (const s of [this.proc.stdout, this.proc.stderr]) {
        s.setEncoding('utf8');
        s.on('data', (d) => { this.log.push(...d.split('\n').filter(Boolean)); if (this.log.length > 400) this.log.splice(0, this.log.length - 400); });
      }
      this.pid = this.proc.pid;
      try {
        await poll(async () => {
          if (this.exitInfo) throw new Error(`server exited ${JSON.stringify(this.exitInfo)}`);
          const ws = this.workers();
          if (ws.length !== this.n) return { why: `${ws.length} worker processes` };
          const c = await this.connect();
          return { done: true, value: c };
        }, 10000, `./hazel -w ${this.n} ready`, 50);
        return;
      } catch (e) {
        if (this.exitInfo && this.log.some((l) => /in use/i.test(l))) { servers.delete(this); continue; }
        throw e;
      }
    }
    fail('could not start ./hazel on a free port');
  }

  workers() {
    const ws = workersOf(this.pid);
    for (const w of ws) this.seenWorkerPids.add(w.pid);
    return ws;
  }

  // A new connection that answered HELLO: Conn { c, id (BigInt), worker, hello }
  async connect(timeoutMs = T) {
    const c = await Client.connect(HOST, this.port, { timeoutMs });
    const conn = { c, id: null, worker: null, hello: null };
    this.clients.add(conn);
    try {
      const r = await c.call(SERVICE.SYS, SYS.HELLO, null, timeoutMs);
      conn.hello = sys.parseHello(okBody(r));
    } catch (e) { c.destroy(); throw e; }
    if (!/^[0-9]+$/.test(conn.hello.client ?? '')) { c.destroy(); fail(`HELLO client=${conn.hello.client}`); }
    conn.id = BigInt(conn.hello.client);
    conn.worker = Number(conn.hello.worker);
    if (this.allIds.has(conn.hello.client)) this.reused.push(conn.hello.client);
    this.allIds.add(conn.hello.client);
    return conn;
  }

  // A connection on worker `index` (connects until the kernel puts one there).
  async on(index) {
    const pool = this.spare.get(index);
    while (pool && pool.length) { const x = pool.shift(); if (!x.c.isClosed) return x; }
    for (let i = 0; i < 300; i++) {
      const x = await this.connect();
      if (x.worker === index) return x;
      if (!this.spare.has(x.worker)) this.spare.set(x.worker, []);
      this.spare.get(x.worker).push(x);
    }
    fail(`300 connections and none landed on worker ${index}`);
  }

  openCount() { let n = 0; for (const x of this.clients) if (!x.c.isClosed) n++; return n; }

  // Kill everything: stop the master so that it cannot fork, kill its
  // workers (every pid ever seen that still bears a worker title), then it.
  kill() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) {
      this.killStrays();
      return;
    }
    try { process.kill(this.pid, 'SIGSTOP'); } catch {}
    this.workers();
    this.killStrays();
    try { process.kill(this.pid, 'SIGKILL'); } catch {}
  }
  killStrays() {
    for (const pid of this.seenWorkerPids) {
      if (workerIndexOf(pid) !== null) { try { process.kill(pid, 'SIGKILL'); } catch {} }
    }
  }
  async stop() {
    for (const x of this.clients) x.c.destroy();
    if (this.exitInfo === null) {
      try { process.kill(this.pid, 'SIGTERM'); } catch {}
      await withDeadline(this.exited, 3000, 'server exit').catch(() => {});
    }
    this.kill();
    await withDeadline(this.exited, 5000, 'server exit').catch(() => {});
    servers.delete(this);
  }
  tail(n = 15) { return this.log.slice(-n).join('\n'); }
}

function killAll() { for (const s of servers) s.kill(); }

// ---- helpers for checks ---------------------------------------------------------

function drain(...conns) { for (const x of conns) x.c.pushes.length = 0; }
async function info(x, t = T) { return x.c.info(t); }
const num = (v) => (/^[0-9]+$/.test(v ?? '') ? Number(v) : NaN);

async function expectTellPush(to, from, payload) {
  const p = await to.c.nextPush(T).catch((e) => fail(`client ${to.id} (worker ${to.worker}): ${e.message}`));
  expect(p.service === SERVICE.SYS && p.code === SYS.TELL,
    `TELL PUSH has service ${p.service} code ${p.code}, expected service 0 code 6`);
  const t = sys.parseTellPush(p.body);
  expect(t.sender === from.id, `TELL PUSH sender ${t.sender}, expected ${from.id}`);
  expect(t.payload.equals(Buffer.from(payload)), `TELL PUSH payload ${JSON.stringify(t.payload.toString())}, expected ${JSON.stringify(payload)}`);
}

async function tellBetween(a, b, tag) {
  drain(b);
  const payload = `${tag} ${a.id}->${b.id}`;
  const r = await a.c.tell(b.id, payload, T);
  expectStatus(r, STATUS.OK, `TELL from worker ${a.worker} to a client on worker ${b.worker}`);
  expect(r.body.length === 0, `TELL OK body is ${r.body.length} bytes, expected empty`);
  expect(r.service === SERVICE.SYS, `REPLY service ${r.service}, expected 0 (copied from the request)`);
  await expectTellPush(b, a, payload);
}

async function closeAndWait(x) {
  x.c.close();
  await withDeadline(x.c.closed(), T, `server closing its side after client ${x.id} sent FIN`);
}

async function joinCount(x, name) {
  const r = await x.c.join(name, T);
  const b = expectStatus(r, STATUS.OK, `JOIN ${name} from worker ${x.worker}`);
  const n = room.parseJoin(b);
  expect(!Number.isNaN(n), `JOIN reply body of ${b.length} bytes, expected u32`);
  return n;
}
async function membersOf(x, name) {
  const r = await x.c.members(name, T);
  const b = expectStatus(r, STATUS.OK, `MEMBERS ${name} from worker ${x.worker}`);
  return room.parseMembers(b).map(String).sort();
}
const idSet = (...xs) => xs.map((x) => String(x.id)).sort();
async function publishCount(x, name, payload) {
  const r = await x.c.publish(name, payload, T);
  const b = expectStatus(r, STATUS.OK, `PUBLISH ${name} from worker ${x.worker}`);
  const n = room.parsePublish(b);
  expect(!Number.isNaN(n), `PUBLISH reply body of ${b.length} bytes, expected u32`);
  return n;
}
async function expectRoomPush(x, name, publisher, payload) {
  const p = await x.c.nextPush(T).catch((e) => fail(`member ${x.id} on worker ${x.worker}: ${e.message}`));
  expect(p.service === SERVICE.ROOM && p.code === ROOM.PUBLISH,
    `room PUSH has service ${p.service} code ${p.code}, expected service 3 code 3`);
  const m = room.parsePush(p.body);
  expect(m.room === name, `room PUSH names room ${JSON.stringify(m.room)}, expected ${JSON.stringify(name)}`);
  expect(m.publisher === publisher.id, `room PUSH publisher ${m.publisher}, expected ${publisher.id}`);
  expect(m.payload.equals(Buffer.from(payload)), `room PUSH payload ${JSON.stringify(m.payload.toString())}, expected ${JSON.stringify(payload)}`);
}
async function expectNoPush(x, ms = 300) {
  // A PING round trip, then a short wait: a stray PUSH would have arrived.
  await x.c.ping('sync', T);
  await sleep(ms);
  expect(x.c.pushes.length === 0, () => `client ${x.id} (worker ${x.worker}) got an unexpected PUSH: service ${x.c.pushes[0].service} code ${x.c.pushes[0].code}`);
}

// Collects `count` room messages at member x; returns [{publisher, payload}]
async function collectRoom(x, name, count, ms = 10000) {
  const got = [];
  const end = Date.now() + ms;
  while (got.length < count) {
    const left = end - Date.now();
    if (left <= 0) fail(`member ${x.id} on worker ${x.worker} got ${got.length} of ${count} room messages`);
    const p = await x.c.nextPush(left).catch((e) => fail(`member ${x.id} on worker ${x.worker} got ${got.length} of ${count} room messages (${e.message})`));
    if (p.service !== SERVICE.ROOM || p.code !== ROOM.PUBLISH) continue;
    const m = room.parsePush(p.body);
    if (m.room !== name) continue;
    got.push({ publisher: m.publisher, payload: m.payload.toString() });
  }
  return got;
}
function expectInOrder(got, x, publisher, n, prefix) {
  const seqs = got.filter((m) => m.publisher === publisher.id).map((m) => Number(m.payload.slice(prefix.length)));
  expect(seqs.length === n, `member ${x.id} (worker ${x.worker}) got ${seqs.length} of ${n} messages of publisher ${publisher.id}`);
  for (let i = 0; i < n; i++) {
    expect(seqs[i] === i, `member ${x.id} (worker ${x.worker}) got publisher ${publisher.id}'s messages out of order: position ${i} holds #${seqs[i]} (first ${Math.min(n, 12)}: ${seqs.slice(0, 12).join(',')})`);
  }
}

// Keeps `window` requests in flight on x until stop.flag is set; each request
// has deadline `ms`. Returns [{ label, status } | { label, error }].
function storm(x, make, window, stop, ms = LONG, results = []) {
  let active = 0;
  return new Promise((resolve) => {
    const pump = () => {
      while (!stop.flag && !x.c.isClosed && active < window) {
        const [label, p] = make(ms);
        active++;
        p.then((r) => results.push({ label, status: r.status, body: r.body, at: Date.now() }),
          (e) => results.push({ label, error: e, at: Date.now() }))
          .finally(() => { active--; if (!stop.flag && !x.c.isClosed) setImmediate(pump); else if (active === 0) resolve(results); });
      }
      if (active === 0) resolve(results);
    };
    pump();
  });
}
function tally(results) {
  const t = {};
  for (const r of results) {
    const k = `${r.label}:${r.error ? 'no reply (' + r.error.code + ')' : statusName(r.status)}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return Object.entries(t).map(([k, v]) => `${k}=${v}`).join(' ');
}

// ---- phase 1: ./hazel -w 2 ------------------------------------------------------

const INFO_KEYS = ['uptime_s', 'workers', 'clients', 'clients_total', 'frames_in', 'frames_out',
  'sessions_pending', 'sessions_timed_out', 'kv_keys', 'rooms'];

async function phaseTwoWorkers() {
  const S = new Server(2);
  note('./hazel -w 2');
  const started = await check('-w 2: server starts; master has 2 worker processes titled "hazel: worker 0" and "hazel: worker 1"', async () => {
    await S.start();
    const ws = S.workers();
    expect(ws.map((w) => w.index).join(',') === '0,1', `worker titles: ${ws.map((w) => titleOf(w.pid)).join(' | ')}`);
  });
  if (!started) { note(S.tail()); await S.stop(); return; }

  let w0, w1;
  await check('-w 2: HELLO has protocol=1, server=hazel/<v>, client=<decimal, not 0>, worker=<decimal from 0, < 2>, max_frame, idle_timeout_ms', async () => {
    const conns = [];
    for (let i = 0; i < 12; i++) conns.push(await S.connect());
    for (const x of conns) {
      const h = x.hello;
      expect(h.protocol === '1', `protocol=${h.protocol}`);
      expect(/^hazel\/./.test(h.server ?? ''), `server=${h.server}`);
      expect(/^[0-9]+$/.test(h.client) && h.client !== '0' && !/^0/.test(h.client), `client=${h.client}`);
      expect(/^(0|[1-9][0-9]*)$/.test(h.worker ?? ''), `worker=${h.worker} is not a decimal index`);
      expect(Number(h.worker) < 2, `worker=${h.worker} with -w 2`);
      expect(/^[0-9]+$/.test(h.max_frame ?? ''), `max_frame=${h.max_frame}`);
      expect(/^[0-9]+$/.test(h.idle_timeout_ms ?? ''), `idle_timeout_ms=${h.idle_timeout_ms}`);
      if (!S.spare.has(x.worker)) S.spare.set(x.worker, []);
      S.spare.get(x.worker).push(x);
    }
  });

  await check('-w 2: connections land on every worker (HELLO worker= takes the values 0 and 1)', async () => {
    w0 = await S.on(0);
    w1 = await S.on(1);
  });
  if (!w0 || !w1) { note(S.tail()); await S.stop(); return; }

  await check('-w 2: HELLO worker=<index> names the worker process holding the connection', async () => {
    const ws = S.workers();
    const byPid = new Map(ws.map((w) => [w.pid, w.index]));
    const conns = [w0, w1, await S.on(0), await S.on(1)];
    for (const x of conns) {
      const pid = serverPidOfConnection(S.port, x.c.localPort, ws.map((w) => w.pid));
      expect(pid !== null, `no worker process holds the connection from port ${x.c.localPort}`);
      expect(byPid.get(pid) === x.worker, `HELLO worker=${x.worker} but the connection is held by pid ${pid} titled "${titleOf(pid)}"`);
    }
  });

  await check('-w 2: client ids are unique across the worker processes (40 connections, both workers)', async () => {
    const conns = await Promise.all(Array.from({ length: 40 }, () => S.connect()));
    const ids = new Set(conns.map((x) => String(x.id)));
    const workers = new Set(conns.map((x) => x.worker));
    expect(ids.size === conns.length, `${conns.length} connections got ${ids.size} distinct ids`);
    expect(!ids.has('0'), 'an id is 0');
    expect(workers.size === 2, `all 40 connections on worker ${[...workers]}`);
    expect(S.reused.length === 0, `ids handed out twice: ${S.reused.join(',')}`);
    await Promise.all(conns.map((x) => closeAndWait(x)));
  });

  await check('-w 2: INFO has uptime_s workers clients clients_total frames_in frames_out sessions_pending sessions_timed_out kv_keys rooms, numeric, on each worker', async () => {
    for (const x of [w0, w1]) {
      const i = await info(x);
      for (const k of INFO_KEYS) expect(!Number.isNaN(num(i[k])), `INFO on worker ${x.worker}: ${k} = ${JSON.stringify(i[k])}`);
    }
  });

  await check('-w 2: INFO workers = 2 on each worker', async () => {
    for (const x of [w0, w1]) {
      const i = await info(x);
      expect(i.workers === '2', `INFO on worker ${x.worker}: workers ${i.workers}`);
    }
  });

  await check('-w 2: INFO clients counts the connections of all workers (asked on each worker, also after closing some on worker 1)', async () => {
    const want = () => S.openCount();
    for (const x of [w0, w1]) {
      await poll(async () => { const i = await info(x); return i.clients === String(want()) ? { done: true } : { why: `clients ${i.clients}, open ${want()}` }; },
        T, `INFO clients on worker ${x.worker} = our ${want()} open connections`);
    }
    const extra = [await S.on(1), await S.on(1), await S.on(1)];
    await poll(async () => { const i = await info(w0); return i.clients === String(want()) ? { done: true } : { why: `clients ${i.clients}, open ${want()}` }; },
      T, 'INFO clients on worker 0 after 3 more connections on worker 1');
    await Promise.all(extra.map((x) => closeAndWait(x)));
    await poll(async () => { const i = await info(w0); return i.clients === String(want()) ? { done: true } : { why: `clients ${i.clients}, open ${want()}` }; },
      T, 'INFO clients on worker 0 after closing them');
  });

  await check('-w 2: INFO clients_total counts connections accepted by all workers', async () => {
    const opened = S.clients.size;
    for (const x of [w0, w1]) {
      const i = await info(x);
      expect(num(i.clients_total) >= opened, `INFO on worker ${x.worker}: clients_total ${i.clients_total}, but ${opened} connections were accepted (on both workers)`);
    }
  });

  await check('-w 2: INFO frames_in/frames_out on worker 0 include frames handled by worker 1', async () => {
    const before = await info(w0);
    await Promise.all(Array.from({ length: 50 }, (_, k) => w1.c.ping(`p${k}`, T).then((r) => expectStatus(r, STATUS.OK, 'PING'))));
    const after = await info(w0);
    expect(num(after.frames_in) - num(before.frames_in) >= 51, `frames_in ${before.frames_in} -> ${after.frames_in} after 50 PINGs on worker 1`);
    expect(num(after.frames_out) - num(before.frames_out) >= 51, `frames_out ${before.frames_out} -> ${after.frames_out} after 50 PINGs on worker 1`);
  });

  await check('-w 2: INFO kv_keys on worker 0 counts keys set through worker 1', async () => {
    const before = num((await info(w0)).kv_keys);
    for (let k = 0; k < 30; k++) expectStatus(await w1.c.kvSet(`infokey-${k}`, 'v', 0, T), STATUS.OK, 'SET');
    const after = num((await info(w0)).kv_keys);
    expect(after >= before + 30, `kv_keys ${before} -> ${after} after 30 new keys set on worker 1`);
    for (let k = 0; k < 30; k++) await w0.c.kvDel(`infokey-${k}`, T);
  });

  await check('-w 2: INFO rooms on worker 0 counts rooms joined only by a client of worker 1', async () => {
    const before = num((await info(w0)).rooms);
    for (let k = 0; k < 5; k++) await joinCount(w1, `inforoom-${k}`);
    const after = num((await info(w0)).rooms);
    expect(after >= before + 5, `rooms ${before} -> ${after} after a worker-1 client joined 5 new rooms`);
    for (let k = 0; k < 5; k++) await w1.c.leave(`inforoom-${k}`, T);
  });

  await check('-w 2: TELL to a client on the other worker: OK, empty body; target gets PUSH service 0 code 6 session 0, body u64 sender id + payload (both directions)', async () => {
    await tellBetween(w0, w1, 'hello');
    await tellBetween(w1, w0, 'hello');
    await tellBetween(w0, w1, '');
  });

  await check('-w 2: TELL to a client of the other worker that disconnected: NOT_FOUND; to id 0: NOT_FOUND', async () => {
    const gone = await S.on(1);
    await closeAndWait(gone);
    const r = await w0.c.tell(gone.id, 'anyone?', T);
    expectStatus(r, STATUS.NOT_FOUND, `TELL from worker 0 to client ${gone.id} of worker 1 after it closed`);
    const gone0 = await S.on(0);
    await closeAndWait(gone0);
    expectStatus(await w1.c.tell(gone0.id, 'anyone?', T), STATUS.NOT_FOUND, `TELL from worker 1 to client ${gone0.id} of worker 0 after it closed`);
    for (const x of [w0, w1]) expectStatus(await x.c.tell(0n, 'x', T), STATUS.NOT_FOUND, `TELL to id 0 from worker ${x.worker}`);
  });

  await check('-w 2: kv is one key space: SET on worker 0, GET on worker 1; SET on 1, GET on 0; DEL on 1 -> 1, GET on 0 -> NOT_FOUND, DEL -> 0', async () => {
    const key = `shared-${Date.now()}`;
    expectStatus(await w0.c.kvSet(key, 'from worker 0', 0, T), STATUS.OK, 'SET on worker 0');
    let b = expectStatus(await w1.c.kvGet(key, T), STATUS.OK, 'GET on worker 1 of a key set on worker 0');
    expect(b.toString() === 'from worker 0', `GET on worker 1 returned ${JSON.stringify(b.toString())}`);
    expectStatus(await w1.c.kvSet(key, 'from worker 1', 0, T), STATUS.OK, 'SET on worker 1');
    b = expectStatus(await w0.c.kvGet(key, T), STATUS.OK, 'GET on worker 0');
    expect(b.toString() === 'from worker 1', `GET on worker 0 after SET on worker 1 returned ${JSON.stringify(b.toString())}`);
    b = expectStatus(await w1.c.kvDel(key, T), STATUS.OK, 'DEL on worker 1');
    expect(b.length === 1 && b[0] === 1, `DEL of a present key returned ${b.toString('hex')}, expected u8 1`);
    expectStatus(await w0.c.kvGet(key, T), STATUS.NOT_FOUND, 'GET on worker 0 after DEL on worker 1');
    b = expectStatus(await w0.c.kvDel(key, T), STATUS.OK, 'DEL on worker 0 of the deleted key');
    expect(b.length === 1 && b[0] === 0, `DEL of an absent key returned ${b.toString('hex')}, expected u8 0`);
  });

  await check('-w 2: kv INCR from 4 clients on both workers (pipelined, 25 each) adds up: replies are 1..100 once each, GET on each worker = "100"', async () => {
    const key = `counter-${Date.now()}`;
    const cs = [w0, w1, await S.on(0), await S.on(1)];
    const replies = await Promise.all(cs.flatMap((x) => Array.from({ length: 25 }, () => x.c.kvIncr(key, 1n, T))));
    const vals = replies.map((r) => { const b = expectStatus(r, STATUS.OK, 'INCR'); return b.toString(); });
    for (const v of vals) expect(/^-?[0-9]+$/.test(v), `INCR reply ${JSON.stringify(v)} is not decimal text`);
    const sorted = vals.map(Number).sort((a, b) => a - b);
    expect(sorted.every((v, i) => v === i + 1), `INCR replies are not 1..100 once each: ${sorted.join(',')}`);
    for (const x of [w0, w1]) {
      const b = expectStatus(await x.c.kvGet(key, T), STATUS.OK, `GET on worker ${x.worker}`);
      expect(b.toString() === '100', `GET on worker ${x.worker} = ${JSON.stringify(b.toString())}`);
    }
    const b = expectStatus(await w1.c.kvIncr(key, -101n, T), STATUS.OK, 'INCR -101');
    expect(b.toString() === '-1', `INCR by -101 gave ${b.toString()}`);
  });

  await check('-w 2: kv TTL set on worker 0 expires as seen from worker 1 (present before the TTL, NOT_FOUND after, not early)', async () => {
    const key = `ttl-${Date.now()}`;
    const ttl = 1500;
    const sent = Date.now();
    expectStatus(await w0.c.kvSet(key, 'short-lived', ttl, T), STATUS.OK, 'SET with ttl 1500 ms on worker 0');
    const r = await w1.c.kvGet(key, T);
    const at = Date.now() - sent;
    if (at < ttl - 100) {
      const b = expectStatus(r, STATUS.OK, `GET on worker 1 ${at} ms after SET with ttl ${ttl}`);
      expect(b.toString() === 'short-lived', `GET value ${JSON.stringify(b.toString())}`);
    }
    const goneAt = await poll(async () => {
      const q = Date.now();
      const g = await w1.c.kvGet(key, T);
      if (g.status === STATUS.NOT_FOUND) return { done: true, value: Date.now() - sent };
      expect(g.status === STATUS.OK, `GET on worker 1: ${show(g)}`);
      return { why: `still there ${q - sent} ms after SET` };
    }, ttl + 4000, `key with ttl ${ttl} ms expiring as seen from worker 1`, 50);
    expect(goneAt >= ttl, `NOT_FOUND already ${goneAt} ms after sending SET with ttl ${ttl} ms`);
    expectStatus(await w0.c.kvGet(key, T), STATUS.NOT_FOUND, 'GET on worker 0 after expiry');
  });

  // ---- rooms ----
  const R = `room-${Date.now()}`;
  let a, b, c, d, e, f;
  await check('-w 2: JOIN counts members on both workers (1,2,3,4); joining twice keeps the count', async () => {
    a = w0; b = w1; c = await S.on(0); d = await S.on(1); e = await S.on(0); f = await S.on(1);
    const counts = [];
    for (const x of [a, b, c, d]) counts.push(await joinCount(x, R));
    expect(counts.join(',') === '1,2,3,4', `JOIN counts from workers ${[a, b, c, d].map((x) => x.worker)}: ${counts}`);
    const again = await joinCount(b, R);
    expect(again === 4, `JOIN twice from worker 1 returned ${again}, expected 4`);
  });
  const roomOk = a && b && c && d && e && f;

  if (roomOk) await check('-w 2: MEMBERS from any worker (members and non-members) lists all members of both workers', async () => {
    const want = idSet(a, b, c, d).join(',');
    for (const x of [a, b, e, f]) {
      const got = (await membersOf(x, R)).join(',');
      expect(got === want, `MEMBERS from worker ${x.worker}: [${got}], expected [${want}]`);
    }
  });

  if (roomOk) await check('-w 2: PUBLISH from a member on worker 1: delivered to 4; each member (publisher too) gets PUSH service 3 code 3 body u8 len, name, u64 publisher, payload; non-members get none', async () => {
    drain(a, b, c, d, e, f);
    const n = await publishCount(b, R, 'one');
    expect(n === 4, `PUBLISH delivered-to count ${n}, expected 4`);
    for (const x of [a, b, c, d]) await expectRoomPush(x, R, b, 'one');
    await expectNoPush(e, 0);
    await expectNoPush(f);
  });

  if (roomOk) await check('-w 2: PUBLISH from a non-member on worker 0: delivered to 4, publisher gets no PUSH', async () => {
    drain(a, b, c, d, e, f);
    const n = await publishCount(e, R, 'two');
    expect(n === 4, `PUBLISH delivered-to count ${n}, expected 4`);
    for (const x of [a, b, c, d]) await expectRoomPush(x, R, e, 'two');
    await expectNoPush(e);
  });

  if (roomOk) await check('-w 2: one publisher\'s messages arrive in order at every member (two publishers on different workers, one after the other, 60 each)', async () => {
    drain(a, b, c, d, e, f);
    const N = 60;
    const pubA = (async () => { for (let k = 0; k < N; k++) await publishCount(a, R, `a${k}`); })();
    const pubF = (async () => { for (let k = 0; k < N; k++) await publishCount(f, R, `f${k}`); })();
    await Promise.all([pubA, pubF]);
    for (const x of [a, b, c, d]) {
      const got = await collectRoom(x, R, 2 * N);
      expectInOrder(got, x, a, N, 'a');
      expectInOrder(got, x, f, N, 'f');
    }
  });

  if (roomOk) await check('-w 2: one publisher\'s pipelined PUBLISH requests and SENDs arrive in the order sent at every member (200 each from workers 0 and 1)', async () => {
    drain(a, b, c, d, e, f);
    const N = 200;
    const ps = [];
    for (let k = 0; k < N; k++) {
      if (k % 2) ps.push(e.c.publish(R, `e${k}`, T)); else e.c.send(SERVICE.ROOM, ROOM.PUBLISH, room.publishBody(R, `e${k}`));
      if (k % 2) d.c.send(SERVICE.ROOM, ROOM.PUBLISH, room.publishBody(R, `d${k}`)); else ps.push(d.c.publish(R, `d${k}`, T));
    }
    for (const r of await Promise.all(ps)) expect(r.status === STATUS.OK && room.parsePublish(r.body) === 4, `pipelined PUBLISH: ${show(r)}`);
    for (const x of [a, b, c, d]) {
      const got = await collectRoom(x, R, 2 * N);
      expectInOrder(got, x, e, N, 'e');
      expectInOrder(got, x, d, N, 'd');
    }
  });

  if (roomOk) await check('-w 2: LEAVE on worker 1 is seen from worker 0 (MEMBERS, PUBLISH count); LEAVE again: NOT_FOUND', async () => {
    drain(a, b, c, d, e, f);
    const r = await d.c.leave(R, T);
    expectStatus(r, STATUS.OK, 'LEAVE');
    expect(r.body.length === 0, `LEAVE OK body of ${r.body.length} bytes`);
    const got = (await membersOf(e, R)).join(',');
    expect(got === idSet(a, b, c).join(','), `MEMBERS from worker 0 after a worker-1 LEAVE: [${got}]`);
    const n = await publishCount(e, R, 'three');
    expect(n === 3, `PUBLISH count after LEAVE ${n}, expected 3`);
    expectStatus(await d.c.leave(R, T), STATUS.NOT_FOUND, 'LEAVE of a room the client is not in');
    await expectNoPush(d);
  });

  if (roomOk) await check('-w 2: a member that disconnects is out of the room before a later PUBLISH is answered (member on worker 1, publisher on 0, and the reverse)', async () => {
    const R2 = `${R}-disc`;
    const m1 = await S.on(1);
    const m0 = await S.on(0);
    await joinCount(a, R2); await joinCount(b, R2); await joinCount(m1, R2); await joinCount(m0, R2);
    await closeAndWait(m1);
    let n = await publishCount(a, R2, 'after m1');
    expect(n === 3, `PUBLISH from worker 0 right after a worker-1 member's connection closed: delivered to ${n}, expected 3`);
    let mem = (await membersOf(a, R2)).join(',');
    expect(mem === idSet(a, b, m0).join(','), `MEMBERS from worker 0: [${mem}], expected [${idSet(a, b, m0)}]`);
    const m0port = m0.c.localPort;
    m0.c.destroy(); // abrupt this time
    await m0.c.closed();
    // The server may not have read the FIN yet when destroy() returns; the
    // statement is about a later PUBLISH, so wait for the server side to be gone.
    await poll(async () => (serverPidOfConnection(S.port, m0port, S.workers().map((w) => w.pid)) === null ? { done: true } : { why: 'server still holds it' }), T, 'server noticing the reset');
    n = await publishCount(b, R2, 'after m0');
    expect(n === 2, `PUBLISH from worker 1 after a worker-0 member was reset: delivered to ${n}, expected 2`);
    mem = (await membersOf(b, R2)).join(',');
    expect(mem === idSet(a, b).join(','), `MEMBERS from worker 1: [${mem}], expected [${idSet(a, b)}]`);
  });

  await check('-w 2: a room with no members: PUBLISH from each worker -> 0, MEMBERS -> empty', async () => {
    for (const x of [w0, w1]) {
      const n = await publishCount(x, `empty-${Date.now()}`, 'x');
      expect(n === 0, `PUBLISH to an empty room from worker ${x.worker}: ${n}`);
      const r = await x.c.members(`empty-${Date.now()}`, T);
      expect(r.status === STATUS.OK && r.body.length === 0, `MEMBERS of an empty room from worker ${x.worker}: ${show(r)}`);
    }
  });

  await killWorkerChecks(S, 1);
  await S.stop();
}

// ---- kill -9 of one worker ----------------------------------------------------

async function killWorkerChecks(S, victimIndex) {
  const tag = `-w ${S.n}, kill -9 worker ${victimIndex}`;
  const other = victimIndex === 0 ? 1 : 0;
  let s1, s2, s3, victims, victim, oldPids, results, roomName, deadIds;
  const ready = await check(`${tag}: setup (clients on both workers, a room spanning them)`, async () => {
    s1 = await S.on(other); s2 = await S.on(other); s3 = await S.on(other);
    victims = [await S.on(victimIndex), await S.on(victimIndex), await S.on(victimIndex), await S.on(victimIndex)];
    deadIds = victims.map((x) => x.id);
    roomName = `kill-room-${Date.now()}`;
    for (const x of [s1, s2, victims[0], victims[1]]) await joinCount(x, roomName);
    oldPids = S.workers();
    victim = oldPids.find((w) => w.index === victimIndex);
    expect(victim, `no process titled "hazel: worker ${victimIndex}" with parent ${S.pid}`);
    drain(s1, s2, s3, ...victims);
  });
  // s3's storm messages to the room, as each surviving member receives them
  const seen = new Map();
  for (const x of [s1, s2]) {
    seen.set(x, []);
    x.c.onPush = (f) => {
      if (f.service !== SERVICE.ROOM || f.code !== ROOM.PUBLISH) return false;
      const m = room.parsePush(f.body);
      if (m.room !== roomName || m.publisher !== s3.id) return false;
      seen.get(x).push(Number(m.payload.toString().slice(3)));
      return true;
    };
  }
  if (!ready) return;

  // Storm: s1 and s2 pipeline TELLs at the victims, s3 pipelines kv and PUBLISH.
  const stop = { flag: false };
  let k = 0;
  const tellResults = [];
  const tells = (x) => storm(x, (ms) => ['TELL', x.c.tell(deadIds[k++ % deadIds.length], `storm ${k}`, ms)], 8, stop, LONG, tellResults);
  let j = 0;
  const kvKey = `kill-counter-${Date.now()}`;
  const mixed = storm(s3, (ms) => {
    j++;
    if (j % 3 === 0) return ['PUBLISH', s3.c.publish(roomName, `s3-${j}`, ms)];
    if (j % 3 === 1) return ['INCR', s3.c.kvIncr(kvKey, 1n, ms)];
    return ['GET', s3.c.kvGet(`kill-key-${j % 50}`, ms)];
  }, 8, stop);
  const st1 = tells(s1);
  const st2 = tells(s2);

  let killedAt = 0;
  let respawned = null;
  const killed = await check(`${tag}: found through /proc (parent = master, title "hazel: worker ${victimIndex}") and killed with SIGKILL while requests are in flight`, async () => {
    await poll(async () => (tellResults.filter((r) => r.status === STATUS.OK).length >= 50 ? { done: true } : { why: `${tellResults.length} TELL replies` }),
      T, 'the TELL storm getting going (50 OK replies)');
    expect(workerIndexOf(victim.pid) === victimIndex && ppidOf(victim.pid) === S.pid, `pid ${victim.pid} is no longer worker ${victimIndex}`);
    process.kill(victim.pid, 'SIGKILL');
    killedAt = Date.now();
  });
  if (!killed) { stop.flag = true; return; }

  await check(`${tag}: all connections of the killed worker close`, async () => {
    await Promise.all(victims.map((x) => withDeadline(x.c.closed(), T, `connection of client ${x.id} (worker ${victimIndex}) closing`)));
  });

  await check(`${tag}: its clients are out of their rooms before a later PUBLISH is answered (delivered-to count, MEMBERS)`, async () => {
    drain(s1, s2);
    const n = await publishCount(s1, roomName, 'after the kill');
    expect(n === 2, `PUBLISH from worker ${other} after the killed worker's connections closed: delivered to ${n}, expected 2 (the 2 members on worker ${other})`);
    const mem = (await membersOf(s2, roomName)).join(',');
    expect(mem === idSet(s1, s2).join(','), `MEMBERS after the kill: [${mem}], expected [${idSet(s1, s2)}]`);
  });

  await check(`${tag}: the other worker's clients keep working (PING, TELL, a room of theirs; kv answers OK or, for data of the gone worker, UNAVAILABLE)`, async () => {
    const r = await s1.c.ping('still here', T);
    expect(r.status === STATUS.OK && r.body.toString() === 'still here', `PING: ${show(r)}`);
    await tellBetween(s1, s2, 'survivor');
    const R2 = `${roomName}-survivors`;
    await joinCount(s1, R2); await joinCount(s2, R2);
    drain(s1, s2);
    const n = await publishCount(s3, R2, 'survivors');
    expect(n === 2, `PUBLISH to a room of 2 survivors: delivered to ${n}`);
    for (const x of [s1, s2]) await expectRoomPush(x, R2, s3, 'survivors');
    const t = {};
    for (let q = 0; q < 20; q++) {
      const key = `survivor-key-${q}`;
      const w = await s2.c.kvSet(key, `v${q}`, 0, T);
      t[`SET:${statusName(w.status)}`] = (t[`SET:${statusName(w.status)}`] ?? 0) + 1;
      expect(w.status === STATUS.OK || w.status === STATUS.UNAVAILABLE, `SET ${key}: ${show(w)}`);
      const g = await s1.c.kvGet(key, T);
      t[`GET:${statusName(g.status)}`] = (t[`GET:${statusName(g.status)}`] ?? 0) + 1;
      if (w.status === STATUS.OK) {
        expect(g.status === STATUS.OK || g.status === STATUS.UNAVAILABLE, `GET ${key} after SET OK: ${show(g)}`);
        if (g.status === STATUS.OK) expect(g.body.toString() === `v${q}`, `GET ${key}: ${g.body}`);
      } else {
        expect([STATUS.OK, STATUS.NOT_FOUND, STATUS.UNAVAILABLE].includes(g.status), `GET ${key}: ${show(g)}`);
      }
    }
    note(`kv right after the kill: ${Object.entries(t).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  });

  await check(`${tag}: a new "hazel: worker ${victimIndex}" process (new pid, parent = master) appears within 10 s`, async () => {
    respawned = await poll(async () => {
      const w = S.workers().find((x) => x.index === victimIndex);
      return w && w.pid !== victim.pid ? { done: true, value: w } : { why: 'none yet' };
    }, 10000, `respawn of worker ${victimIndex}`, 50);
    note(`worker ${victimIndex} respawned as pid ${respawned.pid} ${Date.now() - killedAt} ms after the kill`);
    expect(S.exitInfo === null, `the master exited: ${JSON.stringify(S.exitInfo)}`);
    const ws = S.workers();
    expect(ws.length === S.n, `${ws.length} worker processes after the respawn`);
  });

  // let the storm run against the new worker for a moment, then end it
  const mark = Date.now();
  await poll(async () => (tellResults.filter((r) => r.at > mark).length >= 100 ? { done: true } : { why: 'few replies' }), T, 'TELL storm after the respawn')
    .catch(() => {});
  stop.flag = true;
  await check(`${tag}: every request pipelined around the kill got exactly one REPLY (TELLs at its clients, kv, PUBLISH from the other worker)`, async () => {
    results = (await withDeadline(Promise.all([st1, st2, mixed]), LONG + 5000, 'storm')).flat();
    note(`requests around the kill: ${tally(results)}`);
    const lost = results.filter((r) => r.error);
    expect(lost.length === 0, () => `${lost.length} of ${results.length} requests got no REPLY: ${lost.slice(0, 3).map((r) => `${r.label} ${r.error.message}`).join('; ')}`);
    const allowed = {
      TELL: [STATUS.OK, STATUS.NOT_FOUND, STATUS.UNAVAILABLE, STATUS.TIMEOUT],
      INCR: [STATUS.OK, STATUS.UNAVAILABLE, STATUS.TIMEOUT],
      GET: [STATUS.OK, STATUS.NOT_FOUND, STATUS.UNAVAILABLE, STATUS.TIMEOUT],
      PUBLISH: [STATUS.OK, STATUS.UNAVAILABLE, STATUS.TIMEOUT],
    };
    const bad = results.filter((r) => !allowed[r.label].includes(r.status));
    expect(bad.length === 0, () => `unexpected statuses: ${bad.slice(0, 3).map((r) => `${r.label} ${show(r)}`).join('; ')}`);
    await sleep(300);
    for (const x of [s1, s2, s3]) {
      expect(x.c.strayReplies.length === 0, `client ${x.id} got ${x.c.strayReplies.length} REPLY frames for sessions already answered or never sent`);
      expect(x.c.protocolErrors.length === 0, `client ${x.id}: ${x.c.protocolErrors.join('; ')}`);
    }
  }, LONG + 10000);

  await check(`${tag}: one publisher's messages stayed in order at the surviving members across the kill`, async () => {
    for (const x of [s1, s2]) await x.c.ping('sync', T);
    const okSeqs = results.filter((r) => r.label === 'PUBLISH' && r.status === STATUS.OK).length;
    for (const x of [s1, s2]) {
      const seqs = seen.get(x);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i] > seqs[i - 1], `member ${x.id}: #${seqs[i]} after #${seqs[i - 1]}`);
      expect(seqs.length >= okSeqs, `member ${x.id} got ${seqs.length} of s3's messages, ${okSeqs} PUBLISH requests were answered OK`);
      x.c.onPush = null;
    }
  });

  await check(`${tag}: after the respawn, TELL to a client of the killed worker: NOT_FOUND`, async () => {
    for (const id of deadIds) expectStatus(await s1.c.tell(id, 'gone?', T), STATUS.NOT_FOUND, `TELL to ${id} (was on the killed worker)`);
  });

  let n1;
  await check(`${tag}: connections land on the new worker ${victimIndex} and get ids never handed out before in this run`, async () => {
    const before = new Set(S.allIds);
    n1 = await S.on(victimIndex);
    const more = [await S.on(victimIndex), await S.on(victimIndex)];
    for (const x of [n1, ...more]) expect(!before.has(String(x.id)), `new worker ${victimIndex} handed out id ${x.id}, already seen before the kill`);
    expect(S.reused.length === 0, `ids handed out twice in this run: ${S.reused.join(',')}`);
    const pid = serverPidOfConnection(S.port, n1.c.localPort, [respawned ? respawned.pid : 0]);
    expect(pid !== null, 'the connection is not held by the new worker process');
  });

  if (n1) await check(`${tag}: the new worker takes part: TELL both ways, kv shared, rooms span it`, async () => {
    await tellBetween(s1, n1, 'new');
    await tellBetween(n1, s2, 'new');
    // kv: every key works again once the slot is filled (allow the new
    // worker a few seconds to be linked in; UNAVAILABLE until then).
    for (let q = 0; q < 20; q++) {
      const key = `after-respawn-${q}`;
      await poll(async () => {
        const w = await (q % 2 ? n1 : s1).c.kvSet(key, `n${q}`, 0, T);
        if (w.status === STATUS.UNAVAILABLE) return { why: `SET ${key}: ${show(w)}` };
        expectStatus(w, STATUS.OK, `SET ${key}`);
        return { done: true };
      }, T, `SET ${key} after the respawn`);
      const g = expectStatus(await (q % 2 ? s2 : n1).c.kvGet(key, T), STATUS.OK, `GET ${key} on the other worker`);
      expect(g.toString() === `n${q}`, `GET ${key}: ${g}`);
    }
    const jc = await joinCount(n1, roomName);
    expect(jc === 3, `JOIN from the new worker: count ${jc}, expected 3`);
    drain(s1, s2, n1);
    const n = await publishCount(s1, roomName, 'with new');
    expect(n === 3, `PUBLISH: delivered to ${n}, expected 3`);
    for (const x of [s1, s2, n1]) await expectRoomPush(x, roomName, s1, 'with new');
  });

  await check(`${tag}: INFO after the respawn: workers = ${S.n}, clients = all open connections`, async () => {
    for (const x of [s1, n1].filter(Boolean)) {
      await poll(async () => {
        const i = await info(x);
        if (i.workers !== String(S.n)) return { why: `workers ${i.workers}` };
        return i.clients === String(S.openCount()) ? { done: true } : { why: `clients ${i.clients}, open ${S.openCount()}` };
      }, T, `INFO on worker ${x.worker}`);
    }
  });
}

// ---- phase 2: ./hazel -w 3 ------------------------------------------------------

async function phaseThreeWorkers() {
  const S = new Server(3);
  note('./hazel -w 3');
  const started = await check('-w 3: server starts; master has 3 worker processes titled "hazel: worker 0..2"', async () => {
    await S.start();
    const ws = S.workers();
    expect(ws.map((w) => w.index).join(',') === '0,1,2', `worker titles: ${ws.map((w) => titleOf(w.pid)).join(' | ')}`);
  });
  if (!started) { note(S.tail()); await S.stop(); return; }

  let W = [];
  await check('-w 3: connections land on every worker (worker= takes 0, 1, 2); ids unique', async () => {
    W = [await S.on(0), await S.on(1), await S.on(2)];
    for (const x of S.clients) expect(x.worker >= 0 && x.worker < 3, `worker=${x.worker} with -w 3`);
    expect(S.reused.length === 0, `ids handed out twice: ${S.reused.join(',')}`);
    expect(S.allIds.size === S.clients.size, `${S.clients.size} connections, ${S.allIds.size} ids`);
  });
  if (W.length !== 3) { await S.stop(); return; }

  await check('-w 3: INFO on each worker: workers = 3, clients = open connections on all workers', async () => {
    for (const x of W) {
      await poll(async () => {
        const i = await info(x);
        if (i.workers !== '3') return { why: `workers ${i.workers}` };
        return i.clients === String(S.openCount()) ? { done: true } : { why: `clients ${i.clients}, open ${S.openCount()}` };
      }, T, `INFO on worker ${x.worker}`);
    }
  });

  await check('-w 3: TELL between every ordered pair of workers', async () => {
    for (const x of W) for (const y of W) if (x !== y) await tellBetween(x, y, 'pair');
  });

  await check('-w 3: kv: SET on worker 0, GET on 1 and 2; INCR from all three (pipelined) sums', async () => {
    const key = `w3-${Date.now()}`;
    expectStatus(await W[0].c.kvSet(key, 'x3', 0, T), STATUS.OK, 'SET');
    for (const x of W.slice(1)) {
      const b = expectStatus(await x.c.kvGet(key, T), STATUS.OK, `GET on worker ${x.worker}`);
      expect(b.toString() === 'x3', `GET on worker ${x.worker}: ${b}`);
    }
    const ck = `${key}-n`;
    const rs = await Promise.all(W.flatMap((x) => Array.from({ length: 30 }, () => x.c.kvIncr(ck, 2n, T))));
    for (const r of rs) expectStatus(r, STATUS.OK, 'INCR');
    for (const x of W) {
      const b = expectStatus(await x.c.kvGet(ck, T), STATUS.OK, 'GET');
      expect(b.toString() === '180', `GET on worker ${x.worker} after 90 INCR by 2: ${b}`);
    }
  });

  const R = `w3-room-${Date.now()}`;
  await check('-w 3: a room spanning 3 workers: JOIN counts 1,2,3; MEMBERS from each; PUBLISH from each delivered to 3', async () => {
    const counts = [];
    for (const x of W) counts.push(await joinCount(x, R));
    expect(counts.join(',') === '1,2,3', `JOIN counts ${counts}`);
    for (const x of W) {
      const m = (await membersOf(x, R)).join(',');
      expect(m === idSet(...W).join(','), `MEMBERS from worker ${x.worker}: [${m}]`);
    }
    for (const p of W) {
      drain(...W);
      const n = await publishCount(p, R, `from ${p.worker}`);
      expect(n === 3, `PUBLISH from worker ${p.worker}: delivered to ${n}`);
      for (const x of W) await expectRoomPush(x, R, p, `from ${p.worker}`);
    }
  });

  await check('-w 3: three publishers on three workers publishing at once (pipelined, 100 each): each one\'s messages in order at every member', async () => {
    drain(...W);
    const N = 100;
    const ps = [];
    for (let k = 0; k < N; k++) for (const p of W) ps.push(p.c.publish(R, `${p.worker}:${k}`, T));
    for (const r of await Promise.all(ps)) expect(r.status === STATUS.OK && room.parsePublish(r.body) === 3, `PUBLISH: ${show(r)}`);
    for (const x of W) {
      const got = await collectRoom(x, R, 3 * N);
      for (const p of W) expectInOrder(got, x, p, N, `${p.worker}:`);
    }
  });

  await stoppedWorkerChecks(S, W);
  await killStoppedWorkerChecks(S, W);

  await check('-w 3: SIGTERM to the master: clients on every worker get GOODBYE 5 SHUTDOWN, then the connection closes; master and workers exit', async () => {
    const conns = [...S.clients].filter((x) => !x.c.isClosed);
    const workers = S.workers();
    expect(new Set(conns.map((x) => x.worker)).size === 3, 'open connections do not cover the 3 workers');
    process.kill(S.pid, 'SIGTERM');
    const ends = await Promise.all(conns.map((x) => withDeadline(x.c.closed(), 10000, `connection of client ${x.id} (worker ${x.worker}) closing after SIGTERM`)));
    const bad = conns.filter((x, i) => !ends[i].goodbye || ends[i].goodbye.code !== GOODBYE.SHUTDOWN);
    expect(bad.length === 0, () => `${bad.length} of ${conns.length} clients did not get GOODBYE 5: e.g. client ${bad[0].id} on worker ${bad[0].worker} got ${bad[0].c.goodbye ? `GOODBYE ${bad[0].c.goodbye.code}` : 'no GOODBYE'}`);
    await withDeadline(S.exited, 10000, 'master exiting after SIGTERM');
    await poll(async () => (workers.every((w) => workerIndexOf(w.pid) === null) ? { done: true } : { why: 'a worker still runs' }), 5000, 'workers exiting');
  });
  await S.stop();
}

// A worker that stops answering (SIGSTOP): requests that need it get TIMEOUT,
// each request exactly one REPLY; after SIGCONT nothing answers twice.
async function stoppedWorkerChecks(S, W) {
  const idx = 2;
  const tag = `-w 3, SIGSTOP worker ${idx}`;
  const target = W[idx];
  const asker = W[0];
  const third = W[1];
  const w = S.workers().find((x) => x.index === idx);
  if (!w) { await check(`${tag}: setup`, () => fail('no worker 2 process')); return; }
  const keys = Array.from({ length: 24 }, (_, k) => `stop-key-${k}`);
  for (const key of keys) expectStatus(await asker.c.kvSet(key, `val-${key}`, 0, T), STATUS.OK, 'SET');
  const R = `stop-room-${Date.now()}`;
  for (const x of W) await joinCount(x, R);
  const openBefore = S.openCount();

  process.kill(w.pid, 'SIGSTOP');
  let tellP, infoP, getPs, pubP, memP;
  try {
    const started = Date.now();
    tellP = asker.c.tell(target.id, 'are you there', LONG).then((r) => ({ r, ms: Date.now() - started }));
    infoP = third.c.info(LONG).then((i) => ({ ok: true, i }), (e) => (e.code === 'ESTATUS' ? { ok: false, e } : Promise.reject(e)));
    getPs = keys.map((key) => asker.c.kvGet(key, LONG).then((r) => ({ key, r })));
    pubP = third.c.publish(R, 'to a room with a stopped member', LONG);
    memP = asker.c.members(R, LONG);

    await check(`${tag}: TELL to a client of the stopped worker gets exactly one REPLY: TIMEOUT`, async () => {
      const { r, ms } = await tellP;
      expectStatus(r, STATUS.TIMEOUT, 'TELL from worker 0 to a client of a worker that does not answer');
      note(`TIMEOUT after ${ms} ms`);
    }, LONG + 5000);

    await check(`${tag}: INFO while a worker does not answer: TIMEOUT, or OK with figures for the whole server (clients = all ${openBefore} open connections)`, async () => {
      const x = await infoP;
      if (!x.ok) { expect(/TIMEOUT|UNAVAILABLE/.test(x.e.message), `INFO: ${x.e.message}`); return; }
      expect(x.i.workers === '3', `INFO workers ${x.i.workers}`);
      expect(x.i.clients === String(openBefore), `INFO answered OK with clients ${x.i.clients}, but ${openBefore} connections are open (${S.clients.size} accepted, those of the stopped worker included); the document: "for the whole server, all workers summed". Body: ${Object.entries(x.i).filter(([k]) => /^(workers|clients|clients_total|workers_answered)$/.test(k)).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }, LONG + 5000);

    await check(`${tag}: kv GET of existing keys while a worker does not answer: each exactly one REPLY, the value or TIMEOUT/UNAVAILABLE, never NOT_FOUND`, async () => {
      const got = await Promise.all(getPs);
      const t = {};
      for (const { key, r } of got) {
        t[statusName(r.status)] = (t[statusName(r.status)] ?? 0) + 1;
        if (r.status === STATUS.OK) expect(r.body.toString() === `val-${key}`, `GET ${key}: ${r.body}`);
        else expect(r.status === STATUS.TIMEOUT || r.status === STATUS.UNAVAILABLE, `GET of existing key ${key}: ${show(r)}`);
      }
      note(`GETs while stopped: ${Object.entries(t).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }, LONG + 5000);

    await check(`${tag}: PUBLISH and MEMBERS of a room with a member on the stopped worker: exactly one REPLY each (OK, TIMEOUT or UNAVAILABLE)`, async () => {
      for (const [what, r] of [['PUBLISH', await pubP], ['MEMBERS', await memP]]) {
        expect(r.status === STATUS.OK || r.status === STATUS.TIMEOUT || r.status === STATUS.UNAVAILABLE, `${what}: ${show(r)}`);
        note(`${what} while stopped: ${show(r)}${r.status === STATUS.OK && what === 'PUBLISH' ? ' count ' + room.parsePublish(r.body) : ''}`);
      }
    }, LONG + 5000);
  } finally {
    try { process.kill(w.pid, 'SIGCONT'); } catch {}
  }

  await check(`${tag}, then SIGCONT: no second REPLY to any request; the worker's clients work again; INFO sessions_timed_out >= 1`, async () => {
    const r = await target.c.ping('back', T);
    expect(r.status === STATUS.OK && r.body.toString() === 'back', `PING on the resumed worker: ${show(r)}`);
    await tellBetween(asker, target, 'resumed');
    await asker.c.ping('sync', T);
    await third.c.ping('sync', T);
    await sleep(300);
    for (const x of W) expect(x.c.strayReplies.length === 0, `client on worker ${x.worker} got ${x.c.strayReplies.length} REPLY frames for sessions already answered`);
    const i = await info(third);
    expect(num(i.sessions_timed_out) >= 1, `INFO sessions_timed_out ${i.sessions_timed_out} after a TIMEOUT`);
  });
}

// A worker that dies while requests wait on it (SIGSTOP, then SIGKILL): each
// waiting request gets exactly one REPLY ("a service that went away produces
// UNAVAILABLE"); the slot is filled again and its clients get new ids.
async function killStoppedWorkerChecks(S, W) {
  const idx = 1;
  const tag = `-w 3, SIGSTOP then SIGKILL worker ${idx}`;
  const [asker, target, third] = [W[0], W[1], W[2]];
  const w = S.workers().find((x) => x.index === idx);
  if (!w) { await check(`${tag}: setup`, () => fail('no worker 1 process')); return; }
  const keys = Array.from({ length: 24 }, (_, k) => `stop-key-${k}`);
  const R = `dead-room-${Date.now()}`;
  for (const x of W) await joinCount(x, R);
  process.kill(w.pid, 'SIGSTOP');
  const sent = Date.now();
  let killedAt = 0;
  const ps = [
    ['TELL', asker.c.tell(target.id, 'are you there', LONG), [STATUS.NOT_FOUND, STATUS.UNAVAILABLE, STATUS.TIMEOUT]],
    ['PUBLISH', third.c.publish(R, 'x', LONG), [STATUS.OK, STATUS.UNAVAILABLE, STATUS.TIMEOUT]],
    ['MEMBERS', asker.c.members(R, LONG), [STATUS.OK, STATUS.UNAVAILABLE, STATUS.TIMEOUT]],
    ['INFO', third.c.call(SERVICE.SYS, SYS.INFO, null, LONG), [STATUS.OK, STATUS.UNAVAILABLE, STATUS.TIMEOUT]],
    ...keys.map((key) => [`GET ${key}`, asker.c.kvGet(key, LONG), [STATUS.OK, STATUS.NOT_FOUND, STATUS.UNAVAILABLE, STATUS.TIMEOUT]]),
  ].map(([what, p, allowed]) => p.then((r) => ({ what, r, allowed, ms: Date.now() - sent, at: Date.now() }), (e) => ({ what, e, allowed })));
  await sleep(500);
  try { process.kill(w.pid, 'SIGKILL'); killedAt = Date.now(); } catch (e) { try { process.kill(w.pid, 'SIGCONT'); } catch {} }

  await check(`${tag}: every request waiting on it gets exactly one REPLY (TELL: NOT_FOUND/UNAVAILABLE/TIMEOUT; kv, PUBLISH, MEMBERS, INFO: a status the document allows)`, async () => {
    expect(killedAt, 'could not kill the worker');
    const got = await Promise.all(ps);
    const t = {};
    for (const g of got) {
      expect(!g.e, () => `${g.what}: ${g.e.message}`);
      const k = `${g.what.split(' ')[0]}:${statusName(g.r.status)}`;
      t[k] = (t[k] ?? 0) + 1;
      expect(g.allowed.includes(g.r.status), `${g.what}: ${show(g.r)}`);
      if (g.what.startsWith('GET ') && g.r.status === STATUS.OK) expect(g.r.body.toString() === `val-${g.what.slice(4)}`, `${g.what}: ${g.r.body}`);
    }
    note(`waiting requests (killed ${killedAt - sent} ms after sending): ${Object.entries(t).map(([k, v]) => `${k}=${v}`).join(' ')}; last answered ${Math.max(...got.map((g) => g.ms))} ms after sending`);
    await target.c.closed();
    await asker.c.ping('sync', T);
    await third.c.ping('sync', T);
    for (const x of [asker, third]) expect(x.c.strayReplies.length === 0, `client on worker ${x.worker} got a second REPLY`);
  }, LONG + 5000);

  await check(`${tag}: requests still waiting on it when it died are answered as gone (UNAVAILABLE; NOT_FOUND for its lost client or key), not left to TIMEOUT`, async () => {
    const got = await Promise.all(ps);
    const after = got.filter((g) => !g.e && g.at >= killedAt);
    expect(after.some((g) => g.what === 'TELL'), 'the TELL to the stopped worker\'s client was answered before the kill');
    for (const g of after) {
      if (g.r.status === STATUS.OK && !g.what.startsWith('TELL')) continue;
      expect(g.r.status === STATUS.UNAVAILABLE || g.r.status === STATUS.NOT_FOUND,
        `${g.what}, sent to a stopped worker and answered ${g.at - killedAt} ms after that worker was killed: ${show(g.r)}; the document: "a service that went away produces UNAVAILABLE"`);
    }
  });

  await check(`${tag}: a new worker ${idx} appears; its clients get new ids; the member it held is out of the room`, async () => {
    await poll(async () => {
      const n = S.workers().find((x) => x.index === idx);
      return n && n.pid !== w.pid ? { done: true } : { why: 'not yet' };
    }, 10000, `respawn of worker ${idx}`);
    const before = new Set(S.allIds);
    const x = await S.on(idx);
    expect(!before.has(String(x.id)), `id ${x.id} handed out again`);
    W[idx] = x;
    const mem = (await membersOf(asker, R)).join(',');
    expect(mem === idSet(asker, third).join(','), `MEMBERS after the worker died: [${mem}], expected [${idSet(asker, third)}]`);
    await tellBetween(third, x, 'new');
  });
}

// ---- main ---------------------------------------------------------------------------

await run({ hazel: HAZEL, limitMs: RUN_LIMIT_MS, cleanup: killAll }, async () => {
  await phaseTwoWorkers();
  await phaseThreeWorkers();
});
