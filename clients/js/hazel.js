// hazel.js — a client for hazel's WebSocket transport (wire protocol v1,
// docs/PROTOCOL.md), for browsers and Node.js >= 20. One ES module, no
// dependencies. Node 20 has WebSocket behind --experimental-websocket
// (Node 22 has it always); elsewhere pass one: connect(url, { WebSocket }).
//
//   import { connect } from './hazel.js';
//   const c = await connect('ws://localhost:8080/ws');  // says HELLO
//   await c.kv.set('greeting', 'hi');
//   await c.room.join('lobby');
//   c.room.onMessage((m) => console.log(m.room, m.from, m.text));
//   await c.room.publish('lobby', 'hello');
//
// Every binary WebSocket message is one hazel frame: a 16-byte header and
// its body. call() resolves with the REPLY whatever its status; the
// helpers (kv, room, ...) resolve with what the op returns and reject with
// a HazelError when the status says it failed. Client ids are u64: they
// are BigInts here.

export const VERSION = 1;
export const HEADER_SIZE = 16;
export const SUBPROTOCOL = 'hazel.v1';

export const KIND = Object.freeze({ REQUEST: 1, REPLY: 2, SEND: 3, PUSH: 4, GOODBYE: 5 });

export const STATUS = Object.freeze({
  OK: 0, BAD_REQUEST: 1, NO_SERVICE: 2, NO_OP: 3, NOT_FOUND: 4, TIMEOUT: 5,
  UNAVAILABLE: 6, TOO_LARGE: 7, BUSY: 8, INTERNAL: 9, DENIED: 10,
});

export const GOODBYE = Object.freeze({
  PROTOCOL: 1, TOO_LARGE: 2, IDLE: 3, SLOW: 4, SHUTDOWN: 5, FULL: 6, KICKED: 7,
  LIMIT: 8,
});

export const SERVICE = Object.freeze({ SYS: 0, ECHO: 1, KV: 2, ROOM: 3 });
export const SYS = Object.freeze({
  PING: 1, HELLO: 2, RESOLVE: 3, SERVICES: 4, INFO: 5, TELL: 6, AUTH: 7,
});
export const ECHO = Object.freeze({ ECHO: 1 });
export const KV = Object.freeze({ GET: 1, SET: 2, DEL: 3, INCR: 4 });
export const ROOM = Object.freeze({ JOIN: 1, LEAVE: 2, PUBLISH: 3, MEMBERS: 4 });

const nameOf = (table) => {
  const names = Object.fromEntries(Object.entries(table).map(([k, v]) => [v, k]));
  return (code) => names[code] ?? `${code}`;
};
// 'NOT_FOUND' for 4; an unknown code as its number.
export const statusName = nameOf(STATUS);
export const goodbyeName = nameOf(GOODBYE);

const DEFAULT_TIMEOUT_MS = 10000;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

// Bytes of a body given as a string (UTF-8), bytes, an ArrayBuffer or nothing.
export function toBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return utf8.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('a body is a string, a Uint8Array or an ArrayBuffer');
}

export const text = (bytes) => fromUtf8.decode(bytes);

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u16(v) {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v);
  return b;
}
function u32(v) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v);
  return b;
}
function u64(v) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)));
  return b;
}
function i64(v) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, BigInt(v)));
  return b;
}
const view = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength);

// ---- frames -------------------------------------------------------------------

export function encodeFrame(kind, service, code, session, body) {
  const b = toBytes(body);
  const f = new Uint8Array(HEADER_SIZE + b.length);
  const v = new DataView(f.buffer);
  f[0] = 0x48; // 'H'
  f[1] = 0x5a; // 'Z'
  f[2] = VERSION;
  f[3] = kind;
  v.setUint16(4, service);
  v.setUint16(6, code);
  v.setUint32(8, session >>> 0);
  v.setUint32(12, b.length);
  f.set(b, HEADER_SIZE);
  return f;
}

// One frame from one WebSocket message, or throws if it is not exactly one
// frame of a kind a server sends.
export function decodeFrame(bytes) {
  if (bytes.length < HEADER_SIZE) throw new Error(`message of ${bytes.length} bytes is no frame`);
  const v = view(bytes);
  if (bytes[0] !== 0x48 || bytes[1] !== 0x5a) throw new Error('bad magic');
  if (bytes[2] !== VERSION) throw new Error(`unsupported protocol version ${bytes[2]}`);
  const kind = bytes[3];
  if (kind !== KIND.REPLY && kind !== KIND.PUSH && kind !== KIND.GOODBYE)
    throw new Error(`frame kind ${kind} not sent by servers`);
  const length = v.getUint32(12);
  if (length !== bytes.length - HEADER_SIZE)
    throw new Error(`frame of ${length} body bytes in a message of ${bytes.length}`);
  return {
    kind,
    service: v.getUint16(4),
    code: v.getUint16(6),
    session: v.getUint32(8),
    body: bytes.subarray(HEADER_SIZE),
  };
}

// ---- errors -------------------------------------------------------------------

// A request that failed: `status` (a STATUS value) and the server's reason,
// or `code` 'TIMEOUT' (no answer in time) / 'CLOSED' (the connection went).
export class HazelError extends Error {
  constructor(message, { status, code, body } = {}) {
    super(message);
    this.name = 'HazelError';
    if (status !== undefined) {
      this.status = status;
      this.statusName = statusName(status);
    }
    this.code = code ?? (status !== undefined ? statusName(status) : undefined);
    if (body !== undefined) this.body = body;
  }
}

class Reply {
  constructor(frame) {
    this.status = frame.code;
    this.body = frame.body;
    this.service = frame.service;
  }
  get ok() { return this.status === STATUS.OK; }
  get statusName() { return statusName(this.status); }
  get text() { return text(this.body); }
}

function check(reply, what) {
  if (reply.ok) return reply;
  const why = reply.text;
  throw new HazelError(`${what}: ${reply.statusName}${why ? ` (${why})` : ''}`, {
    status: reply.status, body: reply.body,
  });
}

// "key=value" lines (HELLO, AUTH) into an object.
function keyValues(body) {
  const out = {};
  for (const line of text(body).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

// ---- pushes ---------------------------------------------------------------------

// A room message: PUSH room/PUBLISH, body = u8 name length, name, u64
// publisher, payload.
export function parseRoomMessage(push) {
  const b = push.body;
  const n = b[0];
  if (b.length < 1 + n + 8) throw new Error('short room message');
  const payload = b.subarray(1 + n + 8);
  return {
    room: text(b.subarray(1, 1 + n)),
    from: view(b).getBigUint64(1 + n),
    payload,
    get text() { return text(payload); },
  };
}

// A TELL: PUSH sys/TELL, body = u64 sender, payload.
export function parseTell(push) {
  const b = push.body;
  if (b.length < 8) throw new Error('short TELL');
  const payload = b.subarray(8);
  return { from: view(b).getBigUint64(0), payload, get text() { return text(payload); } };
}

// ---- the client -----------------------------------------------------------------

export class Client {
  // Use connect(); this takes an open WebSocket.
  constructor(ws, { timeout = DEFAULT_TIMEOUT_MS, keepalive = true } = {}) {
    this.ws = ws;
    this.timeout = timeout;
    this.info = null;         // HELLO's keys, after connect()
    this.id = null;           // this client's id (BigInt), after connect()
    this.goodbye = null;      // { code, name, reason } once the server said it
    this.closed = false;
    this._keepalive = keepalive;
    this._next = 1;
    this._pending = new Map();  // session -> { resolve, reject, timer }
    this._push = new Set();
    this._goodbye = new Set();
    this._close = new Set();
    this._timer = null;
    this._sent = 0;             // when we last sent anything (ms)
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (e) => this._message(e.data));
    ws.addEventListener('close', (e) => this._closed(e.code, e.reason));
    this.kv = {
      get: (key) => this._kvGet(key),
      set: (key, value, { ttl = 0 } = {}) => this._kvSet(key, value, ttl),
      del: (key) => this._kvDel(key),
      incr: (key, delta = 1) => this._kvIncr(key, delta),
    };
    this.room = {
      join: (name) => this._roomJoin(name),
      leave: (name) => this._roomLeave(name),
      publish: (name, payload) => this._roomPublish(name, payload),
      members: (name) => this._roomMembers(name),
      onMessage: (fn) => this.onPush((p) => {
        if (p.service === SERVICE.ROOM && p.code === ROOM.PUBLISH) fn(parseRoomMessage(p));
      }),
    };
  }

  // Sends a REQUEST and resolves with its REPLY (any status): { status,
  // statusName, ok, body, text }. Rejects with a HazelError 'TIMEOUT' when
  // no REPLY comes within `timeout` ms, 'CLOSED' if the connection ends.
  call(service, op, body, { timeout = this.timeout } = {}) {
    if (this.closed) return Promise.reject(new HazelError('connection closed', { code: 'CLOSED' }));
    let session = this._next;
    while (this._pending.has(session)) session = (session + 1) >>> 0;
    this._next = (session + 1) >>> 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(session);
        reject(new HazelError(`no reply within ${timeout} ms`, { code: 'TIMEOUT' }));
      }, timeout);
      this._pending.set(session, { resolve, reject, timer });
      this._write(encodeFrame(KIND.REQUEST, service, op, session, body));
    });
  }

  // One-way SEND: no reply, ever.
  send(service, op, body) {
    if (this.closed) throw new HazelError('connection closed', { code: 'CLOSED' });
    this._write(encodeFrame(KIND.SEND, service, op, 0, body));
  }

  // fn({ service, code, body }) for every PUSH; returns an unsubscribe.
  onPush(fn) { return this._on(this._push, fn); }
  // fn({ code, name, reason }) when the server says GOODBYE.
  onGoodbye(fn) { return this._on(this._goodbye, fn); }
  // fn({ code, reason, goodbye }) once the connection is gone, by any means.
  onClose(fn) { return this._on(this._close, fn); }
  // fn({ from, payload, text }) for every TELL to this client.
  onTell(fn) {
    return this.onPush((p) => {
      if (p.service === SERVICE.SYS && p.code === SYS.TELL) fn(parseTell(p));
    });
  }

  close() {
    if (this.ws.readyState <= 1) this.ws.close(1000);
  }

  // ---- sys ----

  async hello() {
    const r = check(await this.call(SERVICE.SYS, SYS.HELLO), 'HELLO');
    const kv = keyValues(r.body);
    return {
      ...kv,
      protocol: Number(kv.protocol),
      client: BigInt(kv.client),
      worker: Number(kv.worker),
      maxFrame: Number(kv.max_frame),
      idleTimeoutMs: Number(kv.idle_timeout_ms),
    };
  }

  // Round trip in ms.
  async ping(data = '') {
    const t = performance.now();
    check(await this.call(SERVICE.SYS, SYS.PING, data), 'PING');
    return performance.now() - t;
  }

  // True if the client got it, false if there is no such client.
  async tell(to, payload) {
    const r = await this.call(SERVICE.SYS, SYS.TELL, concat(u64(to), toBytes(payload)));
    if (r.status === STATUS.NOT_FOUND) return false;
    check(r, 'TELL');
    return true;
  }

  async echo(body) {
    return check(await this.call(SERVICE.ECHO, ECHO.ECHO, body), 'ECHO').body;
  }

  // "name value" lines into { name: Number }.
  async serverInfo() {
    const r = check(await this.call(SERVICE.SYS, SYS.INFO), 'INFO');
    const out = {};
    for (const line of r.text.split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0) out[line.slice(0, sp)] = Number(line.slice(sp + 1));
    }
    return out;
  }

  async auth(token) {
    return keyValues(check(await this.call(SERVICE.SYS, SYS.AUTH, token), 'AUTH').body);
  }

  // ---- kv ----

  // The value's bytes, or null if absent.
  async _kvGet(key) {
    const r = await this.call(SERVICE.KV, KV.GET, key);
    if (r.status === STATUS.NOT_FOUND) return null;
    return check(r, 'kv GET').body;
  }
  async _kvSet(key, value, ttl) {
    const k = toBytes(key);
    check(await this.call(SERVICE.KV, KV.SET,
      concat(u16(k.length), k, u32(ttl), toBytes(value))), 'kv SET');
  }
  async _kvDel(key) {
    return check(await this.call(SERVICE.KV, KV.DEL, key), 'kv DEL').body[0] === 1;
  }
  // The new value, a BigInt (an i64).
  async _kvIncr(key, delta) {
    const k = toBytes(key);
    const r = check(await this.call(SERVICE.KV, KV.INCR, concat(u16(k.length), k, i64(delta))),
      'kv INCR');
    return BigInt(r.text);
  }

  // ---- room ----

  // Members after joining.
  async _roomJoin(name) {
    return view(check(await this.call(SERVICE.ROOM, ROOM.JOIN, name), 'room JOIN').body)
      .getUint32(0);
  }
  // False if this client was not a member.
  async _roomLeave(name) {
    const r = await this.call(SERVICE.ROOM, ROOM.LEAVE, name);
    if (r.status === STATUS.NOT_FOUND) return false;
    check(r, 'room LEAVE');
    return true;
  }
  // How many members it was delivered to.
  async _roomPublish(name, payload) {
    const n = toBytes(name);
    if (n.length > 255) throw new RangeError('a room name has at most 255 bytes');
    const r = check(await this.call(SERVICE.ROOM, ROOM.PUBLISH,
      concat(Uint8Array.of(n.length), n, toBytes(payload))), 'room PUBLISH');
    return view(r.body).getUint32(0);
  }
  // Member ids (BigInt).
  async _roomMembers(name) {
    const b = check(await this.call(SERVICE.ROOM, ROOM.MEMBERS, name), 'room MEMBERS').body;
    const v = view(b);
    const ids = [];
    for (let at = 0; at + 8 <= b.length; at += 8) ids.push(v.getBigUint64(at));
    return ids;
  }

  // ---- inside ----

  _on(set, fn) {
    set.add(fn);
    return () => set.delete(fn);
  }

  _write(frame) {
    this._sent = Date.now();
    this.ws.send(frame);
  }

  _message(data) {
    if (typeof data === 'string') return this._broken('a text message from the server');
    let f;
    try {
      f = decodeFrame(new Uint8Array(data));
    } catch (e) {
      return this._broken(e.message);
    }
    if (f.kind === KIND.REPLY) {
      const p = this._pending.get(f.session);
      if (!p) return;  // timed out meanwhile
      this._pending.delete(f.session);
      clearTimeout(p.timer);
      p.resolve(new Reply(f));
    } else if (f.kind === KIND.PUSH) {
      for (const fn of this._push) fn({ service: f.service, code: f.code, body: f.body });
    } else {
      this.goodbye = { code: f.code, name: goodbyeName(f.code), reason: text(f.body) };
      for (const fn of this._goodbye) fn(this.goodbye);
    }
  }

  // The server broke the protocol: nothing it sends can be trusted now.
  // (A script may close only with 1000 or 3000-4999.)
  _broken(why) {
    this.protocolError = why;
    this.ws.close(4002, why.slice(0, 120));
  }

  _closed(code, reason) {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this._timer);
    for (const [, p] of this._pending) {
      clearTimeout(p.timer);
      p.reject(new HazelError('connection closed', { code: 'CLOSED' }));
    }
    this._pending.clear();
    for (const fn of this._close) fn({ code, reason, goodbye: this.goodbye });
  }

  // sys PING before the server's idle timeout closes a client that has
  // nothing to say; a PING not answered in time means the connection is
  // dead although no close came.
  _startKeepalive() {
    const idle = this.info?.idleTimeoutMs ?? 0;
    if (!this._keepalive || !(idle > 0)) return;
    const every = Math.max(50, Math.floor(idle / 3));
    this._timer = setInterval(() => {
      if (Date.now() - this._sent < every) return;
      this.call(SERVICE.SYS, SYS.PING, '', { timeout: every * 2 }).catch((e) => {
        if (e.code === 'TIMEOUT') this.ws.close(4000, 'keepalive PING not answered');
      });
    }, every);
    this._timer.unref?.();  // Node: a keepalive alone keeps no process alive
  }
}

// Opens a WebSocket to `url` (ws:// or wss://, path /ws), offers the
// hazel.v1 subprotocol, says HELLO, starts the keepalive, and resolves
// with the client. Options: timeout (ms per call, default 10000),
// keepalive (default true), WebSocket (an implementation, default the
// global one).
export function connect(url, options = {}) {
  const WS = options.WebSocket ?? globalThis.WebSocket;
  if (!WS) {
    return Promise.reject(new Error(
      'no WebSocket here: run Node 20 with --experimental-websocket, or pass connect(url, { WebSocket })'));
  }
  return new Promise((resolve, reject) => {
    const ws = new WS(url, [SUBPROTOCOL]);
    const client = new Client(ws, options);
    const stopClose = client.onClose(({ code, reason }) => {
      const e = new Error(`cannot connect to ${url}: closed (${code}${reason ? ` ${reason}` : ''})`);
      e.closeCode = code;
      e.closeReason = reason;
      reject(e);
    });
    ws.addEventListener('open', async () => {
      try {
        const info = await client.hello();
        client.info = info;
        client.id = info.client;
        client._startKeepalive();
        stopClose();
        resolve(client);
      } catch (e) {
        stopClose();
        client.close();
        reject(e);
      }
    }, { once: true });
  });
}
