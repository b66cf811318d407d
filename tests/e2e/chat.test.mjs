// Browser end-to-end test of the chat example: real server process, Debian's
// Chromium driven by playwright-core, two browser contexts = two sessions.
//
//   SWITCHBOARD_CHAT_BIN=build/bin/chat node --test tests/e2e/chat.test.mjs
//
// With SWITCHBOARD_E2E_TLS=1 the same suite runs over https and wss: the server
// gets a certificate made for the run (server.tls_cert / tls_key), Chromium is
// told to ignore certificate errors (that browser only), curl trusts the
// certificate, and one more test checks the page is https, the socket wss and
// the session cookie Secure.
//
// Absence is never asserted after a sleep. Every server publish goes through one
// bus in one order, and each connection receives in that order; so once a later
// "barrier" broadcast has reached a tab, any earlier event meant for it would have
// arrived first. Each test publishes, waits for the positive deliveries, then
// sends a barrier and checks that nothing reached the other tabs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chromium } from 'playwright-core';
import {
  WAIT_MS, CHROMIUM, CHROMIUM_ARGS, withTimeout, tabName, token, lines, expectLine, expectNoLine,
  submit, waitFor, waitConnected, socketIdOf, startServer, makeCertificate,
} from './chat_page.mjs';

const TLS = process.env.SWITCHBOARD_E2E_TLS === '1' ? makeCertificate() : null;


// ---------------------------------------------------------------------------
// The server process

// The HTTP API's key for this run (api.keys, docs/http-api.md).
const API_KEY = `e2e-api-key-${process.pid}-0123456789`;

// POSTs body (JSON) to the server's /api/publish with curl, as a backend would;
// resolves with curl's output (the answer's body) and the HTTP status.
function curlPublish(base, body) {
  return new Promise((resolve, reject) => {
    execFile('curl', [...(TLS ? ['--cacert', TLS.cert] : []), '-sS', '-X', 'POST', `${base}/api/publish`, '-H', `Authorization: Bearer ${API_KEY}`,
      '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body), '-w', '\n%{http_code}'],
    { timeout: WAIT_MS }, (err, stdout) => {
      if (err) return reject(err);
      const at = stdout.lastIndexOf('\n');
      resolve({ body: stdout.slice(0, at).trim(), status: Number(stdout.slice(at + 1)) });
    });
  });
}

// ---------------------------------------------------------------------------
// Page helpers (element ids are documented at the top of examples/chat/public/app.js)



// ---------------------------------------------------------------------------

describe('chat example in a browser', { timeout: 120_000 }, () => {
  let server;
  let base;
  let browser;
  let A1, A2, B1; // session A has tabs A1, A2; session B has tab B1
  const pageErrors = [];

  async function openTab(context, name) {
    const page = await context.newPage();
    tabName.set(page, name);
    page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
    await page.goto(base + '/', { timeout: WAIT_MS });
    await waitConnected(page);
    return page;
  }

  // Publishes a broadcast from B1 and waits until every tab has it (see the top).
  async function barrier() {
    const text = token('barrier');
    await submit(B1, 'broadcast-form', { 'broadcast-text': text });
    for (const page of [A1, A2, B1]) await expectLine(page, 'broadcast', { text });
  }

  before(async () => {
    const bin = process.env.SWITCHBOARD_CHAT_BIN;
    assert.ok(bin, 'set SWITCHBOARD_CHAT_BIN to the chat example binary');
    const tlsEnv = TLS ? { SWITCHBOARD_SERVER_TLS_CERT: TLS.cert, SWITCHBOARD_SERVER_TLS_KEY: TLS.key } : {};
    server = startServer(bin, { SWITCHBOARD_API_KEYS: `[${API_KEY}]`, ...tlsEnv });
    base = await server.listening;
    if (TLS) assert.match(base, /^https:/, 'a TLS server says https');
    const args = TLS ? [...CHROMIUM_ARGS, '--ignore-certificate-errors'] : CHROMIUM_ARGS;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
    // Two browser contexts = two cookie jars = two sessions. Tabs of one context
    // open one after the other so the second already has the first's cookie.
    const contextA = await browser.newContext();
    const contextB = await browser.newContext();
    A1 = await openTab(contextA, 'A1');
    A2 = await openTab(contextA, 'A2');
    B1 = await openTab(contextB, 'B1');
  });

  after(async () => {
    await browser?.close();
    if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
      server.proc.kill('SIGKILL'); // only if the shutdown test did not stop it
    }
  });

  it('gives each tab its own socketId', async () => {
    const ids = await Promise.all([A1, A2, B1].map(socketIdOf));
    assert.equal(new Set(ids).size, 3, `distinct socketIds: ${ids}`);
  });

  it('signs in per session: both tabs of a session share the user', async () => {
    await submit(A1, 'signin-form', { 'signin-name': 'alice' });
    await waitFor(A1, '#user-id[data-signed-in="true"]:text-is("alice")');
    await submit(B1, 'signin-form', { 'signin-name': 'bob' });
    await waitFor(B1, '#user-id[data-signed-in="true"]:text-is("bob")');
    await A2.click('#refresh');
    await waitFor(A2, '#user-id[data-signed-in="true"]:text-is("alice")');
  });

  it('joining a room in one tab joins the whole session', async () => {
    await submit(A1, 'join-form', { 'join-room': 'disney' });
    await waitFor(A1, '#rooms > li[data-room="disney"]');
    await A2.click('#refresh');
    await waitFor(A2, '#rooms > li[data-room="disney"]');
    await B1.click('#refresh');
    await waitFor(B1, '#user-id:text-is("bob")');
    assert.equal(await B1.locator('#rooms > li').count(), 0, 'B joined nothing');
  });

  it('a room message reaches every tab of the subscribed session only', async () => {
    const text = token('room');
    await submit(B1, 'send-form', { 'send-room': 'disney', 'send-text': text });
    await expectLine(A1, 'message', { room: 'disney', from: 'bob', text });
    await expectLine(A2, 'message', { room: 'disney', from: 'bob', text });
    await barrier();
    await expectNoLine(B1, 'message', { text });
  });

  it('a direct message reaches every tab of that user only', async () => {
    const toAlice = token('to-alice');
    await submit(B1, 'direct-form', { 'direct-to': 'alice', 'direct-text': toAlice });
    await expectLine(A1, 'direct', { from: 'bob', text: toAlice });
    await expectLine(A2, 'direct', { from: 'bob', text: toAlice });

    const toBob = token('to-bob');
    await submit(A1, 'direct-form', { 'direct-to': 'bob', 'direct-text': toBob });
    await expectLine(B1, 'direct', { from: 'alice', text: toBob });

    await barrier();
    await expectNoLine(B1, 'direct', { text: toAlice });
    await expectNoLine(A1, 'direct', { text: toBob });
    await expectNoLine(A2, 'direct', { text: toBob });
  });

  it('a ping reaches exactly one tab', async () => {
    const a1 = await socketIdOf(A1);
    const a2 = await socketIdOf(A2);

    await A1.click('#ping-self');
    await expectLine(A1, 'ping', { 'from-socket': a1, from: 'alice' });

    await submit(A2, 'ping-form', { 'ping-id': a1 });
    await expectLine(A1, 'ping', { 'from-socket': a2, from: 'alice' });

    await barrier();
    for (const page of [A2, B1]) {
      await expectNoLine(page, 'ping', { 'from-socket': a1 });
      await expectNoLine(page, 'ping', { 'from-socket': a2 });
    }
  });

  it('a broadcast reaches every tab of every session', async () => {
    const text = token('all');
    await submit(A2, 'broadcast-form', { 'broadcast-text': text });
    for (const page of [A1, A2, B1]) await expectLine(page, 'broadcast', { from: 'alice', text });
  });

  it('a backend publish over the HTTP API (curl) reaches the browsers it names', async () => {
    const text = token('api');
    const answer = await curlPublish(base, [
      { t: 'all', e: 'chat.broadcast', p: [{ from: 'backend', text }] },
      { t: 'channel', channels: ['disney'], e: 'chat.message', p: [{ from: 'backend', text }] },
    ]);
    assert.deepEqual(answer, { body: '{"published":2}', status: 200 });
    for (const page of [A1, A2, B1]) await expectLine(page, 'broadcast', { from: 'backend', text });
    await expectLine(A1, 'message', { room: 'disney', from: 'backend', text });
    await expectLine(A2, 'message', { room: 'disney', from: 'backend', text });
    await barrier();
    await expectNoLine(B1, 'message', { from: 'backend', text });

    const refused = await curlPublish(base, { t: 'channel', e: 'chat.message' });
    assert.equal(refused.status, 400);
    assert.match(JSON.parse(refused.body).error.message, /channels/);
  });

  it('a call holding half a UTF-16 surrogate pair is answered; the text arrives with U+FFFD', async () => {
    // JSON.stringify writes a lone surrogate as the escape \ud800 (issue 14).
    const text = token('surrogate');
    const result = await A2.evaluate((t) => window.chat.ss.rpc('chat.broadcast', t + '\ud800'), text);
    assert.equal(result, true);
    for (const page of [A1, A2, B1]) {
      await expectLine(page, 'broadcast', { from: 'alice', text: text + '\ufffd' });
    }
  });

  it('after signing out, the session gets no direct messages for the user', async () => {
    await A1.click('#signout');
    await waitFor(A1, '#user-id[data-signed-in="false"]');

    const text = token('after-signout');
    await submit(B1, 'direct-form', { 'direct-to': 'alice', 'direct-text': text });
    await barrier();
    await expectNoLine(A1, 'direct', { text });
    await expectNoLine(A2, 'direct', { text });

    // The session's other state is untouched, and it now speaks as anonymous.
    const hello = token('anon');
    await submit(A1, 'send-form', { 'send-room': 'disney', 'send-text': hello });
    await expectLine(A2, 'message', { room: 'disney', from: 'anonymous', text: hello });
  });

  it('a reloaded tab is back in its rooms with a new socketId', async () => {
    const before = await socketIdOf(A2);
    await A2.reload({ timeout: WAIT_MS });
    await waitConnected(A2);
    await waitFor(A2, '#rooms > li[data-room="disney"]');
    assert.notEqual(await socketIdOf(A2), before);

    const text = token('after-reload');
    await submit(B1, 'send-form', { 'send-room': 'disney', 'send-text': text });
    await expectLine(A2, 'message', { room: 'disney', from: 'bob', text });
    await expectLine(A1, 'message', { room: 'disney', from: 'bob', text });
  });

  it('leaving a room stops its messages for every tab of the session', async () => {
    await A1.click('#rooms > li[data-room="disney"] button.leave');
    await A1.locator('#rooms > li[data-room="disney"]').waitFor({ state: 'detached', timeout: WAIT_MS });

    const text = token('after-leave');
    await submit(B1, 'send-form', { 'send-room': 'disney', 'send-text': text });
    await barrier();
    await expectNoLine(A1, 'message', { text });
    await expectNoLine(A2, 'message', { text });
  });

  it('over TLS: the page is https, the socket wss, the session cookie Secure', { skip: !TLS }, async () => {
    assert.equal(await A1.evaluate(() => location.protocol), 'https:');
    const cookies = await A1.context().cookies(base);
    const sid = cookies.find((c) => c.name === 'sb.sid');
    assert.ok(sid, `a session cookie: ${JSON.stringify(cookies)}`);
    assert.equal(sid.secure, true, 'Secure');
    // The tab is connected, and an https page may only open wss:// (Chromium
    // blocks ws:// from it as mixed content); the server is TLS-only anyway.
    await waitFor(A1, '#status[data-state="connected"]');
  });

  it('no page raised an error', () => {
    assert.deepEqual(pageErrors, []);
  });

  it('the server exits with code 0 within 10 s of SIGTERM', async () => {
    server.proc.kill('SIGTERM');
    const { code, signal } = await withTimeout(server.exited, 10_000, 'server exit after SIGTERM');
    assert.equal(signal, null, `killed by ${signal}:\n${server.output()}`);
    assert.equal(code, 0, `exit code ${code}:\n${server.output()}`);
  });
});
