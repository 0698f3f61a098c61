// hazel.js against a real ./hazel over its WebSocket port: every helper,
// pushes, a WebSocket client and a TCP client talking to each other, the
// GOODBYE + Close rules of the WebSocket transport, keepalive, shutdown,
// and a thousand WebSocket clients at once. Run with
// node --experimental-websocket --test (tests/js_check.sh does).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { connect, ECHO, encodeFrame, KIND, SERVICE, STATUS, SYS } from '../../clients/js/hazel.js';
import { Client as TcpClient, room as tcpRoom, sys as tcpSys } from '../conformance/hazel.mjs';
import { startHazel } from './server.mjs';

let server;
// With HAZEL_WS_URL the suite runs against a server already running; the
// tests that need a server started with flags of their own skip then.
const own = process.env.HAZEL_WS_URL ? { skip: 'needs a ./hazel started with its own flags' } : {};
before(async () => { server = await startHazel(); });
after(async () => { await server?.stop(); });

const open = (url = server.wsUrl, options = {}) => connect(url, options);
const unique = (what) => `${what}-${process.pid}-${Math.random().toString(36).slice(2)}`;

// Resolves with the first value fn is given, or rejects after `ms`.
function first(subscribe, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
    const stop = subscribe((v) => {
      clearTimeout(timer);
      stop?.();
      resolve(v);
    });
  });
}

// A raw WebSocket: what a client not using hazel.js sends and gets.
function raw(url = server.wsUrl) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['hazel.v1']);
    ws.binaryType = 'arraybuffer';
    const got = { messages: [], close: null };
    got.closed = new Promise((r) => ws.addEventListener('close', (e) => {
      got.close = { code: e.code, reason: e.reason };
      r(got.close);
    }));
    ws.addEventListener('message', (e) => got.messages.push(e.data));
    ws.addEventListener('open', () => resolve({ ws, got }));
    ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)));
  });
}
const goodbyeOf = (data) => {
  const b = new Uint8Array(data);
  return { kind: b[3], code: (b[6] << 8) | b[7], reason: new TextDecoder().decode(b.subarray(16)) };
};

test('connects with hazel.v1 and says HELLO', async () => {
  const c = await open();
  assert.equal(c.ws.protocol, 'hazel.v1');
  assert.equal(typeof c.id, 'bigint');
  assert.ok(c.id > 0n);
  assert.equal(c.info.protocol, 1);
  assert.match(c.info.server, /^hazel\//);
  assert.ok(c.info.maxFrame > 0);
  assert.ok(c.info.idleTimeoutMs > 0);
  c.close();
});

test('ping, echo and call', async () => {
  const c = await open();
  assert.ok((await c.ping('x')) >= 0);
  const bytes = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual([...(await c.echo(bytes))], [...bytes]);
  const r = await c.call(SERVICE.SYS, 99);
  assert.equal(r.statusName, 'NO_OP');
  assert.equal((await c.call(777, 1)).status, STATUS.NO_SERVICE);
  c.close();
});

test('a SEND comes back as a PUSH from echo', async () => {
  const c = await open();
  const push = first((fn) => c.onPush(fn));
  c.send(SERVICE.ECHO, ECHO.ECHO, 'back');
  const p = await push;
  assert.equal(p.service, SERVICE.ECHO);
  assert.equal(new TextDecoder().decode(p.body), 'back');
  c.close();
});

test('kv set, get, incr, del', async () => {
  const c = await open();
  const key = unique('k');
  assert.equal(await c.kv.get(key), null);
  await c.kv.set(key, 'v');
  assert.equal(new TextDecoder().decode(await c.kv.get(key)), 'v');
  assert.equal(await c.kv.del(key), true);
  assert.equal(await c.kv.del(key), false);
  assert.equal(await c.kv.incr(key, 40), 40n);
  assert.equal(await c.kv.incr(key, 2n), 42n);
  await c.kv.set(key, 'gone soon', { ttl: 50 });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await c.kv.get(key), null);
  await assert.rejects(c.kv.get(''), (e) => e.status === STATUS.BAD_REQUEST);
  c.close();
});

test('rooms: join, publish to every member, members, leave', async () => {
  const a = await open();
  const b = await open();
  const name = unique('room');
  assert.equal(await a.room.join(name), 1);
  assert.equal(await b.room.join(name), 2);
  const atB = first((fn) => b.room.onMessage(fn));
  assert.equal(await a.room.publish(name, 'hello'), 2);
  const m = await atB;
  assert.equal(m.room, name);
  assert.equal(m.from, a.id);
  assert.equal(m.text, 'hello');
  assert.deepEqual((await a.room.members(name)).sort(), [a.id, b.id].sort());
  assert.equal(await b.room.leave(name), true);
  assert.equal(await b.room.leave(name), false);
  assert.deepEqual(await a.room.members(name), [a.id]);
  a.close();
  b.close();
});

test('a member that goes away leaves its rooms', async () => {
  const a = await open();
  const b = await open();
  const name = unique('room');
  await a.room.join(name);
  await b.room.join(name);
  b.close();
  for (let i = 0; i < 250; i++) {
    if ((await a.room.members(name)).length === 1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(await a.room.members(name), [a.id]);
  a.close();
});

test('a WebSocket client and a TCP client share a room and TELL each other', async () => {
  const ws = await open();
  const tcp = await TcpClient.connect('127.0.0.1', server.tcpPort);
  const tcpId = BigInt((await tcp.hello()).client);
  const name = unique('mixed');
  await ws.room.join(name);
  assert.equal(tcpRoom.parseJoin((await tcp.join(name)).body), 2);

  // TCP -> WebSocket
  const told = first((fn) => ws.onTell(fn));
  assert.equal((await tcp.tell(ws.id, 'from tcp')).status, STATUS.OK);
  const t = await told;
  assert.equal(t.from, tcpId);
  assert.equal(t.text, 'from tcp');

  // WebSocket -> TCP
  assert.equal(await ws.tell(tcpId, 'from ws'), true);
  const p = await tcp.nextPush();
  assert.equal(p.service, SERVICE.SYS);
  assert.equal(p.code, SYS.TELL);
  const tp = tcpSys.parseTellPush(p.body);
  assert.equal(tp.sender, ws.id);
  assert.equal(tp.payload.toString(), 'from ws');

  // A publish from the browser side reaches the TCP member.
  assert.equal(await ws.room.publish(name, 'to all'), 2);
  const rp = tcpRoom.parsePush((await tcp.nextPush()).body);
  assert.equal(rp.publisher, ws.id);
  assert.equal(rp.payload.toString(), 'to all');
  assert.equal(await ws.tell(123456789n, 'nobody'), false);
  ws.close();
  tcp.close();
});

test('a text message gets GOODBYE 1 and Close 1003', async () => {
  const { ws, got } = await raw();
  ws.send('hello');
  const close = await got.closed;
  assert.equal(close.code, 1003);
  assert.equal(got.messages.length, 1);
  const g = goodbyeOf(got.messages[0]);
  assert.equal(g.kind, KIND.GOODBYE);
  assert.equal(g.code, 1);
});

test('a binary message that is not one whole frame gets GOODBYE 1 and Close 1002', async () => {
  for (const bytes of [
    new Uint8Array([0x48, 0x5a, 1, 1]),                                   // short
    new Uint8Array([...encodeFrame(KIND.REQUEST, 0, SYS.PING, 1, 'ab'), 0]),  // one byte more
    new Uint8Array([...encodeFrame(KIND.REQUEST, 0, SYS.PING, 1, ''),
                    ...encodeFrame(KIND.REQUEST, 0, SYS.PING, 2, '')]),    // two frames
  ]) {
    const { ws, got } = await raw();
    ws.send(bytes);
    const close = await got.closed;
    assert.equal(close.code, 1002, `for ${bytes.length} bytes`);
    assert.equal(goodbyeOf(got.messages.at(-1)).code, 1);
  }
});

test('a frame that breaks the TCP rules gets the same GOODBYE, then a Close', async () => {
  const { ws, got } = await raw();
  const bad = encodeFrame(KIND.REPLY, 0, 0, 1, '');  // a kind clients may not send
  ws.send(bad);
  const close = await got.closed;
  assert.equal(goodbyeOf(got.messages.at(-1)).code, 1);
  assert.equal(close.code, 1002);
});

test('the rest of the server is unharmed by a client that breaks the rules', async () => {
  const good = await open();
  const { ws, got } = await raw();
  ws.send('text');
  await got.closed;
  assert.ok((await good.ping()) >= 0);
  good.close();
});

test('a message over 16 + max_frame gets GOODBYE 2 and Close 1009', own, async () => {
  const s = await startHazel(['--max-frame', '1024']);
  try {
    const { ws, got } = await raw(s.wsUrl);
    ws.send(encodeFrame(KIND.REQUEST, SERVICE.ECHO, ECHO.ECHO, 1, new Uint8Array(2000)));
    const close = await got.closed;
    assert.equal(close.code, 1009);
    assert.equal(goodbyeOf(got.messages.at(-1)).code, 2);
    // Up to max_frame is fine.
    const c = await open(s.wsUrl);
    assert.equal((await c.echo(new Uint8Array(1024))).length, 1024);
    c.close();
  } finally {
    await s.stop();
  }
});

test('keepalive keeps an idle client past the idle timeout; without it IDLE', own, async () => {
  // Keepalive PINGs every third of the idle timeout: a second of slack.
  const s = await startHazel(['--idle-timeout', '1500']);
  try {
    const kept = await open(s.wsUrl);
    const idle = await open(s.wsUrl, { keepalive: false });
    const bye = first((fn) => idle.onClose(fn), 10000);
    const g = await bye;
    assert.equal(g.goodbye?.name, 'IDLE');
    assert.equal(g.code, 1000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(kept.closed, false);
    assert.ok((await kept.ping()) >= 0);
    kept.close();
  } finally {
    await s.stop();
  }
});

test('a server that stops says GOODBYE SHUTDOWN, then Close 1001', own, async () => {
  const s = await startHazel();
  const c = await open(s.wsUrl);
  const closed = first((fn) => c.onClose(fn));
  const { code } = await s.stop();
  const e = await closed;
  assert.equal(e.goodbye?.name, 'SHUTDOWN');
  assert.equal(e.code, 1001);
  assert.equal(code, 0);
});

test('a thousand WebSocket clients at once', async () => {
  const n = 1000;
  const clients = await Promise.all(Array.from({ length: n }, () => open()));
  const ids = new Set(clients.map((c) => c.id));
  assert.equal(ids.size, n);
  const name = unique('crowd');
  await Promise.all(clients.map((c) => c.room.join(name)));
  const got = Promise.all(clients.map((c) => first((fn) => c.room.onMessage(fn), 20000)));
  assert.equal(await clients[0].room.publish(name, 'all of you'), n);
  for (const m of await got) assert.equal(m.text, 'all of you');
  for (const c of clients) c.close();
});
