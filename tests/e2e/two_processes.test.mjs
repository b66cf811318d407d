// Browser end-to-end test of the chat example on TWO server processes sharing a
// real broker — redis-server, or nats-server with JetStream — as transport and
// session store (`redis` or `nats` plugin, SWITCHBOARD_E2E_BROKER, default
// redis): Debian's Chromium driven by playwright-core, two browser contexts =
// two sessions.
//
//   SWITCHBOARD_CHAT_BIN=build/bin/chat [SWITCHBOARD_E2E_BROKER=nats] node --test tests/e2e/two_processes.test.mjs
//
// Tabs: A1 on process 1 and A2 on process 2 are one session (context A); B1 on
// process 2 and B2 on process 1 are another (context B). Cookies are scoped to
// the host, not the port (RFC 6265 §8.5), so one context's tabs share the
// session cookie on both processes — which works only because both processes
// read sessions from the same store. Every delivery checked below crosses from
// one process to the other through the broker.
//
// Absence is never asserted after a sleep. The broker orders every publish (one
// Redis, one NATS server), each process handles the bus in that order, and each
// connection receives in it. So once a later "barrier" broadcast has reached a
// tab, any earlier event meant for it would have arrived first — provided the
// earlier event was already in the broker when the barrier was published:
// either it came from the same tab as the barrier (one process publishes in
// order), or a tab already showed it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  WAIT_MS, CHROMIUM, CHROMIUM_ARGS, withTimeout, tabName, token, lines, expectLine, expectNoLine,
  submit, waitFor, waitConnected, socketIdOf,
} from './chat_page.mjs';

const BROKER = process.env.SWITCHBOARD_E2E_BROKER ?? 'redis';
const REDIS_SERVER = process.env.SWITCHBOARD_REDIS_SERVER ?? '/usr/bin/redis-server';
const REDIS_CLI = process.env.SWITCHBOARD_REDIS_CLI ?? '/usr/bin/redis-cli';
const NATS_SERVER = process.env.SWITCHBOARD_NATS_SERVER ?? '/usr/sbin/nats-server';
const SECRET = `e2e-${BROKER}-secret-${process.pid}`; // shared by both processes

// ---------------------------------------------------------------------------
// Processes


// Polls `pred` (async) until it is truthy, at most `ms`: for state no event announces.
async function eventually(pred, what, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() >= deadline) throw new Error(`${what}: not true within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A loopback port that was free a moment ago.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Runs redis-cli -p PORT args...; resolves with its trimmed stdout.
function redisCli(port, ...args) {
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, ['-p', String(port), ...args], { timeout: WAIT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

// Spawns a child whose output is kept (last 8000 chars) for failure messages.
function spawnKept(bin, args, env) {
  const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (line) => {
    output = (output + line + '\n').slice(-8000);
  };
  createInterface({ input: proc.stderr }).on('line', keep);
  const stdout = createInterface({ input: proc.stdout });
  stdout.on('line', keep);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const failed = new Promise((_, reject) => proc.on('error', (e) => reject(new Error(`cannot start ${bin}: ${e.message}`))));
  failed.catch(() => {}); // observed where it matters
  return { proc, exited, failed, stdout, output: () => output };
}

const alive = (p) => p && p.proc.exitCode === null && p.proc.signalCode === null;

// One exchange with a NATS server over the text protocol: reads its INFO line,
// sends `lines` (CONNECT first) and PING, resolves at the PONG (the server has
// processed everything before it), rejects on -ERR. Used to wait for a server to
// accept connections (no lines) and to publish as an external system would.
function natsExchange(port, lines = []) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no PONG from nats-server')); }, WAIT_MS);
    let buf = '';
    let greeted = false;
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!greeted && line.startsWith('INFO ')) {
          greeted = true;
          sock.write(['CONNECT {"verbose":false,"pedantic":false}', ...lines, 'PING', ''].join('\r\n'));
        } else if (line === 'PONG') {
          clearTimeout(timer);
          sock.end();
          resolve();
        } else if (line.startsWith('-ERR')) {
          clearTimeout(timer);
          sock.destroy();
          reject(new Error(`nats-server: ${line}`));
        }
      }
    });
  });
}

// The two brokers: how to start one on a free loopback port, what a chat process
// needs to use it, and how an external system publishes to it (resolving with
// the number of receivers where the broker tells — Redis — or null).
const BROKERS = {
  redis: {
    bus: 'ss:event', // the redis plugin's default channel
    publisher: 'redis-cli',
    args: (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    server: REDIS_SERVER,
    ready: async (port) => (await redisCli(port, 'PING')) === 'PONG',
    env: (port) => ({ SWITCHBOARD_REDIS_URL: `redis://127.0.0.1:${port}/0` }),
    publish: async (port, message) => Number(await redisCli(port, 'PUBLISH', 'ss:event', message)),
    subscribers: async (port) => Number((await redisCli(port, 'PUBSUB', 'NUMSUB', 'ss:event')).split('\n').pop()),
  },
  nats: {
    bus: 'ss.event', // the nats plugin's default subject
    publisher: 'nats-pub',
    args: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js')],
    server: NATS_SERVER,
    ready: async (port) => (await natsExchange(port), true),
    env: (port) => ({ SWITCHBOARD_NATS_SERVERS: `nats://127.0.0.1:${port}` }),
    publish: async (port, message) => {
      await natsExchange(port, [`PUB ss.event ${Buffer.byteLength(message)}`, message]);
      return null; // NATS does not count receivers
    },
    subscribers: null, // /healthz 200 already means subscribed (the plugin flushes its SUB first)
  },
};
const broker = BROKERS[BROKER];
if (!broker) throw new Error(`SWITCHBOARD_E2E_BROKER must be redis or nats, not '${BROKER}'`);

// The broker on a free loopback port; resolves once it accepts clients.
async function startBroker(dir) {
  const port = await freePort();
  const server = spawnKept(broker.server, broker.args(port, dir), { PATH: process.env.PATH ?? '/usr/bin:/bin' });
  server.port = port;
  const ready = eventually(async () => {
    if (!alive(server)) throw new Error(`${BROKER} server exited:\n${server.output()}`);
    try {
      return await broker.ready(port);
    } catch {
      return false;
    }
  }, `${BROKER} server on port ${port} accepts clients`);
  await Promise.race([ready, server.failed]);
  return server;
}

// The chat binary on a free port, on the broker; resolves with its base URL.
async function startChat(bin, brokerPort) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SWITCHBOARD_')));
  Object.assign(env, {
    SWITCHBOARD_SERVER_LISTEN: '127.0.0.1:0',
    SWITCHBOARD_TRANSPORT_USE: BROKER,
    SWITCHBOARD_SESSION_STORE: BROKER,
    SWITCHBOARD_SESSION_SECRET: SECRET,
    ...broker.env(brokerPort),
  });
  const server = spawnKept(bin, [], env);
  const listening = new Promise((resolve, reject) => {
    server.stdout.on('line', (line) => {
      const m = /switchboard listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) resolve(m[1]);
    });
    server.exited.then(({ code, signal }) =>
      reject(new Error(`chat exited (code ${code}, signal ${signal}) before listening:\n${server.output()}`)),
    );
  });
  server.base = await withTimeout(Promise.race([listening, server.failed]), WAIT_MS, `chat listening:\n${server.output()}`);
  return server;
}

async function healthz(base) {
  try {
    return (await fetch(base + '/healthz', { signal: AbortSignal.timeout(WAIT_MS) })).status;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------
// Page helpers (element ids are documented at the top of examples/chat/public/app.js)


// The page learns of session changes made in another tab only when it asks
// (#refresh). A change made through the other process reaches this tab's
// process within the bus latency, and no event announces it to the page: ask
// again until it shows (bounded).
async function refreshUntil(page, selector) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    await page.click('#refresh');
    try {
      await page.locator(selector).waitFor({ timeout: 500 });
      return;
    } catch (e) {
      if (Date.now() >= deadline) throw new Error(`${tabName.get(page)}: ${selector} not shown within ${WAIT_MS} ms`);
    }
  }
}


// ---------------------------------------------------------------------------

describe(`chat example on two processes sharing ${BROKER}`, { timeout: 180_000 }, () => {
  let dir;
  let bus; // the broker process
  let s1, s2; // chat processes
  let browser;
  let A1, A2, B1, B2;
  let tabs;
  const pageErrors = [];

  async function openTab(context, name, base) {
    const page = await context.newPage();
    tabName.set(page, name);
    page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
    await page.goto(base + '/', { timeout: WAIT_MS });
    await waitConnected(page);
    return page;
  }

  // Publishes a broadcast from `from` (default B1) and waits until every tab has
  // it (see the top).
  async function barrier(from = B1) {
    const text = token('barrier');
    await submit(from, 'broadcast-form', { 'broadcast-text': text });
    for (const page of tabs) await expectLine(page, 'broadcast', { text });
  }

  before(async () => {
    const bin = process.env.SWITCHBOARD_CHAT_BIN;
    assert.ok(bin, 'set SWITCHBOARD_CHAT_BIN to the chat example binary');
    dir = mkdtempSync(join(tmpdir(), `switchboard-e2e-${BROKER}-`));
    bus = await startBroker(dir);
    s1 = await startChat(bin, bus.port);
    s2 = await startChat(bin, bus.port);
    // Both processes connected to the broker and subscribed to the bus.
    for (const s of [s1, s2]) await eventually(async () => (await healthz(s.base)) === 200, `${s.base}/healthz is 200`);
    if (broker.subscribers)
      await eventually(async () => (await broker.subscribers(bus.port)) >= 2, `two subscribers of ${broker.bus}`);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    // Two browser contexts = two cookie jars = two sessions. Tabs of one context
    // open one after the other so the second already has the first's cookie.
    const contextA = await browser.newContext();
    const contextB = await browser.newContext();
    A1 = await openTab(contextA, 'A1', s1.base);
    A2 = await openTab(contextA, 'A2', s2.base);
    B1 = await openTab(contextB, 'B1', s2.base);
    B2 = await openTab(contextB, 'B2', s1.base);
    tabs = [A1, A2, B1, B2];
  });

  after(async () => {
    await browser?.close();
    // Only what this suite started, by pid; the shutdown test stops the servers itself.
    for (const p of [s1, s2, bus]) if (alive(p)) p.proc.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('puts the tabs on both processes, each tab with its own socketId', async () => {
    assert.notEqual(s1.base, s2.base);
    const origin = (page) => new URL(page.url()).origin;
    assert.deepEqual([origin(A1), origin(B2)], [s1.base, s1.base], 'A1 and B2 on process 1');
    assert.deepEqual([origin(A2), origin(B1)], [s2.base, s2.base], 'A2 and B1 on process 2');
    const ids = await Promise.all(tabs.map(socketIdOf));
    assert.equal(new Set(ids).size, 4, `distinct socketIds: ${ids}`);
  });

  it('signs in per session: the session\'s tab on the other process has the user', async () => {
    await submit(A1, 'signin-form', { 'signin-name': 'alice' }); // process 1
    await waitFor(A1, '#user-id[data-signed-in="true"]:text-is("alice")');
    await refreshUntil(A2, '#user-id[data-signed-in="true"]:text-is("alice")'); // process 2

    await submit(B1, 'signin-form', { 'signin-name': 'bob' }); // process 2
    await waitFor(B1, '#user-id[data-signed-in="true"]:text-is("bob")');
    await refreshUntil(B2, '#user-id[data-signed-in="true"]:text-is("bob")'); // process 1
  });

  it('joining a room on one process joins the session\'s tab on the other', async () => {
    await submit(A1, 'join-form', { 'join-room': 'disney' });
    await waitFor(A1, '#rooms > li[data-room="disney"]');
    await refreshUntil(A2, '#rooms > li[data-room="disney"]');
    await B2.click('#refresh');
    await waitFor(B2, '#user-id:text-is("bob")');
    assert.equal(await B2.locator('#rooms > li').count(), 0, 'B joined nothing');
  });

  it('a room message from either process reaches every tab of the subscribed session only', async () => {
    for (const from of [B1, B2]) {
      const text = token(`room-from-${tabName.get(from)}`);
      await submit(from, 'send-form', { 'send-room': 'disney', 'send-text': text });
      await expectLine(A1, 'message', { room: 'disney', from: 'bob', text });
      await expectLine(A2, 'message', { room: 'disney', from: 'bob', text });
      await barrier(from);
      await expectNoLine(B1, 'message', { text });
      await expectNoLine(B2, 'message', { text });
    }
  });

  it('a direct message reaches every tab of that user, on both processes, only', async () => {
    const toAlice = token('to-alice');
    await submit(B2, 'direct-form', { 'direct-to': 'alice', 'direct-text': toAlice }); // from process 1
    await expectLine(A1, 'direct', { from: 'bob', text: toAlice });
    await expectLine(A2, 'direct', { from: 'bob', text: toAlice });

    const toBob = token('to-bob');
    await submit(A2, 'direct-form', { 'direct-to': 'bob', 'direct-text': toBob }); // from process 2
    await expectLine(B1, 'direct', { from: 'alice', text: toBob });
    await expectLine(B2, 'direct', { from: 'alice', text: toBob });

    await barrier();
    await expectNoLine(B1, 'direct', { text: toAlice });
    await expectNoLine(B2, 'direct', { text: toAlice });
    await expectNoLine(A1, 'direct', { text: toBob });
    await expectNoLine(A2, 'direct', { text: toBob });
  });

  it('a ping by socketId reaches exactly one tab on the other process', async () => {
    const a1 = await socketIdOf(A1);
    const a2 = await socketIdOf(A2);
    const b1 = await socketIdOf(B1);

    await submit(A1, 'ping-form', { 'ping-id': b1 }); // process 1 -> a tab on process 2
    await expectLine(B1, 'ping', { 'from-socket': a1, from: 'alice' });

    await submit(B2, 'ping-form', { 'ping-id': a2 }); // process 1 -> a tab on process 2
    await submit(A2, 'ping-form', { 'ping-id': a1 }); // process 2 -> a tab on process 1
    await expectLine(A2, 'ping', { 'from-socket': await socketIdOf(B2), from: 'bob' });
    await expectLine(A1, 'ping', { 'from-socket': a2, from: 'alice' });

    await barrier();
    for (const page of [A1, A2, B2]) await expectNoLine(page, 'ping', { 'from-socket': a1 });
    for (const page of [A2, B1, B2]) await expectNoLine(page, 'ping', { 'from-socket': a2 });
    for (const page of [A1, B1]) assert.equal(await lines(page, 'ping').count(), 1, `one ping in ${tabName.get(page)}`);
  });

  it('a broadcast from either process reaches every tab', async () => {
    for (const [from, who] of [
      [A1, 'alice'],
      [B1, 'bob'],
    ]) {
      const text = token('all');
      await submit(from, 'broadcast-form', { 'broadcast-text': text });
      for (const page of tabs) await expectLine(page, 'broadcast', { from: who, text });
    }
  });

  it(`an external publish to ${broker.bus} (as ${broker.publisher}) reaches the browsers on both processes`, async () => {
    // Redis answers how many processes are subscribed (both); NATS says nothing.
    const taken = async (message) => {
      const receivers = await broker.publish(bus.port, message);
      if (receivers !== null) assert.equal(receivers, 2, 'two subscribed processes');
    };
    const text = token('external-all');
    const all = JSON.stringify({ t: 'all', e: 'chat.broadcast', p: [{ from: broker.publisher, text }] });
    await taken(all);
    for (const page of tabs) await expectLine(page, 'broadcast', { from: broker.publisher, text });

    const inRoom = token('external-room');
    const room = JSON.stringify({ t: 'channel', channels: ['disney'], e: 'chat.message', p: [{ from: broker.publisher, text: inRoom }] });
    await taken(room);
    await expectLine(A1, 'message', { room: 'disney', from: broker.publisher, text: inRoom });
    await expectLine(A2, 'message', { room: 'disney', from: broker.publisher, text: inRoom });

    const toBob = token('external-user');
    const user = JSON.stringify({ t: 'user', users: ['bob'], e: 'chat.direct', p: [{ from: broker.publisher, text: toBob }] });
    await taken(user);
    await expectLine(B1, 'direct', { from: broker.publisher, text: toBob });
    await expectLine(B2, 'direct', { from: broker.publisher, text: toBob });

    const a2 = await socketIdOf(A2);
    const ping = JSON.stringify({ t: 'socketId', socketId: a2, e: 'chat.ping', p: [{ from: broker.publisher, fromSocketId: 'external' }] });
    await taken(ping);
    await expectLine(A2, 'ping', { from: broker.publisher, 'from-socket': 'external' });

    await barrier();
    for (const page of [B1, B2]) await expectNoLine(page, 'message', { text: inRoom });
    for (const page of [A1, A2]) await expectNoLine(page, 'direct', { text: toBob });
    for (const page of [A1, B1, B2]) await expectNoLine(page, 'ping', { 'from-socket': 'external' });
  });

  it('after signing out on one process, no tab of the session gets the user\'s messages', async () => {
    await A2.click('#signout'); // process 2
    await waitFor(A2, '#user-id[data-signed-in="false"]');
    await refreshUntil(A1, '#user-id[data-signed-in="false"]'); // process 1

    const text = token('after-signout');
    await submit(B2, 'direct-form', { 'direct-to': 'alice', 'direct-text': text }); // process 1
    await barrier(B2);
    await expectNoLine(A1, 'direct', { text });
    await expectNoLine(A2, 'direct', { text });

    // The session's other state is untouched, and it now speaks as anonymous.
    const hello = token('anon');
    await submit(A1, 'send-form', { 'send-room': 'disney', 'send-text': hello });
    await expectLine(A2, 'message', { room: 'disney', from: 'anonymous', text: hello });
  });

  it('a reloaded tab is back in its rooms with a new socketId', async () => {
    const before = await socketIdOf(A1);
    await A1.reload({ timeout: WAIT_MS });
    await waitConnected(A1);
    await waitFor(A1, '#rooms > li[data-room="disney"]');
    assert.notEqual(await socketIdOf(A1), before);

    const text = token('after-reload');
    await submit(B1, 'send-form', { 'send-room': 'disney', 'send-text': text }); // process 2
    await expectLine(A1, 'message', { room: 'disney', from: 'bob', text });
    await expectLine(A2, 'message', { room: 'disney', from: 'bob', text });
  });

  it('leaving a room on one process stops its messages for the session\'s tab on the other', async () => {
    await A2.click('#rooms > li[data-room="disney"] button.leave'); // process 2
    await A2.locator('#rooms > li[data-room="disney"]').waitFor({ state: 'detached', timeout: WAIT_MS });

    const text = token('after-leave');
    await submit(B2, 'send-form', { 'send-room': 'disney', 'send-text': text }); // process 1
    await barrier(B2);
    await expectNoLine(A1, 'message', { text });
    await expectNoLine(A2, 'message', { text });
  });

  it('no page raised an error', () => {
    assert.deepEqual(pageErrors, []);
  });

  it('both servers exit with code 0 within 10 s of SIGTERM', async () => {
    for (const s of [s1, s2]) {
      s.proc.kill('SIGTERM');
      const { code, signal } = await withTimeout(s.exited, 10_000, `${s.base} exit after SIGTERM`);
      assert.equal(signal, null, `killed by ${signal}:\n${s.output()}`);
      assert.equal(code, 0, `exit code ${code}:\n${s.output()}`);
    }
  });
});
