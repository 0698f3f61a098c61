// hazel.js on its own, against a fake WebSocket: frames, sessions,
// timeouts, pushes, GOODBYE, keepalive. No server needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  Client, connect, decodeFrame, encodeFrame, goodbyeName, HazelError, KIND, parseRoomMessage,
  SERVICE, STATUS, statusName, SYS,
} from '../../clients/js/hazel.js';

// Records what the client sends; the test plays the server.
class FakeSocket extends EventTarget {
  constructor(url, protocols) {
    super();
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.last = this;
  }
  send(data) { this.sent.push(new Uint8Array(data)); }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedWith = { code, reason };
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason }));
  }
  open() {
    this.readyState = 1;
    this.dispatchEvent(new Event('open'));
  }
  deliver(bytes) {
    const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    this.dispatchEvent(Object.assign(new Event('message'), { data }));
  }
  // The last frame the client sent, decoded (its kind is REQUEST or SEND).
  lastSent() {
    const f = this.sent.at(-1);
    const v = new DataView(f.buffer, f.byteOffset);
    return { kind: f[3], service: v.getUint16(4), code: v.getUint16(6), session: v.getUint32(8),
             body: f.subarray(16) };
  }
  reply(session, status, body = '') { this.deliver(encodeFrame(KIND.REPLY, 0, status, session, body)); }
}

const tick = () => new Promise((r) => setImmediate(r));

function openClient(options = {}) {
  const ws = new FakeSocket('ws://x/ws');
  ws.readyState = 1;
  return { ws, c: new Client(ws, options) };
}

test('encodes a frame as the protocol lays it out', () => {
  const f = encodeFrame(KIND.REQUEST, 0, SYS.PING, 7, 'hi');
  assert.deepEqual([...f], [0x48, 0x5a, 1, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 2, 0x68, 0x69]);
});

test('decodes exactly one server frame per message', () => {
  const f = decodeFrame(encodeFrame(KIND.PUSH, 3, 3, 0, 'abc'));
  assert.equal(f.kind, KIND.PUSH);
  assert.equal(f.service, 3);
  assert.equal(new TextDecoder().decode(f.body), 'abc');
  const two = encodeFrame(KIND.REPLY, 0, 0, 1, 'x');
  assert.throws(() => decodeFrame(new Uint8Array([...two, 0])), /frame of 1 body bytes/);
  assert.throws(() => decodeFrame(two.subarray(0, 10)), /no frame/);
  assert.throws(() => decodeFrame(encodeFrame(KIND.REQUEST, 0, 1, 1, '')), /kind 1/);
  const bad = encodeFrame(KIND.REPLY, 0, 0, 1, '');
  bad[2] = 2;
  assert.throws(() => decodeFrame(bad), /version 2/);
});

test('names statuses and GOODBYE codes', () => {
  assert.equal(statusName(STATUS.NOT_FOUND), 'NOT_FOUND');
  assert.equal(statusName(99), '99');
  assert.equal(goodbyeName(5), 'SHUTDOWN');
});

test('matches replies to calls by session, in any order', async () => {
  const { ws, c } = openClient();
  const a = c.call(SERVICE.SYS, SYS.PING, 'a');
  const sa = ws.lastSent().session;
  const b = c.call(SERVICE.SYS, SYS.PING, 'b');
  const sb = ws.lastSent().session;
  assert.notEqual(sa, sb);
  ws.reply(sb, STATUS.OK, 'B');
  ws.reply(sa, STATUS.NOT_FOUND, 'A');
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(ra.status, STATUS.NOT_FOUND);
  assert.equal(ra.statusName, 'NOT_FOUND');
  assert.equal(ra.text, 'A');
  assert.equal(rb.ok, true);
  assert.equal(rb.text, 'B');
});

test('a call without a reply in time rejects with TIMEOUT', async () => {
  const { ws, c } = openClient();
  const p = c.call(SERVICE.SYS, SYS.PING, '', { timeout: 20 });
  await assert.rejects(p, (e) => e instanceof HazelError && e.code === 'TIMEOUT');
  ws.reply(ws.lastSent().session, STATUS.OK);  // late: dropped
});

test('helpers reject a failed status with a HazelError', async () => {
  const { ws, c } = openClient();
  const p = c.room.join('r');
  ws.reply(ws.lastSent().session, STATUS.BUSY, 'too many rooms');
  await assert.rejects(p, (e) => e.status === STATUS.BUSY && e.code === 'BUSY' &&
                                 /too many rooms/.test(e.message));
});

test('kv get of an absent key is null, del says whether it was there', async () => {
  const { ws, c } = openClient();
  const g = c.kv.get('k');
  ws.reply(ws.lastSent().session, STATUS.NOT_FOUND);
  assert.equal(await g, null);
  const d = c.kv.del('k');
  ws.reply(ws.lastSent().session, STATUS.OK, new Uint8Array([1]));
  assert.equal(await d, true);
});

test('lays out kv SET, INCR and room PUBLISH bodies', async () => {
  const { ws, c } = openClient();
  const calls = [];
  calls.push(c.kv.set('key', 'v', { ttl: 258 }));
  assert.deepEqual([...ws.lastSent().body], [0, 3, 0x6b, 0x65, 0x79, 0, 0, 1, 2, 0x76]);
  calls.push(c.kv.incr('k', -2n));
  assert.deepEqual([...ws.lastSent().body], [0, 1, 0x6b, 255, 255, 255, 255, 255, 255, 255, 254]);
  calls.push(c.room.publish('ab', 'x'));
  assert.deepEqual([...ws.lastSent().body], [2, 0x61, 0x62, 0x78]);
  calls.push(c.tell(0x0102030405060708n, 'p'));
  assert.deepEqual([...ws.lastSent().body], [1, 2, 3, 4, 5, 6, 7, 8, 0x70]);
  c.close();
  for (const p of calls) await assert.rejects(p, (e) => e.code === 'CLOSED');
});

test('hands pushes to onPush and room messages to room.onMessage', () => {
  const { ws, c } = openClient();
  const pushes = [];
  const rooms = [];
  const stop = c.onPush((p) => pushes.push(p));
  c.room.onMessage((m) => rooms.push(m));
  const body = new Uint8Array([5, ...new TextEncoder().encode('lobby'), 0, 0, 0, 0, 0, 0, 0, 9,
                               ...new TextEncoder().encode('hey')]);
  ws.deliver(encodeFrame(KIND.PUSH, SERVICE.ROOM, 3, 0, body));
  assert.equal(pushes.length, 1);
  assert.equal(rooms[0].room, 'lobby');
  assert.equal(rooms[0].from, 9n);
  assert.equal(rooms[0].text, 'hey');
  stop();
  ws.deliver(encodeFrame(KIND.PUSH, SERVICE.ECHO, 1, 0, 'e'));
  assert.equal(pushes.length, 1);
  assert.throws(() => parseRoomMessage({ body: new Uint8Array([9, 1]) }), /short/);
});

test('a GOODBYE is reported, then the close with it, and pending calls fail', async () => {
  const { ws, c } = openClient();
  const goodbyes = [];
  const closes = [];
  c.onGoodbye((g) => goodbyes.push(g));
  c.onClose((e) => closes.push(e));
  const p = c.call(SERVICE.SYS, SYS.PING);
  ws.deliver(encodeFrame(KIND.GOODBYE, 0, 5, 0, 'server is shutting down'));
  ws.close(1001, '');
  assert.deepEqual(goodbyes, [{ code: 5, name: 'SHUTDOWN', reason: 'server is shutting down' }]);
  assert.equal(closes[0].code, 1001);
  assert.equal(closes[0].goodbye.name, 'SHUTDOWN');
  await assert.rejects(p, (e) => e.code === 'CLOSED');
  await assert.rejects(c.call(0, 1), (e) => e.code === 'CLOSED');
  assert.equal(c.closed, true);
});

test('a server that breaks the protocol is hung up on', () => {
  const { ws, c } = openClient();
  ws.dispatchEvent(Object.assign(new Event('message'), { data: 'text' }));
  assert.equal(ws.closedWith.code, 4002);
  assert.match(c.protocolError, /text message/);
});

test('connect offers hazel.v1, says HELLO and learns its id', async () => {
  const p = connect('ws://x/ws', { WebSocket: FakeSocket, keepalive: false });
  const ws = FakeSocket.last;
  assert.deepEqual(ws.protocols, ['hazel.v1']);
  ws.open();
  await tick();
  const hello = ws.lastSent();
  assert.equal(hello.code, SYS.HELLO);
  ws.reply(hello.session, STATUS.OK,
    'protocol=1\nserver=hazel/0.1.0\nclient=18446744073709551615\nworker=3\nmax_frame=1024\n' +
    'idle_timeout_ms=60000\nnew_key=x\n');
  const c = await p;
  assert.equal(c.id, 18446744073709551615n);
  assert.equal(c.info.worker, 3);
  assert.equal(c.info.maxFrame, 1024);
  assert.equal(c.info.new_key, 'x');
});

test('connect rejects with the close code when the server closes first', async () => {
  const p = connect('ws://x/ws', { WebSocket: FakeSocket });
  const ws = FakeSocket.last;
  ws.open();
  ws.close(1011, 'no transport');
  await assert.rejects(p, (e) => e.closeCode === 1011 && e.closeReason === 'no transport');
});

// A client that said HELLO to a server with an idle timeout of `idleMs`.
async function connected(idleMs) {
  const p = connect('ws://x/ws', { WebSocket: FakeSocket });
  const ws = FakeSocket.last;
  ws.open();
  await tick();
  ws.reply(ws.lastSent().session, STATUS.OK, `protocol=1\nclient=1\nidle_timeout_ms=${idleMs}\n`);
  return { ws, c: await p };
}

// Polls until fn() holds; fails after `ms` (timers may run late on a busy
// machine, so the test waits for what must happen, not for a time).
async function until(fn, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) assert.fail(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('keepalive PINGs below the idle timeout when nothing else is sent', async () => {
  const { ws, c } = await connected(150);
  const before = ws.sent.length;
  await until(() => ws.sent.slice(before).some((f) => f[7] === SYS.PING), 'keepalive PING');
  c.close();
});

test('a keepalive PING left unanswered closes the connection', async () => {
  const { ws, c } = await connected(150);
  await until(() => c.closed, 'close');
  assert.equal(ws.closedWith.code, 4000);
});
