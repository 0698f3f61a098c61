// A minimal hazel (wire protocol v1) client for Node.js 20, written from
// /work/shared/PROTOCOL.md alone (built-in modules only).
//
//   const c = await Client.connect('127.0.0.1', 9000);
//   const r = await c.call(SERVICE.SYS, SYS.PING, Buffer.from('hi'), 5000);
//   // r = { status, body, service, code, session }
//   const p = await c.nextPush(5000);   // { service, code, body }
//   c.onPush = (f) => ...;              // optional: return true to consume a PUSH
//   c.send(SERVICE.ROOM, ROOM.PUBLISH, room.publishBody('r', 'x'));
//   const { goodbye } = await c.closed(); // goodbye = { code, text } or null
//
// call() resolves with every REPLY, OK or not (look at .status); it rejects
// only when no REPLY can come: the deadline passed (err.code = 'ETIMEOUT')
// or the connection closed first (err.code = 'ECLOSED').

import net from 'node:net';

export const MAGIC0 = 0x48; // 'H'
export const MAGIC1 = 0x5a; // 'Z'
export const VERSION = 1;
export const HEADER_SIZE = 16;
export const DEFAULT_MAX_FRAME = 1048576;

export const KIND = { REQUEST: 1, REPLY: 2, SEND: 3, PUSH: 4, GOODBYE: 5 };

export const STATUS = {
  OK: 0, BAD_REQUEST: 1, NO_SERVICE: 2, NO_OP: 3, NOT_FOUND: 4, TIMEOUT: 5,
  UNAVAILABLE: 6, TOO_LARGE: 7, BUSY: 8, INTERNAL: 9, DENIED: 10,
};
export const STATUS_NAME = Object.fromEntries(Object.entries(STATUS).map(([k, v]) => [v, k]));
export const statusName = (s) => STATUS_NAME[s] ?? `status ${s}`;

export const GOODBYE = {
  PROTOCOL: 1, TOO_LARGE: 2, IDLE: 3, SLOW: 4, SHUTDOWN: 5, FULL: 6, KICKED: 7, LIMIT: 8,
};
export const GOODBYE_NAME = Object.fromEntries(Object.entries(GOODBYE).map(([k, v]) => [v, k]));

export const SERVICE = { SYS: 0, ECHO: 1, KV: 2, ROOM: 3 };
export const SYS = { PING: 1, HELLO: 2, RESOLVE: 3, SERVICES: 4, INFO: 5, TELL: 6, AUTH: 7 };
export const ECHO = { ECHO: 1 };
export const KV = { GET: 1, SET: 2, DEL: 3, INCR: 4 };
export const ROOM = { JOIN: 1, LEAVE: 2, PUBLISH: 3, MEMBERS: 4 };

const toBuf = (b) => (b === undefined || b === null ? Buffer.alloc(0)
  : Buffer.isBuffer(b) ? b : Buffer.from(String(b), 'utf8'));

// ---- frames ---------------------------------------------------------------

export function encodeFrame(kind, service, code, session, body) {
  const b = toBuf(body);
  const h = Buffer.alloc(HEADER_SIZE);
  h[0] = MAGIC0; h[1] = MAGIC1; h[2] = VERSION; h[3] = kind;
  h.writeUInt16BE(service & 0xffff, 4);
  h.writeUInt16BE(code & 0xffff, 6);
  h.writeUInt32BE(session >>> 0, 8);
  h.writeUInt32BE(b.length, 12);
  return b.length ? Buffer.concat([h, b]) : h;
}

export class ProtocolError extends Error {}

// Incremental decoder for the server → client direction: push() bytes,
// get back the whole frames they complete. Throws ProtocolError on a
// header the document does not allow.
export class FrameDecoder {
  constructor(maxFrame = DEFAULT_MAX_FRAME) { this.maxFrame = maxFrame; this.buf = Buffer.alloc(0); }
  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out = [];
    for (;;) {
      if (this.buf.length < HEADER_SIZE) break;
      const b = this.buf;
      if (b[0] !== MAGIC0 || b[1] !== MAGIC1) throw new ProtocolError(`bad magic ${b.subarray(0, 2).toString('hex')}`);
      if (b[2] !== VERSION) throw new ProtocolError(`unsupported version ${b[2]}`);
      const kind = b[3];
      if (kind !== KIND.REPLY && kind !== KIND.PUSH && kind !== KIND.GOODBYE) {
        throw new ProtocolError(`server sent kind ${kind}`);
      }
      const length = b.readUInt32BE(12);
      if (length > this.maxFrame) throw new ProtocolError(`frame length ${length} above max_frame ${this.maxFrame}`);
      if (b.length < HEADER_SIZE + length) break;
      out.push({
        kind,
        service: b.readUInt16BE(4),
        code: b.readUInt16BE(6),
        session: b.readUInt32BE(8),
        body: Buffer.from(b.subarray(HEADER_SIZE, HEADER_SIZE + length)),
      });
      this.buf = b.subarray(HEADER_SIZE + length);
    }
    return out;
  }
}

// ---- client ---------------------------------------------------------------

function err(code, msg) { const e = new Error(msg); e.code = code; return e; }

export class Client {
  // Resolves once the TCP connection is up.
  static connect(host, port, { timeoutMs = 5000, maxFrame = DEFAULT_MAX_FRAME } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const t = setTimeout(() => { sock.destroy(); reject(err('ETIMEOUT', `connect to ${host}:${port} timed out`)); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(t); sock.removeListener('error', onErr); resolve(new Client(sock, maxFrame)); });
      const onErr = (e) => { clearTimeout(t); reject(e); };
      sock.once('error', onErr);
    });
  }

  constructor(sock, maxFrame) {
    this.sock = sock;
    sock.setNoDelay(true);
    this.decoder = new FrameDecoder(maxFrame);
    this.nextSession = (Math.random() * 0x100000000) >>> 0; // any u32, wraps
    this.pending = new Map(); // session -> { resolve, reject, timer }
    this.pushes = [];
    this.pushWaiters = [];
    this.goodbye = null;          // { code, text } once a GOODBYE arrived
    this.protocolErrors = [];     // what the server sent that the document forbids
    this.strayReplies = [];       // REPLY frames for no pending session (late, duplicate, unknown)
    this.onPush = null;           // optional (frame) => true to consume a PUSH instead of queueing it
    this.isClosed = false;
    this.closeError = null;
    this._closed = new Promise((r) => { this._resolveClosed = r; });
    sock.on('data', (chunk) => this._onData(chunk));
    sock.on('error', (e) => { this.closeError = e; });
    sock.on('close', () => this._onClose());
  }

  _onData(chunk) {
    let frames;
    try { frames = this.decoder.push(chunk); } catch (e) {
      this.protocolErrors.push(e.message);
      this.sock.destroy();
      return;
    }
    for (const f of frames) {
      if (this.goodbye) { this.protocolErrors.push(`frame kind ${f.kind} after GOODBYE`); continue; }
      if (f.kind === KIND.REPLY) {
        const p = this.pending.get(f.session);
        if (!p) { this.strayReplies.push(f); continue; }
        this.pending.delete(f.session);
        if (p.timer) clearTimeout(p.timer);
        p.resolve({ status: f.code, body: f.body, service: f.service, code: f.code, session: f.session, request: p.request });
      } else if (f.kind === KIND.PUSH) {
        if (f.session !== 0) this.protocolErrors.push(`PUSH with session ${f.session}`);
        if (this.onPush && this.onPush(f)) continue; // consumed by the handler
        const w = this.pushWaiters.shift();
        if (w) { clearTimeout(w.timer); w.resolve(f); } else this.pushes.push(f);
      } else if (f.kind === KIND.GOODBYE) {
        this.goodbye = { code: f.code, name: GOODBYE_NAME[f.code] ?? 'PROTOCOL (unknown code)', text: f.body.toString('utf8') };
      }
    }
  }

  _onClose() {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err('ECLOSED', 'connection closed before the REPLY' + (this.goodbye ? ` (GOODBYE ${this.goodbye.code} ${this.goodbye.text})` : '')));
    }
    this.pending.clear();
    for (const w of this.pushWaiters) { clearTimeout(w.timer); w.reject(err('ECLOSED', 'connection closed, no PUSH')); }
    this.pushWaiters = [];
    this._resolveClosed({ goodbye: this.goodbye, error: this.closeError });
  }

  _session() {
    // Skip sessions still pending (after a wrap).
    for (;;) {
      const s = this.nextSession;
      this.nextSession = (this.nextSession + 1) >>> 0;
      if (!this.pending.has(s)) return s;
    }
  }

  // One REQUEST; resolves with its REPLY { status, body, service, code, session }.
  call(service, op, body, timeoutMs = 5000) {
    if (this.isClosed) return Promise.reject(err('ECLOSED', 'connection is closed'));
    const session = this._session();
    return new Promise((resolve, reject) => {
      const p = { resolve, reject, timer: null, request: { service, op } };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(session);
          reject(err('ETIMEOUT', `no REPLY to service ${service} op ${op} (session ${session}) within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(session, p);
      this.sock.write(encodeFrame(KIND.REQUEST, service, op, session, body));
    });
  }

  // One-way SEND (session 0): no reply, ever.
  send(service, op, body) {
    if (this.isClosed) return false;
    this.sock.write(encodeFrame(KIND.SEND, service, op, 0, body));
    return true;
  }

  // Raw bytes, for tests of the framing rules.
  writeRaw(buf) { this.sock.write(buf); }

  // The next PUSH frame { service, code, body }, queued in arrival order.
  nextPush(timeoutMs = 5000) {
    if (this.pushes.length) return Promise.resolve(this.pushes.shift());
    if (this.isClosed) return Promise.reject(err('ECLOSED', 'connection closed, no PUSH'));
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, timer: null };
      w.timer = setTimeout(() => {
        const i = this.pushWaiters.indexOf(w);
        if (i >= 0) this.pushWaiters.splice(i, 1);
        reject(err('ETIMEOUT', `no PUSH within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pushWaiters.push(w);
    });
  }

  pendingCount() { return this.pending.size; }

  // Resolves { goodbye, error } once the connection is closed.
  closed() { return this._closed; }

  // Graceful close (FIN); resolves when the socket is fully closed.
  close() { if (!this.isClosed) this.sock.end(); return this._closed; }
  destroy() { if (!this.isClosed) this.sock.destroy(); return this._closed; }

  get localPort() { return this.sock.localPort; }

  // ---- typed helpers ----
  hello(t) { return this.call(SERVICE.SYS, SYS.HELLO, null, t).then(okBody).then(sys.parseHello); }
  info(t) { return this.call(SERVICE.SYS, SYS.INFO, null, t).then(okBody).then(sys.parseInfo); }
  ping(data, t) { return this.call(SERVICE.SYS, SYS.PING, data, t); }
  tell(target, payload, t) { return this.call(SERVICE.SYS, SYS.TELL, sys.tellBody(target, payload), t); }
  kvGet(key, t) { return this.call(SERVICE.KV, KV.GET, toBuf(key), t); }
  kvSet(key, value, ttlMs = 0, t) { return this.call(SERVICE.KV, KV.SET, kv.setBody(key, value, ttlMs), t); }
  kvDel(key, t) { return this.call(SERVICE.KV, KV.DEL, toBuf(key), t); }
  kvIncr(key, delta, t) { return this.call(SERVICE.KV, KV.INCR, kv.incrBody(key, delta), t); }
  join(name, t) { return this.call(SERVICE.ROOM, ROOM.JOIN, toBuf(name), t); }
  leave(name, t) { return this.call(SERVICE.ROOM, ROOM.LEAVE, toBuf(name), t); }
  publish(name, payload, t) { return this.call(SERVICE.ROOM, ROOM.PUBLISH, room.publishBody(name, payload), t); }
  members(name, t) { return this.call(SERVICE.ROOM, ROOM.MEMBERS, toBuf(name), t); }
}

// Throws unless the reply is OK; returns its body.
export function okBody(r) {
  if (r.status !== STATUS.OK) {
    throw err('ESTATUS', `REPLY ${statusName(r.status)}: ${r.body.toString('utf8')}`);
  }
  return r.body;
}

// ---- body helpers ---------------------------------------------------------

function u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; }
function i64(v) { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); return b; }
function u16(v) { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; }
function u32(v) { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; }

function parseLines(body) {
  const text = body.toString('utf8');
  if (text.length && !text.endsWith('\n')) throw new ProtocolError(`lines body not \\n-terminated: ${JSON.stringify(text)}`);
  return text.split('\n').slice(0, -1);
}

export const sys = {
  // key=value lines -> { key: 'value' }
  parseHello(body) {
    const o = {};
    for (const l of parseLines(body)) {
      const i = l.indexOf('=');
      if (i < 0) throw new ProtocolError(`HELLO line without '=': ${JSON.stringify(l)}`);
      o[l.slice(0, i)] = l.slice(i + 1);
    }
    return o;
  },
  // "<name> <value>" lines -> { name: 'value' }
  parseInfo(body) {
    const o = {};
    for (const l of parseLines(body)) {
      const i = l.indexOf(' ');
      if (i < 0) throw new ProtocolError(`INFO line without ' ': ${JSON.stringify(l)}`);
      o[l.slice(0, i)] = l.slice(i + 1);
    }
    return o;
  },
  // "<id> <name>" lines -> [{ id, name }]
  parseServices(body) {
    return parseLines(body).map((l) => { const i = l.indexOf(' '); return { id: Number(l.slice(0, i)), name: l.slice(i + 1) }; });
  },
  parseResolve(body) { return body.readUInt16BE(0); },
  tellBody(target, payload) { return Buffer.concat([u64(target), toBuf(payload)]); },
  // TELL PUSH (service 0, code 6): u64 sender id, then payload
  parseTellPush(body) {
    if (body.length < 8) throw new ProtocolError(`TELL PUSH body of ${body.length} bytes`);
    return { sender: body.readBigUInt64BE(0), payload: body.subarray(8) };
  },
};

export const kv = {
  setBody(key, value, ttlMs = 0) {
    const k = toBuf(key);
    return Buffer.concat([u16(k.length), k, u32(ttlMs), toBuf(value)]);
  },
  incrBody(key, delta) { const k = toBuf(key); return Buffer.concat([u16(k.length), k, i64(delta)]); },
  parseDel(body) { return body.length === 1 ? body[0] : NaN; },
  parseIncr(body) { return BigInt(body.toString('utf8')); },
};

export const room = {
  publishBody(name, payload) {
    const n = toBuf(name);
    if (n.length < 1 || n.length > 255) throw new RangeError('room name must be 1..255 bytes');
    return Buffer.concat([Buffer.from([n.length]), n, toBuf(payload)]);
  },
  parseJoin(body) { return body.length === 4 ? body.readUInt32BE(0) : NaN; },
  parsePublish(body) { return body.length === 4 ? body.readUInt32BE(0) : NaN; },
  parseMembers(body) {
    if (body.length % 8) throw new ProtocolError(`MEMBERS body of ${body.length} bytes`);
    const ids = [];
    for (let i = 0; i < body.length; i += 8) ids.push(body.readBigUInt64BE(i));
    return ids;
  },
  // room PUSH (service 3, code 3): u8 name length, name, u64 publisher id, payload
  parsePush(body) {
    if (body.length < 1) throw new ProtocolError('empty room PUSH body');
    const n = body[0];
    if (body.length < 1 + n + 8) throw new ProtocolError(`room PUSH body of ${body.length} bytes, name length ${n}`);
    return {
      room: body.subarray(1, 1 + n).toString('utf8'),
      publisher: body.readBigUInt64BE(1 + n),
      payload: body.subarray(1 + n + 8),
    };
  },
};
