// Unit tests of the JS client against a fake WebSocket: no server needed.
// Run: node --test sdk/js/test/
import { test, mock, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, connect } from '../switchboard.js';
import defaultExport from '../switchboard.js';

// A scripted stand-in for a WebSocket: records what the client sends and lets a
// test play the server's frames and close codes.
class FakeSocket {
  static all = [];
  static get last() {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
  constructor(url, protocols, options) {
    this.url = url;
    this.protocols = protocols;
    this.options = options;
    this.sent = [];
    this.closed = false;
    FakeSocket.all.push(this);
  }
  send(text) {
    if (this.closed) throw new Error('socket is closed');
    this.sent.push(JSON.parse(text));
  }
  close(code = 1005, reason = '') {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.({ code, reason });
  }
  // --- test side ---
  frame(obj) {
    this.onmessage?.({ data: JSON.stringify(obj) });
  }
  raw(data) {
    this.onmessage?.({ data });
  }
  ready(socketId = 'sock-1') {
    this.frame({ t: 'ready', socketId, v: 1 });
  }
  drop(code = 1006, reason = '') {
    this.closed = true;
    this.onclose?.({ code, reason });
  }
}

let clients = [];
function client(opts = {}) {
  const ss = createClient({ url: 'ws://test/ws', WebSocket: FakeSocket, ...opts });
  clients.push(ss);
  return ss;
}

afterEach(() => {
  for (const ss of clients) ss.close();
  clients = [];
  FakeSocket.all = [];
  mock.timers.reset();
  mock.restoreAll();
});

// Lets pending promise callbacks run.
const flush = () => new Promise((r) => setImmediate(r));

test('exports createClient as default, named and connect alias', () => {
  assert.equal(defaultExport, createClient);
  assert.equal(connect, createClient);
});

test('passes url, and headers as ws options only when given', () => {
  client();
  assert.equal(FakeSocket.last.url, 'ws://test/ws');
  assert.equal(FakeSocket.last.options, undefined);
  client({ headers: { Cookie: 'sb.sid=abc' } });
  assert.deepEqual(FakeSocket.last.options, { headers: { Cookie: 'sb.sid=abc' } });
});

test('requires a url outside a browser', () => {
  assert.throws(() => createClient({ WebSocket: FakeSocket }), /url/);
});

test('ready sets socketId and connected, emits ready', () => {
  const ss = client();
  let readies = 0;
  ss.server.on('ready', () => readies++);
  assert.equal(ss.connected, false);
  FakeSocket.last.ready('abc');
  assert.equal(ss.connected, true);
  assert.equal(ss.socketId, 'abc');
  assert.equal(readies, 1);
});

test('batch frames dispatch in order, each as if alone', async () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const seen = [];
  ss.event.on('a', (x) => seen.push(['a', x]));
  ss.event.on('b', (x, c) => seen.push(['b', x, c]));
  const reply = ss.rpc('m');
  ws.frame([
    { t: 'event', e: 'a', p: [1] },
    { t: 'event', e: 'b', p: [2], c: 'room' },
    { t: 'future-thing', x: 1 },
    { t: 'reply', id: ws.sent[0].id, r: 'ok' },
    { t: 'event', e: 'a', p: [3] },
  ]);
  assert.deepEqual(seen, [
    ['a', 1],
    ['b', 2, 'room'],
    ['a', 3],
  ]);
  assert.equal(await reply, 'ok');
});

test('channel name is appended after the args; plain events get args only', () => {
  const ss = client();
  FakeSocket.last.ready();
  const calls = [];
  ss.event.on('chat.message', (...args) => calls.push(args));
  FakeSocket.last.frame({ t: 'event', e: 'chat.message', p: [{ from: 'bob' }, 2], c: 'disney' });
  FakeSocket.last.frame({ t: 'event', e: 'chat.message', p: ['x'] });
  FakeSocket.last.frame({ t: 'event', e: 'chat.message' });
  assert.deepEqual(calls, [[{ from: 'bob' }, 2, 'disney'], ['x'], []]);
});

test('once fires once; off removes one handler or all of a name', () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const seen = [];
  const a = (x) => seen.push('a' + x);
  const b = (x) => seen.push('b' + x);
  const o = (x) => seen.push('o' + x);
  ss.event.on('e', a).on('e', b).once('e', o);
  ws.frame({ t: 'event', e: 'e', p: [1] });
  ws.frame({ t: 'event', e: 'e', p: [2] });
  ss.event.off('e', a);
  ws.frame({ t: 'event', e: 'e', p: [3] });
  ss.event.off('e');
  ws.frame({ t: 'event', e: 'e', p: [4] });
  assert.deepEqual(seen, ['a1', 'b1', 'o1', 'a2', 'b2', 'b3']);
  // off(name, fn) also removes a once-handler before it fires.
  ss.event.once('f', o);
  ss.event.off('f', o);
  ws.frame({ t: 'event', e: 'f', p: [5] });
  assert.deepEqual(seen, ['a1', 'b1', 'o1', 'a2', 'b2', 'b3']);
});

test('a throwing handler does not stop the others or the rest of a batch', () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const errors = mock.method(console, 'error', () => {});
  const seen = [];
  ss.event.on('e', () => {
    throw new Error('boom');
  });
  ss.event.on('e', (x) => seen.push(x));
  ws.frame([
    { t: 'event', e: 'e', p: [1] },
    { t: 'event', e: 'e', p: [2] },
  ]);
  assert.deepEqual(seen, [1, 2]);
  assert.equal(errors.mock.callCount(), 2);
});

test('rpc sends a v1 frame and resolves with r', async () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const p = ss.rpc('chat.join', 'disney');
  assert.deepEqual(ws.sent, [{ t: 'rpc', id: ws.sent[0].id, m: 'chat.join', p: ['disney'] }]);
  assert.ok(Number.isInteger(ws.sent[0].id) && ws.sent[0].id >= 0);
  ws.frame({ t: 'reply', id: ws.sent[0].id, r: ['disney'] });
  assert.deepEqual(await p, ['disney']);
});

test('replies may come out of order; each settles its own call', async () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const p1 = ss.rpc('a');
  const p2 = ss.rpc('b');
  const [id1, id2] = ws.sent.map((f) => f.id);
  assert.notEqual(id1, id2);
  ws.frame({ t: 'reply', id: id2, r: 2 });
  ws.frame({ t: 'reply', id: id1, r: 1 });
  assert.deepEqual(await Promise.all([p1, p2]), [1, 2]);
});

test('rpc rejects with an Error carrying code and message', async () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const p = ss.rpc('nope');
  ws.frame({ t: 'reply', id: ws.sent[0].id, err: { code: 'unknown_method', message: 'no such method' } });
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'unknown_method');
    assert.equal(e.message, 'no such method');
    return true;
  });
});

test('a trailing function is a Node-style callback and no promise is returned', async () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const results = [];
  const ret = ss.rpc('chat.send', 'disney', 'hi', (err, r) => results.push([err, r]));
  assert.equal(ret, undefined);
  assert.deepEqual(ws.sent[0].p, ['disney', 'hi']);
  ss.rpc('bad', (err, r) => results.push([err.code, err.message, r]));
  ws.frame({ t: 'reply', id: ws.sent[0].id, r: true });
  ws.frame({ t: 'reply', id: ws.sent[1].id, err: { code: 'bad_args', message: 'm' } });
  assert.deepEqual(results, [
    [null, true],
    ['bad_args', 'm', undefined],
  ]);
});

test('rpc before ready is queued and sent, in order, on ready', async () => {
  const ss = client();
  const ws = FakeSocket.last;
  const p1 = ss.rpc('first', 1);
  const p2 = ss.rpc('second', 2);
  assert.equal(ws.sent.length, 0);
  let sentAtReady;
  ss.server.on('ready', () => {
    sentAtReady = ws.sent.map((f) => f.m);
    ss.rpc('fromReadyHandler').catch(() => {}); // never answered here
  });
  ws.ready();
  assert.deepEqual(sentAtReady, ['first', 'second']);
  assert.deepEqual(
    ws.sent.map((f) => f.m),
    ['first', 'second', 'fromReadyHandler'],
  );
  ws.frame({ t: 'reply', id: ws.sent[0].id, r: 'a' });
  ws.frame({ t: 'reply', id: ws.sent[1].id, r: 'b' });
  assert.deepEqual(await Promise.all([p1, p2]), ['a', 'b']);
});

test('in-flight rpcs are rejected with "disconnected"; queued ones wait for the next ready', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ss = client();
  const ws1 = FakeSocket.last;
  ws1.ready();
  const inflight = ss.rpc('slow');
  ws1.drop(1006);
  await assert.rejects(inflight, { code: 'disconnected' });
  assert.equal(ss.connected, false);
  const later = ss.rpc('later');
  mock.timers.tick(10_000);
  const ws2 = FakeSocket.last;
  assert.notEqual(ws2, ws1);
  assert.equal(ws2.sent.length, 0);
  ws2.ready('sock-2');
  assert.deepEqual(ws2.sent.map((f) => f.m), ['later']);
  ws2.frame({ t: 'reply', id: ws2.sent[0].id, r: 42 });
  assert.equal(await later, 42);
});

test('error frames are emitted on ss.server; unknown frames and junk are ignored', () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const errs = [];
  ss.server.on('error', (e) => errs.push(e));
  ws.frame({ t: 'error', err: { code: 'bad_request', message: 'not JSON' } });
  ws.frame({ t: 'something-new', x: 1 });
  ws.raw('not json');
  ws.frame(null);
  ws.frame(5);
  ws.frame({ t: 'reply', id: 999, r: 1 }); // no such call
  assert.deepEqual(errs, [{ code: 'bad_request', message: 'not JSON' }]);
});

test('reconnects with full-jitter exponential backoff, reset after ready', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  mock.method(Math, 'random', () => 0.999999); // worst case: the whole cap
  const ss = client({ backoff: { initialMs: 100, maxMs: 350 } });
  const events = [];
  ss.server.on('ready', () => events.push('ready'));
  ss.server.on('reconnect', () => events.push('reconnect'));
  ss.server.on('disconnect', (code, reason) => events.push(`disconnect ${code} ${reason}`));
  FakeSocket.last.ready('s1');

  // Each failed attempt doubles the cap: 100, 200, then maxMs (350) from there on.
  FakeSocket.last.drop(1001, 'going away');
  const caps = [100, 200, 350, 350];
  caps.forEach((cap, i) => {
    const n = FakeSocket.all.length;
    mock.timers.tick(cap - 2);
    assert.equal(FakeSocket.all.length, n, `no attempt before ${cap} ms`);
    mock.timers.tick(2);
    assert.equal(FakeSocket.all.length, n + 1, `an attempt by ${cap} ms`);
    if (i < caps.length - 1) FakeSocket.last.drop(1006); // this attempt fails too
  });
  FakeSocket.last.ready('s2');
  assert.equal(ss.socketId, 's2');
  // Only the loss of a working connection is reported, not each failed attempt.
  assert.deepEqual(events, ['ready', 'disconnect 1001 going away', 'ready', 'reconnect']);

  // After a ready the backoff starts again from initialMs.
  const n = FakeSocket.all.length;
  FakeSocket.last.drop(1011);
  mock.timers.tick(100);
  assert.equal(FakeSocket.all.length, n + 1);
});

test('reconnect delay is random in [0, cap] (full jitter)', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  mock.method(Math, 'random', () => 0);
  client({ backoff: { initialMs: 1000, maxMs: 5000 } });
  FakeSocket.last.ready();
  FakeSocket.last.drop(1006);
  mock.timers.tick(0);
  assert.equal(FakeSocket.all.length, 2);
});

test('close code 1008 stops reconnecting and fails queued calls', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ss = client();
  const events = [];
  ss.server.on('disconnect', (code) => events.push(code));
  FakeSocket.last.ready();
  FakeSocket.last.drop(1008, 'policy');
  const queuedCall = ss.rpc('x');
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1);
  assert.deepEqual(events, [1008]);
  await assert.rejects(queuedCall, { code: 'closed' });
});

test('1008 before ready still stops and reports the disconnect', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ss = client();
  const events = [];
  ss.server.on('disconnect', (code, reason) => events.push([code, reason]));
  FakeSocket.last.drop(1008, 'origin');
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1);
  assert.deepEqual(events, [[1008, 'origin']]);
});

// Token authentication (docs/protocol.md "Token authentication").
const settle = () => new Promise((r) => setImmediate(r)); // lets a token function's promise run

test('a token string is sent as ?token= (or &token=), URL-encoded', () => {
  client({ token: 'a.b.c' });
  assert.equal(FakeSocket.last.url, 'ws://test/ws?token=a.b.c');
  client({ url: 'ws://test/ws?x=1', token: 'a+b' });
  assert.equal(FakeSocket.last.url, 'ws://test/ws?x=1&token=a%2Bb');
  assert.throws(() => client({ token: 42 }), TypeError);
});

test('a token function is called before every connect, and may return a promise', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  let n = 0;
  client({ token: () => Promise.resolve(`t${++n}`) });
  await settle();
  assert.equal(FakeSocket.last.url, 'ws://test/ws?token=t1');
  FakeSocket.last.ready();
  FakeSocket.last.drop(1006);
  mock.timers.tick(1000);
  await settle();
  assert.equal(FakeSocket.all.length, 2);
  assert.equal(FakeSocket.last.url, 'ws://test/ws?token=t2');
});

test('a failing token function is a failed attempt: an error event, then a retry', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  let n = 0;
  const ss = client({
    token: () => {
      if (++n === 1) throw new Error('auth server down');
      return 'ok';
    },
  });
  const errors = [];
  ss.server.on('error', (e) => errors.push(e.code));
  await settle();
  assert.equal(FakeSocket.all.length, 0);
  assert.deepEqual(errors, ['token_unavailable']);
  mock.timers.tick(1000);
  await settle();
  assert.equal(FakeSocket.all.length, 1);
  assert.equal(FakeSocket.last.url, 'ws://test/ws?token=ok');
});

test('close 4401 (invalid token) stops the client', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  let n = 0;
  const ss = client({ token: () => `t${++n}` });
  const events = [];
  ss.server.on('disconnect', (code) => events.push(code));
  await settle();
  FakeSocket.last.drop(4401, 'bad signature');
  mock.timers.tick(60_000);
  await settle();
  assert.equal(n, 1);
  assert.deepEqual(events, [4401]);
  await assert.rejects(ss.rpc('x'), { code: 'closed' });
});

test('close 4402 (expired): a token function reconnects at once with a new token; a string stops', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  let n = 0;
  client({ token: () => `t${++n}` });
  await settle();
  FakeSocket.last.ready();
  FakeSocket.last.drop(4402, 'token expired');
  mock.timers.tick(0);
  await settle();
  assert.equal(FakeSocket.all.length, 2);
  assert.equal(FakeSocket.last.url, 'ws://test/ws?token=t2');

  const fixed = client({ token: 'fixed' });
  const events = [];
  fixed.server.on('disconnect', (code) => events.push(code));
  FakeSocket.last.drop(4402, 'token expired');
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 3);
  assert.deepEqual(events, [4402]);
});

test('close() stops for good and fails pending and queued calls with "closed"', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const pending = ss.rpc('a');
  let disconnects = 0;
  ss.server.on('disconnect', () => disconnects++);
  ss.close();
  assert.equal(ws.closed, true);
  assert.equal(ss.connected, false);
  await assert.rejects(pending, { code: 'closed' });
  await assert.rejects(ss.rpc('b'), { code: 'closed' });
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1);
  assert.equal(disconnects, 1);
});

test('close() during a backoff wait cancels the attempt', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ss = client();
  let disconnects = 0;
  ss.server.on('disconnect', () => disconnects++);
  FakeSocket.last.drop(1006); // never ready: a failed attempt, not a disconnect
  ss.close();
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1);
  assert.equal(disconnects, 0);
});

test('a callback that throws does not break the dispatch of later frames', async () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  mock.method(console, 'error', () => {});
  const seen = [];
  ss.rpc('a', () => {
    throw new Error('app bug');
  });
  ss.event.on('e', (x) => seen.push(x));
  ws.frame([
    { t: 'reply', id: ws.sent[0].id, r: 1 },
    { t: 'event', e: 'e', p: ['after'] },
  ]);
  assert.deepEqual(seen, ['after']);
  await flush();
});

test('one bad frame in a batch costs only that frame; the error is reported', () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const seen = [];
  const errs = [];
  ss.event.on('e', (x, c) => seen.push(c === undefined ? x : [x, c]));
  ss.server.on('error', (e) => errs.push(e));
  // What an old server sent for 1e999 (`Infinity` is not JSON), amid good frames
  // whose strings hold the characters the splitter must not cut at.
  const good = (i) => JSON.stringify({ t: 'event', e: 'e', p: [i], c: 'a,]}"[{' });
  ws.raw(`[${good(1)},{"t":"event","e":"e","p":[Infinity]},${good(2)},{"t":"event","e":"e","p":[NaN]},${good(3)}]`);
  assert.deepEqual(seen, [
    [1, 'a,]}"[{'],
    [2, 'a,]}"[{'],
    [3, 'a,]}"[{'],
  ]);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].code, 'bad_frame');
  assert.match(errs[0].message, /2 frame/);
});

test('an id-less error frame fails every call awaiting a reply; queued calls are not affected', async () => {
  const ss = client();
  const ws = FakeSocket.last;
  ws.ready();
  const a = ss.rpc('a');
  const b = ss.rpc('b');
  const errs = [];
  ss.server.on('error', (e) => errs.push(e));
  ws.frame({ t: 'error', err: { code: 'bad_request', message: 'not valid JSON' } });
  for (const p of [a, b]) {
    await assert.rejects(p, (e) => e.code === 'bad_request' && e.message === 'not valid JSON');
  }
  assert.equal(errs.length, 1);
  ws.frame({ t: 'reply', id: ws.sent[0].id, r: 1 }); // too late: ignored
  const c = ss.rpc('c'); // later calls work as before
  ws.frame({ t: 'reply', id: ws.sent[2].id, r: 3 });
  assert.equal(await c, 3);
});

test('a call fails with "timeout" after rpcTimeoutMs; its late reply is ignored', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ss = client({ rpcTimeoutMs: 1000 });
  const ws = FakeSocket.last;
  ws.ready();
  const slow = ss.rpc('slow');
  const fast = ss.rpc('fast');
  ws.frame({ t: 'reply', id: ws.sent[1].id, r: 'ok' });
  assert.equal(await fast, 'ok');
  mock.timers.tick(999);
  await flush();
  let settled = false;
  slow.then(
    () => (settled = true),
    () => (settled = true),
  );
  await flush();
  assert.equal(settled, false);
  mock.timers.tick(1);
  await assert.rejects(slow, (e) => e.code === 'timeout' && /slow/.test(e.message));
  ws.frame({ t: 'reply', id: ws.sent[0].id, r: 'late' }); // no throw, nothing settles twice
});

test('a queued call times out too and is then never sent', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  mock.method(Math, 'random', () => 0);
  const ss = client({ rpcTimeoutMs: 500 });
  const waiting = ss.rpc('queued'); // no ready yet
  mock.timers.tick(500);
  await assert.rejects(waiting, (e) => e.code === 'timeout');
  FakeSocket.last.ready();
  assert.deepEqual(FakeSocket.last.sent, []);
});

test('the callback form times out the same way', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ss = client({ rpcTimeoutMs: 10 });
  FakeSocket.last.ready();
  const got = [];
  ss.rpc('x', (err, r) => got.push([err?.code, r]));
  mock.timers.tick(10);
  FakeSocket.last.frame({ t: 'reply', id: FakeSocket.last.sent[0].id, r: 1 });
  assert.deepEqual(got, [['timeout', undefined]]);
});

test('rpcTimeoutMs must be a positive number or Infinity', () => {
  for (const bad of [0, -1, '5', NaN]) {
    assert.throws(() => createClient({ url: 'ws://t/ws', WebSocket: FakeSocket, rpcTimeoutMs: bad }), /rpcTimeoutMs/);
  }
  client({ rpcTimeoutMs: Infinity }).rpc('never-times-out').catch(() => {}); // closed after the test
});

test('reconnect() drops the socket and connects again at once', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ss = client();
  const first = FakeSocket.last;
  first.ready('sock-1');
  const events = [];
  ss.server.on('disconnect', (code, reason) => events.push(['disconnect', code, reason]));
  ss.server.on('reconnect', () => events.push(['reconnect']));
  const pending = ss.rpc('inflight');
  ss.reconnect();
  await assert.rejects(pending, (e) => e.code === 'disconnected');
  assert.equal(first.closed, true);
  const second = FakeSocket.last;
  assert.notEqual(second, first); // no backoff wait
  first.drop(1000); // the old socket's own close event changes nothing
  second.ready('sock-2');
  assert.equal(ss.socketId, 'sock-2');
  assert.deepEqual(events, [['disconnect', 1000, 'client reconnect'], ['reconnect']]);
  ss.close();
  ss.reconnect(); // no-op after close
  assert.equal(FakeSocket.last, second);
});
