// TLS on the listener (server.tls_cert / tls_key, docs/operations.md "TLS")
// from Node: the chain the server presents, the protocol and cipher policy, plain
// HTTP sent to the TLS port, the Secure cookie, and SIGHUP reloading the
// certificate while a wss client stays connected. The browser suite over wss is
// e2e_chat_tls (chat.test.mjs with SWITCHBOARD_E2E_TLS=1).
//
//   SWITCHBOARD_CHAT_BIN=build/bin/chat NODE_TLS_REJECT_UNAUTHORIZED=0 \
//     node --experimental-websocket --test tests/e2e/tls.test.mjs
//
// NODE_TLS_REJECT_UNAUTHORIZED=0 is for the WebSocket only (Node's WebSocket
// takes no CA option); every check of the chain passes the certificate as its CA
// with rejectUnauthorized: true.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { WAIT_MS, withTimeout, startServer, makeCertificate } from './chat_page.mjs';
import { createClient } from '../../sdk/js/switchboard.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const API_KEY = `tls-test-key-${process.pid}-0123456789`;

// The switchboard command: { code, output }.
const cli = (args, env = {}) =>
  new Promise((resolve) => {
    execFile(process.env.SWITCHBOARD_CLI_BIN, args, { env: { ...process.env, ...env }, timeout: WAIT_MS },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, output: stdout + stderr }));
  });

describe('TLS on the listener', { timeout: 120_000 }, () => {
  let server;
  let port;
  let a;
  let b;
  let live; // the files the server reads: a copy of a, then of b
  const clients = [];

  // The certificate the server presents to a new connection, verified against ca.
  const handshake = (options) =>
    withTimeout(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => {
          const info = {
            authorized: s.authorized,
            protocol: s.getProtocol(),
            cipher: s.getCipher().name,
            fingerprint: s.getPeerCertificate().fingerprint256,
          };
          s.end();
          resolve(info);
        });
        s.on('error', reject);
      }),
      WAIT_MS,
      'TLS handshake',
    );

  // GET over https; verified when ca is given.
  const get = (path, ca) =>
    withTimeout(
      new Promise((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path, ca, rejectUnauthorized: !!ca, servername: 'localhost' }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
          })
          .on('error', reject);
      }),
      WAIT_MS,
      `GET ${path}`,
    );
  const metric = async (name) => {
    const { body } = await get('/metrics');
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(body);
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  };

  before(async () => {
    const bin = process.env.SWITCHBOARD_CHAT_BIN;
    assert.ok(bin, 'SWITCHBOARD_CHAT_BIN is not set');
    a = makeCertificate(undefined, 'a');
    b = makeCertificate(a.dir, 'b');
    live = { cert: join(a.dir, 'live.crt'), key: join(a.dir, 'live.key') };
    copyFileSync(a.cert, live.cert);
    copyFileSync(a.key, live.key);
    server = startServer(bin, {
      SWITCHBOARD_SERVER_TLS_CERT: live.cert,
      SWITCHBOARD_SERVER_TLS_KEY: live.key,
      SWITCHBOARD_SERVER_HANDSHAKE_TIMEOUT: '2s', // bounds the TLS handshake too
      SWITCHBOARD_API_KEYS: `[${API_KEY}]`,
    });
    const base = await server.listening;
    assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/);
    port = Number(new URL(base).port);
  });

  after(async () => {
    for (const c of clients) c.close();
    if (server) {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
    if (a) rmSync(a.dir, { recursive: true, force: true });
  });

  it('presents a chain that verifies for localhost, over TLS 1.3 by default', async () => {
    const info = await handshake({ ca: readFileSync(a.cert), rejectUnauthorized: true });
    assert.equal(info.authorized, true);
    assert.equal(info.protocol, 'TLSv1.3');
  });

  it('takes TLS 1.2 with a forward-secret AEAD suite, refuses CBC suites and TLS 1.1', async () => {
    const tls12 = await handshake({ rejectUnauthorized: false, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    assert.equal(tls12.protocol, 'TLSv1.2');
    // OpenSSL's defaults would take this one: the server's suite list refuses it.
    await assert.rejects(handshake({ rejectUnauthorized: false, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' }));
    await assert.rejects(
      handshake({ rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    );
  });

  it('plain HTTP to the TLS port gets no HTTP answer, and the failed handshake is counted', async () => {
    const before = await metric('switchboard_tls_handshake_failures_total');
    const reply = await withTimeout(
      new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
      }),
      WAIT_MS,
      'plain request on the TLS port',
    );
    assert.ok(!reply.startsWith('HTTP/'), `no HTTP answer: ${JSON.stringify(reply.slice(0, 40))}`);
    assert.equal(await metric('switchboard_tls_handshake_failures_total'), before + 1);
  });

  it('a client that never finishes the handshake is dropped after server.handshake_timeout', async () => {
    const before = await metric('switchboard_tls_handshake_failures_total');
    const started = Date.now();
    await withTimeout(
      new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }); // connects, sends nothing
        s.on('close', resolve);
        s.on('error', resolve);
        s.resume();
      }),
      WAIT_MS,
      'the server closing a silent connection',
    );
    const took = Date.now() - started;
    assert.ok(took >= 1500, `closed after ${took} ms, not before the 2 s timeout`);
    assert.equal(await metric('switchboard_tls_handshake_failures_total'), before + 1);
  });

  it('the session cookie is Secure', async () => {
    const res = await get('/switchboard.js', readFileSync(a.cert));
    assert.equal(res.status, 200);
    const cookie = [res.headers['set-cookie']].flat().find((c) => c.startsWith('sb.sid='));
    assert.ok(cookie, 'a session cookie');
    assert.match(cookie, /; Secure(;|$)/);
  });

  it('switchboard publish reaches a TLS server: --config pinned to its certificate, --url checked by name', async () => {
    const c = createClient({ url: `wss://127.0.0.1:${port}/ws` });
    clients.push(c);
    await withTimeout(new Promise((r) => c.server.once('ready', r)), WAIT_MS, 'wss client ready');
    const got = () => withTimeout(new Promise((r) => c.event.once('flash', r)), WAIT_MS, 'flash from the CLI');

    // The server's own config (memory transport, api.keys): https to server.listen,
    // trusting exactly server.tls_cert although it names localhost, not 127.0.0.1.
    const config = join(a.dir, 'sb.yaml');
    writeFileSync(config, `server: {listen: "127.0.0.1:${port}", tls_cert: "${live.cert}", tls_key: "${live.key}"}\napi: {keys: ["${API_KEY}"]}\n`);
    let flash = got();
    let r = await cli(['publish', '--config', config, '--strings', 'all', 'flash', 'via config']);
    assert.equal(r.code, 0, r.output);
    assert.equal(await flash, 'via config');

    // --url: the system's CAs do not know a self-signed certificate...
    r = await cli(['publish', '--url', `https://localhost:${port}`, '--strings', 'all', 'flash', 'x'], { SWITCHBOARD_API_KEY: API_KEY });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /TLS handshake failed with https:\/\/localhost:\d+: certificate verify failed/);
    // ...OpenSSL's SSL_CERT_FILE makes it trusted; the name must match (localhost, 127.0.0.1 in the SAN).
    flash = got();
    r = await cli(['publish', '--url', `https://localhost:${port}`, '--strings', 'all', 'flash', 'via url'],
      { SWITCHBOARD_API_KEY: API_KEY, SSL_CERT_FILE: live.cert });
    assert.equal(r.code, 0, r.output);
    assert.equal(await flash, 'via url');
  });

  it('SIGHUP reloads the certificate for new connections, open ones stay; a bad file changes nothing', async () => {
    const url = `wss://127.0.0.1:${port}/ws`;
    const old = createClient({ url });
    clients.push(old);
    await withTimeout(new Promise((r) => old.server.once('ready', r)), WAIT_MS, 'wss client ready');
    let dropped = false;
    old.server.on('disconnect', () => (dropped = true));
    const fpA = (await handshake({ rejectUnauthorized: false })).fingerprint;

    copyFileSync(b.cert, live.cert);
    copyFileSync(b.key, live.key);
    server.proc.kill('SIGHUP');
    let fpB = fpA;
    for (let waited = 0; fpB === fpA && waited < WAIT_MS; waited += 100) {
      await sleep(100);
      fpB = (await handshake({ rejectUnauthorized: false })).fingerprint;
    }
    assert.notEqual(fpB, fpA, 'new connections get the new certificate');
    const verified = await handshake({ ca: readFileSync(b.cert), rejectUnauthorized: true });
    assert.equal(verified.authorized, true);
    assert.equal(await metric('switchboard_tls_reloads_total'), 1);

    // The connection made before the reload is still there, and still served.
    const other = createClient({ url });
    clients.push(other);
    await withTimeout(new Promise((r) => other.server.once('ready', r)), WAIT_MS, 'second client ready');
    const got = withTimeout(new Promise((r) => old.event.once('chat.broadcast', r)), WAIT_MS, 'broadcast to the old client');
    await other.rpc('chat.broadcast', 'after the reload');
    assert.deepEqual((await got).text, 'after the reload');
    assert.equal(dropped, false, 'the open connection was not dropped');

    // A broken file: refused, logged, the last good certificate stays.
    writeFileSync(live.cert, 'not a certificate\n');
    server.proc.kill('SIGHUP');
    for (let waited = 0; !/TLS reload failed/.test(server.output()) && waited < WAIT_MS; waited += 100) await sleep(100);
    assert.match(server.output(), /TLS reload failed, still serving the previous certificate/);
    assert.equal((await handshake({ rejectUnauthorized: false })).fingerprint, fpB);
    assert.equal(await metric('switchboard_tls_reload_failures_total'), 1);
    assert.equal(old.connected, true);
  });
});
