// Conformance checks for the WebSocket transport of PROTOCOL.md, run against
// ./hazel --ws-port over real sockets. Written from /work/shared/PROTOCOL.md
// and RFC 6455 alone: the WebSocket client below is built on node:net and
// node:crypto, and carries the hazel client of hazel.mjs.
//
//   node tests/conformance/websocket.mjs     (from the repo root, after make)
//
// Prints "ok - <name>" / "not ok - <name>: <why>" per check, then
// "N passed, M failed"; exits 0 only if every check passed. The whole run is
// bounded (RUN_LIMIT_MS) and every process it started is killed on exit.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import {
  Client, FrameDecoder, encodeFrame, SERVICE, SYS, KIND, STATUS, HEADER_SIZE,
  statusName, okBody, sys, room,
} from './hazel.mjs';
import {
  note, CheckError, fail, expect, withDeadline, check as runCheck, sleep, freePort, run,
} from './checks.mjs';

const HOST = '127.0.0.1';
const HAZEL = process.env.HAZEL ?? './hazel';
const RUN_LIMIT_MS = 90000;
const T = 10000;          // deadline for anything the server should do (the machine may be loaded)
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
// A check may take several steps of up to T each.
const check = (name, fn, ms = 4 * T) => runCheck(name, fn, ms);
const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

// ---- reporting ------------------------------------------------------------

const show = (r) => `${statusName(r.status)}${r.body.length ? ' ' + JSON.stringify(r.body.toString('utf8').slice(0, 80)) : ''}`;

// ---- WebSocket (RFC 6455, client side) -----------------------------------------

// One WebSocket frame as a client sends it. opts: fin (default true),
// mask (default true), rsv (bits 4..6 of byte 0, default 0).
function wsFrame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload ?? '');
  const n = p.length;
  const lenBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const h = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  h[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  h[1] = (mask ? 0x80 : 0) | (n < 126 ? n : n < 65536 ? 126 : 127);
  if (lenBytes === 2) h.writeUInt16BE(n, 2);
  if (lenBytes === 8) h.writeBigUInt64BE(BigInt(n), 2);
  if (!mask) return Buffer.concat([h, p]);
  const key = crypto.randomBytes(4);
  key.copy(h, 2 + lenBytes);
  const m = Buffer.alloc(n);
  for (let i = 0; i < n; i++) m[i] = p[i] ^ key[i & 3];
  return Buffer.concat([h, m]);
}

function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

// Parses the server → client direction; records what RFC 6455 forbids a
// server to send (masked frames, fragmented control frames, reserved bits).
class WsParser {
  constructor(onFrame) { this.buf = Buffer.alloc(0); this.onFrame = onFrame; this.errors = []; }
  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const rsv = (b[0] >> 4) & 7;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let n = b[1] & 0x7f;
      let off = 2;
      if (n === 126) { if (b.length < 4) return; n = b.readUInt16BE(2); off = 4; }
      else if (n === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) { this.errors.push(`64-bit length ${big}`); this.buf = Buffer.alloc(0); return; }
        n = Number(big); off = 10;
      }
      if (masked) off += 4;
      if (b.length < off + n) return;
      let payload = Buffer.from(b.subarray(off, off + n));
      if (masked) {
        this.errors.push(`server frame (opcode ${opcode}) is masked`);
        const key = b.subarray(off - 4, off);
        for (let i = 0; i < n; i++) payload[i] ^= key[i & 3];
      }
      if (rsv) this.errors.push(`server frame with RSV bits ${rsv}`);
      if (opcode >= 8 && (!fin || n > 125)) this.errors.push(`control frame opcode ${opcode} fin ${fin} length ${n}`);
      this.buf = b.subarray(off + n);
      this.onFrame({ fin, opcode, payload, lenField: b[1] & 0x7f });
    }
  }
}

// The HTTP upgrade. Resolves { status, headers, ws } where ws is a WsConn once
// the server answered 101 (else null, the socket closed).
function wsConnect(port, { path = '/ws', protocol = 'hazel.v1', origin = null, timeoutMs = T } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    const key = crypto.randomBytes(16).toString('base64');
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new CheckError(`upgrade on port ${port}: no answer within ${timeoutMs} ms`)); }, timeoutMs);
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.once('connect', () => {
      sock.setNoDelay(true);
      const lines = [
        `GET ${path} HTTP/1.1`, `Host: ${HOST}:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
        `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13',
      ];
      if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
      if (origin) lines.push(`Origin: ${origin}`);
      sock.write(lines.join('\r\n') + '\r\n\r\n');
    });
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      sock.removeListener('data', onData);
      sock.removeAllListeners('error');
      const [statusLine, ...hs] = head.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
      const headers = {};
      for (const l of hs) { const i = l.indexOf(':'); if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim(); }
      const status = m ? Number(m[1]) : 0;
      const expectedAccept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
      if (status !== 101) { sock.destroy(); resolve({ status, statusLine, headers, expectedAccept, ws: null }); return; }
      const ws = new WsConn(sock);
      resolve({ status, statusLine, headers, expectedAccept, ws });
      const rest = head.subarray(end + 4);
      if (rest.length) ws.parser.push(rest);
    };
    sock.on('data', onData);
  });
}

// A WebSocket connection after the upgrade. It looks like a net.Socket to
// hazel.mjs's Client: write() sends one masked binary message, 'data' is one
// binary message received, 'close' is the TCP connection closing.
class WsConn extends EventEmitter {
  constructor(sock) {
    super();
    this.sock = sock;
    this.events = [];          // in arrival order: { type: 'binary'|'text'|'ping'|'pong'|'close', ... }
    this.errors = [];          // what the server sent that RFC 6455 or PROTOCOL.md forbid
    this.closeFrame = null;    // { code, reason } of the server's Close
    this.closeSent = false;
    this.tcpClosed = false;
    this.frag = null;          // { opcode, parts } of a message being reassembled
    this.waiters = [];
    this.parser = new WsParser((f) => this._onFrame(f));
    this._closed = new Promise((r) => { this._resolveClosed = r; });
    sock.on('data', (c) => this.parser.push(c));
    sock.on('error', (e) => { this.sockError = e; });
    sock.on('close', () => { this.tcpClosed = true; this._wake(); this._resolveClosed(); this.emit('close'); });
  }

  _event(e) { this.events.push(e); this._wake(); }
  _wake() { for (const w of this.waiters.splice(0)) w(); }

  _onFrame({ fin, opcode, payload }) {
    if (this.closeFrame) { this.errors.push(`frame opcode ${opcode} after the server's Close`); return; }
    if (opcode === OP.PING) { this._event({ type: 'ping', payload }); this.raw(wsFrame(OP.PONG, payload)); return; }
    if (opcode === OP.PONG) { this._event({ type: 'pong', payload }); return; }
    if (opcode === OP.CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
      this.closeFrame = { code, reason: payload.subarray(2).toString('utf8') };
      this._event({ type: 'close', code, reason: this.closeFrame.reason });
      if (!this.closeSent) { this.closeSent = true; this.raw(wsFrame(OP.CLOSE, code ? closePayload(code) : Buffer.alloc(0))); }
      return;
    }
    if (opcode === OP.CONT) {
      if (!this.frag) { this.errors.push('continuation frame with no message started'); return; }
      this.frag.parts.push(payload);
    } else if (opcode === OP.TEXT || opcode === OP.BINARY) {
      if (this.frag) this.errors.push('new data frame inside a fragmented message');
      this.frag = { opcode, parts: [payload] };
    } else { this.errors.push(`reserved opcode ${opcode}`); return; }
    if (!fin) return;
    const msg = Buffer.concat(this.frag.parts);
    const op = this.frag.opcode;
    this.frag = null;
    if (op === OP.TEXT) { this.errors.push('server sent a text message'); this._event({ type: 'text', payload: msg }); return; }
    // PROTOCOL.md: every binary message carries exactly one frame.
    let frames = [];
    try { frames = new FrameDecoder(1 << 30).push(msg); } catch (e) { this.errors.push(`binary message: ${e.message}`); }
    const len = msg.length >= HEADER_SIZE ? msg.readUInt32BE(12) : -1;
    if (frames.length !== 1 || msg.length !== HEADER_SIZE + len) this.errors.push(`binary message of ${msg.length} bytes is not exactly one hazel frame`);
    this._event({ type: 'binary', payload: msg, frame: frames[0] ?? null });
    this.emit('data', msg);
  }

  // Resolves once pred(events) is true, or rejects after ms.
  until(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new CheckError(`${what}: not within ${ms} ms`)), ms);
      const test = () => {
        if (pred(this.events)) { clearTimeout(timer); resolve(); return; }
        if (this.tcpClosed) { clearTimeout(timer); reject(new CheckError(`${what}: connection closed first`)); return; }
        this.waiters.push(test);
      };
      test();
    });
  }

  raw(buf) { if (!this.sock.destroyed) this.sock.write(buf, () => {}); }
  // net.Socket look-alike for hazel.mjs's Client:
  setNoDelay() {}
  write(buf) { this.raw(wsFrame(OP.BINARY, buf)); return true; }
  end() { if (!this.closeSent) { this.closeSent = true; this.raw(wsFrame(OP.CLOSE, closePayload(1000))); } }
  destroy() { this.sock.destroy(); }
  get localPort() { return this.sock.localPort; }
  closed() { return this._closed; }
}

// ---- server harness -------------------------------------------------------------

const servers = new Set();

class Server {
  constructor(extra = []) { this.extra = extra; this.log = []; this.conns = new Set(); }
  async start() {
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort(HOST);
      this.wsPort = await freePort(HOST);
      this.proc = spawn(HAZEL, ['-b', HOST, '-p', String(this.port), '--ws-port', String(this.wsPort), ...this.extra],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      servers.add(this);
      this.exitInfo = null;
      this.exited = new Promise((r) => this.proc.once('exit', (code, sig) => { this.exitInfo = { code, sig }; r(this.exitInfo); }));
      for (const s of [this.proc.stdout, this.proc.stderr]) {
        s.setEncoding('utf8');
        s.on('data', (d) => { this.log.push(...d.split('\n').filter(Boolean)); if (this.log.length > 200) this.log.splice(0, this.log.length - 200); });
      }
      const end = Date.now() + T;
      for (;;) {
        if (this.exitInfo) break;
        try {
          const c = await this.tcp();
          const r = await wsConnect(this.wsPort);
          if (r.ws) { r.ws.destroy(); c.destroy(); return; }
        } catch {}
        if (Date.now() > end) fail(`./hazel ${this.extra.join(' ')} not ready within ${T} ms: ${this.tail()}`);
        await sleep(50);
      }
      servers.delete(this);
      if (!this.log.some((l) => /in use/i.test(l))) fail(`./hazel exited ${JSON.stringify(this.exitInfo)}: ${this.tail()}`);
    }
    fail('could not start ./hazel on free ports');
  }
  // A hazel client over TCP (hazel.mjs), with its HELLO: { c, id, hello }
  async tcp() {
    const c = await Client.connect(HOST, this.port, { timeoutMs: T });
    this.conns.add(c);
    return c;
  }
  // A hazel client over WebSocket: { c (hazel.mjs Client), ws (WsConn), up (upgrade answer) }
  async ws(opts) {
    const up = await wsConnect(this.wsPort, opts);
    if (!up.ws) fail(`upgrade: ${up.statusLine}`);
    const c = new Client(up.ws, 1048576);
    this.conns.add(c);
    return { c, ws: up.ws, up };
  }
  kill() { try { this.proc.kill('SIGKILL'); } catch {} }
  async stop() {
    for (const c of this.conns) c.destroy();
    if (this.proc && !this.exitInfo) {
      try { this.proc.kill('SIGTERM'); } catch {}
      await withDeadline(this.exited, 5000, 'server exit').catch(() => {});
      this.kill();
      await withDeadline(this.exited, 5000, 'server exit').catch(() => {});
    }
    servers.delete(this);
  }
  tail(n = 10) { return this.log.slice(-n).join('\n'); }
}

function killAll() { for (const s of servers) s.kill(); }

// ---- helpers for checks ---------------------------------------------------------

async function helloOf(c) {
  const h = sys.parseHello(okBody(await c.call(SERVICE.SYS, SYS.HELLO, null, T)));
  expect(/^[1-9][0-9]*$/.test(h.client ?? ''), `HELLO client=${h.client}`);
  return { ...h, id: BigInt(h.client) };
}

async function expectPing(c, what) {
  const data = `ping ${what} ${crypto.randomBytes(4).toString('hex')}`;
  const r = await c.ping(data, T);
  expect(r.status === STATUS.OK && r.body.toString() === data, `PING (${what}): ${show(r)}`);
}

async function expectTellPush(c, from, payload) {
  const p = await c.nextPush(T);
  expect(p.service === SERVICE.SYS && p.code === SYS.TELL, `PUSH service ${p.service} code ${p.code}, expected TELL (0, 6)`);
  const t = sys.parseTellPush(p.body);
  expect(t.sender === from, `TELL PUSH sender ${t.sender}, expected ${from}`);
  expect(t.payload.toString() === payload, `TELL PUSH payload ${JSON.stringify(t.payload.toString())}`);
}

async function expectRoomPush(c, name, from, payload) {
  const p = await c.nextPush(T);
  expect(p.service === SERVICE.ROOM && p.code === 3, `PUSH service ${p.service} code ${p.code}, expected room PUSH (3, 3)`);
  const r = room.parsePush(p.body);
  expect(r.room === name && r.publisher === from && r.payload.toString() === payload,
    `room PUSH ${JSON.stringify({ room: r.room, publisher: String(r.publisher), payload: r.payload.toString() })}`);
}

// A rules-breaker: after `send(ws)` the server sends GOODBYE `code` as its last
// binary message, then a Close frame (code `closeCode` if the document names
// one), and the connection ends. Returns the Close code seen.
async function expectGoodbyeThenClose(x, code, closeCode, what) {
  const { ws } = x;
  await ws.until((ev) => ev.some((e) => e.type === 'close'), T, `${what}: a Close frame`);
  await withDeadline(ws.closed(), T, `${what}: the connection ending after Close`);
  const ci = ws.events.findIndex((e) => e.type === 'close');
  const bins = ws.events.slice(0, ci).filter((e) => e.type === 'binary');
  const last = bins[bins.length - 1];
  expect(last && last.frame && last.frame.kind === KIND.GOODBYE,
    () => `${what}: last binary message before Close is ${last ? (last.frame ? `kind ${last.frame.kind}` : 'not a frame') : 'missing'}, expected GOODBYE ${code}`);
  expect(last.frame.code === code, `${what}: GOODBYE ${last.frame.code} ${JSON.stringify(last.frame.body.toString())}, expected GOODBYE ${code}`);
  const close = ws.events[ci];
  if (closeCode !== null) expect(close.code === closeCode, `${what}: Close code ${close.code}, expected ${closeCode}`);
  else expect(close.code === null || (close.code >= 1000 && close.code < 5000 && ![1004, 1005, 1006, 1015].includes(close.code)), `${what}: Close code ${close.code} is not one a Close frame may carry`);
  expect(ws.events.slice(ci + 1).every((e) => e.type === 'close'), `${what}: frames after the Close`);
  expect(ws.errors.length === 0, `${what}: ${ws.errors.join('; ')}`);
  note(`${what}: GOODBYE ${last.frame.code} ${JSON.stringify(last.frame.body.toString())}, Close ${close.code}`);
}

function httpGet(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, headers, agent: false, timeout: T }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new CheckError(`GET ${path}: no answer within ${T} ms`)));
    req.on('error', reject);
  });
}

// ---- checks ---------------------------------------------------------------------

async function main() {
  const S = new Server();
  const started = await check('./hazel --ws-port starts; TCP and WebSocket ports answer', () => S.start());
  if (!started) return;

  let W = null;
  let maxFrame = 1048576;
  await check('upgrade to /ws: 101, Upgrade/Connection headers, Sec-WebSocket-Accept = base64(SHA-1(key + GUID)), subprotocol hazel.v1 selected', async () => {
    W = await S.ws();
    const { up } = W;
    expect(/websocket/i.test(up.headers.upgrade ?? ''), `Upgrade: ${up.headers.upgrade}`);
    expect(/upgrade/i.test(up.headers.connection ?? ''), `Connection: ${up.headers.connection}`);
    expect(up.headers['sec-websocket-accept'] === up.expectedAccept, `Sec-WebSocket-Accept ${up.headers['sec-websocket-accept']}, expected ${up.expectedAccept}`);
    expect(up.headers['sec-websocket-protocol'] === 'hazel.v1', `Sec-WebSocket-Protocol: ${up.headers['sec-websocket-protocol']}`);
  });
  if (!W) return;

  let wHello = null;
  await check('HELLO over WebSocket: protocol=1, server=hazel/..., client id, max_frame, idle_timeout_ms; one frame per binary message', async () => {
    wHello = await helloOf(W.c);
    expect(wHello.protocol === '1', `protocol=${wHello.protocol}`);
    expect(/^hazel\//.test(wHello.server ?? ''), `server=${wHello.server}`);
    expect(/^[0-9]+$/.test(wHello.max_frame ?? '') && /^[0-9]+$/.test(wHello.idle_timeout_ms ?? ''), `max_frame=${wHello.max_frame} idle_timeout_ms=${wHello.idle_timeout_ms}`);
    maxFrame = Number(wHello.max_frame);
    expect(W.ws.errors.length === 0, W.ws.errors.join('; '));
  });
  if (!wHello) return;

  await check('PING round trip over WebSocket (small, 16-bit and 64-bit WebSocket lengths)', async () => {
    await expectPing(W.c, 'small');
    for (const n of [1000, 70000]) {
      const data = crypto.randomBytes(n);
      const r = await W.c.ping(data, T);
      expect(r.status === STATUS.OK && r.body.equals(data), `PING of ${n} bytes: ${statusName(r.status)}, ${r.body.length} bytes back`);
    }
    const lens = new Set(W.ws.events.filter((e) => e.type === 'binary').map((e) => (e.payload.length < 126 ? 7 : e.payload.length < 65536 ? 16 : 64)));
    expect(lens.has(7) && lens.has(16) && lens.has(64), `length forms seen: ${[...lens]}`);
    expect(W.ws.errors.length === 0, W.ws.errors.join('; '));
  });

  const tcp = await S.tcp();
  let tHello = null;
  await check('a TCP client and a WebSocket client TELL each other both ways', async () => {
    tHello = await helloOf(tcp);
    expect(tHello.id !== wHello.id, 'same client id on TCP and WebSocket');
    expect((await tcp.tell(wHello.id, 'tcp to ws', T)).status === STATUS.OK, 'TELL TCP -> WebSocket');
    await expectTellPush(W.c, tHello.id, 'tcp to ws');
    expect((await W.c.tell(tHello.id, 'ws to tcp', T)).status === STATUS.OK, 'TELL WebSocket -> TCP');
    await expectTellPush(tcp, wHello.id, 'ws to tcp');
  });

  await check('a TCP client and a WebSocket client share a room: JOIN counts, PUBLISH from each delivered to 2, both get the PUSH', async () => {
    const R = `ws-room-${Date.now()}`;
    expect(room.parseJoin(okBody(await tcp.join(R, T))) === 1, 'JOIN on TCP: count');
    expect(room.parseJoin(okBody(await W.c.join(R, T))) === 2, 'JOIN on WebSocket: count');
    for (const [p, id] of [[W.c, wHello.id], [tcp, tHello.id]]) {
      const payload = `from ${id}`;
      const n = room.parsePublish(okBody(await p.publish(R, payload, T)));
      expect(n === 2, `PUBLISH delivered to ${n}`);
      await expectRoomPush(tcp, R, id, payload);
      await expectRoomPush(W.c, R, id, payload);
    }
  });

  await check('kv: SET over WebSocket, GET over TCP, and the other way', async () => {
    const k = `ws-kv-${Date.now()}`;
    expect((await W.c.kvSet(k, 'set on ws', 0, T)).status === STATUS.OK, 'SET on WebSocket');
    expect(okBody(await tcp.kvGet(k, T)).toString() === 'set on ws', 'GET on TCP');
    expect((await tcp.kvSet(k + 't', 'set on tcp', 0, T)).status === STATUS.OK, 'SET on TCP');
    expect(okBody(await W.c.kvGet(k + 't', T)).toString() === 'set on tcp', 'GET on WebSocket');
  });

  // Sends a REQUEST PING split into WebSocket fragments (and, if `ping`, a
  // WebSocket Ping between them); expects the REPLY.
  async function fragmentedPing(x, withPing) {
    const session = 0x5eed0000 + (withPing ? 1 : 0);
    const data = `fragmented${withPing ? ' with a Ping inside' : ''}`;
    const f = encodeFrame(KIND.REQUEST, SERVICE.SYS, SYS.PING, session, data);
    const got = new Promise((resolve) => {
      x.c.pending.set(session, { resolve, reject: () => {}, timer: null, request: {} });
    });
    x.ws.raw(wsFrame(OP.BINARY, f.subarray(0, 5), { fin: false }));
    if (withPing) x.ws.raw(wsFrame(OP.PING, 'between fragments'));
    x.ws.raw(wsFrame(OP.CONT, f.subarray(5, 20), { fin: false }));
    x.ws.raw(wsFrame(OP.CONT, f.subarray(20), { fin: true }));
    const r = await withDeadline(got, T, 'REPLY to a fragmented message');
    expect(r.status === STATUS.OK && r.body.toString() === data, `REPLY ${show(r)}`);
    if (withPing) await x.ws.until((ev) => ev.some((e) => e.type === 'pong' && e.payload.toString() === 'between fragments'), T, 'Pong');
  }
  await check('a fragmented binary message (3 frames) is reassembled into one hazel frame', () => fragmentedPing(W, false));
  await check('a fragmented binary message with a Ping between its fragments: Pong, and the message reassembled', () => fragmentedPing(W, true));

  await check('a WebSocket Ping is answered by a Pong with the same data', async () => {
    const data = crypto.randomBytes(100);
    W.ws.raw(wsFrame(OP.PING, data));
    await W.ws.until((ev) => ev.some((e) => e.type === 'pong' && e.payload.equals(data)), T, 'Pong with the Ping\'s data');
    await expectPing(W.c, 'after Ping');
  });

  await check('a client Close is answered by a Close, and the connection ends', async () => {
    const x = await S.ws();
    await expectPing(x.c, 'before Close');
    x.ws.closeSent = true;
    x.ws.raw(wsFrame(OP.CLOSE, closePayload(1000, 'bye')));
    await x.ws.until((ev) => ev.some((e) => e.type === 'close'), T, 'a Close frame back');
    await withDeadline(x.ws.closed(), T, 'the connection ending');
    const close = x.ws.events.find((e) => e.type === 'close');
    expect(close.code === 1000 || close.code === null, `Close code ${close.code} in answer to 1000`);
    expect(x.ws.errors.length === 0, x.ws.errors.join('; '));
  });

  // The rules-breakers. Each on a connection of its own, with W (well
  // behaved, on the same server) answering a PING after each.
  const breakers = [
    ['a text message', 1, null, (x) => x.ws.raw(wsFrame(OP.TEXT, 'hello'))],
    ['an unmasked client frame', 1, null, (x) => x.ws.raw(wsFrame(OP.BINARY, encodeFrame(KIND.REQUEST, SERVICE.SYS, SYS.PING, 1, 'x'), { mask: false }))],
    ['a binary message carrying two hazel frames', 1, null, (x) => x.ws.raw(wsFrame(OP.BINARY, Buffer.concat([
      encodeFrame(KIND.REQUEST, SERVICE.SYS, SYS.PING, 1, 'a'), encodeFrame(KIND.REQUEST, SERVICE.SYS, SYS.PING, 2, 'b')])))],
    ['a binary message carrying half a hazel frame', 1, null, (x) => x.ws.raw(wsFrame(OP.BINARY, encodeFrame(KIND.REQUEST, SERVICE.SYS, SYS.PING, 1, 'a body of twenty-two b').subarray(0, 27)))],
    ['a binary message shorter than a hazel header', 1, null, (x) => x.ws.raw(wsFrame(OP.BINARY, Buffer.from('HZ\x01')))],
    ['a hazel frame with bad magic', 1, null, (x) => { const f = encodeFrame(KIND.REQUEST, SERVICE.SYS, SYS.PING, 1, 'x'); f[0] = 0x47; x.ws.raw(wsFrame(OP.BINARY, f)); }],
    ['a WebSocket frame with a reserved bit set (an invalid WebSocket frame)', 1, null, (x) => x.ws.raw(wsFrame(OP.BINARY, encodeFrame(KIND.REQUEST, SERVICE.SYS, SYS.PING, 1, 'x'), { rsv: 4 }))],
    [`a message longer than 16 + max_frame, sent in full`, 2, 1009, (x) => {
      const f = Buffer.alloc(HEADER_SIZE + maxFrame + 1);
      encodeFrame(KIND.REQUEST, SERVICE.SYS, SYS.PING, 1, null).copy(f);
      f.writeUInt32BE(maxFrame + 1, 12);
      x.ws.raw(wsFrame(OP.BINARY, f));
    }],
  ];
  for (const [what, code, closeCode, send] of breakers) {
    await check(`${what}: GOODBYE ${code}, then Close${closeCode ? ` (${closeCode})` : ''}, the connection ends; another WebSocket client keeps working`, async () => {
      const x = await S.ws();
      await expectPing(x.c, 'before');
      send(x);
      await expectGoodbyeThenClose(x, code, closeCode, what);
      await expectPing(W.c, `well-behaved client after ${what}`);
    });
  }

  await check('GET / returns the chat page (200, text/html)', async () => {
    const r = await httpGet(S.wsPort, '/');
    expect(r.status === 200, `status ${r.status}`);
    expect(/^text\/html/i.test(r.headers['content-type'] ?? ''), `Content-Type ${r.headers['content-type']}`);
    expect(/<html|<!doctype html/i.test(r.body), 'body is not HTML');
  });
  await check('GET /hazel.js returns JavaScript (200)', async () => {
    const r = await httpGet(S.wsPort, '/hazel.js');
    expect(r.status === 200, `status ${r.status}`);
    expect(/javascript/i.test(r.headers['content-type'] ?? ''), `Content-Type ${r.headers['content-type']}`);
    expect(r.body.length > 0, 'empty body');
  });
  await check('GET of an unknown path: 404', async () => {
    const r = await httpGet(S.wsPort, `/no-such-path-${Date.now()}`);
    expect(r.status === 404, `status ${r.status}`);
  });
  await check('after all that: the TCP and WebSocket clients still work; INFO counts both', async () => {
    await expectPing(W.c, 'end');
    await expectPing(tcp, 'end');
    const i = sys.parseInfo(okBody(await W.c.call(SERVICE.SYS, SYS.INFO, null, T)));
    expect(Number(i.clients) >= 2, `INFO clients ${i.clients}`);
    expect(W.c.protocolErrors.length === 0 && W.c.strayReplies.length === 0, `WebSocket client: ${W.c.protocolErrors.join('; ')} ${W.c.strayReplies.length} stray replies`);
    expect(W.ws.errors.length === 0, W.ws.errors.join('; '));
  });
  await S.stop();

  const O = new Server(['--ws-origin', 'http://good.example']);
  if (!(await check('./hazel --ws-origin http://good.example starts', () => O.start()))) return;
  await check('--ws-origin http://good.example: an upgrade from Origin http://evil.example gets 403', async () => {
    const r = await wsConnect(O.wsPort, { origin: 'http://evil.example' });
    expect(r.status === 403, `answer: ${r.statusLine}`);
  });
  await check('--ws-origin http://good.example: an upgrade from Origin http://good.example gets 101 and works', async () => {
    const x = await O.ws({ origin: 'http://good.example' });
    await expectPing(x.c, 'good origin');
  });
  await O.stop();
}

await run({ hazel: HAZEL, limitMs: RUN_LIMIT_MS, cleanup: killAll }, main);
