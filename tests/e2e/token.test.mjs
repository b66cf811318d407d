// Token authentication (docs/protocol.md "Token authentication") from a Node
// service's point of view: the JS client with a signed token instead of the
// session cookie, against the real chat server. HS256 tokens are signed with a
// secret from the environment, RS256 and ES256 ones with key pairs made here
// (the public keys in PEM files the server reads at start).
//
//   SWITCHBOARD_CHAT_BIN=build/bin/chat node --experimental-websocket --test tests/e2e/token.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WAIT_MS, withTimeout, startServer } from './chat_page.mjs';
import { createClient } from '../../sdk/js/switchboard.js';

const SECRET = 'token-test-secret-0123456789abcdef-xyz';
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function jwt(header, claims, signer) {
  const signed = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(claims));
  return signed + '.' + b64url(signer(signed));
}
const hs256 = (claims, secret = SECRET) =>
  jwt({ alg: 'HS256', typ: 'JWT' }, claims, (data) => createHmac('sha256', secret).update(data).digest());

// Resolves with the first value of emitter's event `name`.
const next = (emitter, name, what) =>
  withTimeout(new Promise((resolve) => emitter.once(name, (...a) => resolve(a))), WAIT_MS, what);

describe('token authentication', { timeout: 120_000 }, () => {
  let server;
  let url;
  let work;
  let rsa;
  let ec;
  const clients = [];

  const client = (token) => {
    const c = createClient({ url, token, backoff: { initialMs: 50, maxMs: 200 } });
    clients.push(c);
    return c;
  };
  const ready = (c, what) => next(c.server, 'ready', `${what}: ready`);

  before(async () => {
    const bin = process.env.SWITCHBOARD_CHAT_BIN;
    assert.ok(bin, 'SWITCHBOARD_CHAT_BIN is not set');
    work = mkdtempSync(join(tmpdir(), 'sb-token-'));
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsaPem = join(work, 'rsa.pem');
    const ecPem = join(work, 'ec.pem');
    writeFileSync(rsaPem, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(ecPem, ec.publicKey.export({ type: 'spki', format: 'pem' }));
    server = startServer(bin, {
      SWITCHBOARD_TOKEN_HS256_SECRETS: JSON.stringify([SECRET]),
      SWITCHBOARD_TOKEN_PUBLIC_KEYS: JSON.stringify([rsaPem, ecPem]),
      SWITCHBOARD_TOKEN_LEEWAY: '0s',
      // The sweep that closes expired token connections runs every quarter of it.
      SWITCHBOARD_SERVER_IDLE_TIMEOUT: '4s',
    });
    url = (await server.listening).replace(/^http/, 'ws') + '/ws';
  });

  after(async () => {
    for (const c of clients) c.close();
    if (server) {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a token client is its token’s user, in its token’s channels, and gets user and channel events', async () => {
    const alice = client(hs256({ sub: 'alice', exp: now() + 600, channels: ['news', 'news'] }));
    await ready(alice, 'alice');
    const me = await alice.rpc('chat.whoami');
    assert.equal(me.userId, 'alice');
    assert.deepEqual(me.channels, ['news']);

    const bob = client(() => hs256({ sub: 'bob', exp: now() + 600 }));
    await ready(bob, 'bob');
    const direct = next(alice.event, 'chat.direct', 'alice: chat.direct');
    await bob.rpc('chat.direct', 'alice', 'hi alice');
    const [d] = await direct;
    assert.deepEqual(d, { from: 'bob', text: 'hi alice' });

    const news = next(alice.event, 'chat.message', 'alice: chat.message');
    await bob.rpc('chat.send', 'news', 'extra');
    assert.deepEqual((await news)[0], { from: 'bob', text: 'extra' });
  });

  it('the user of a token connection cannot be changed by a sign-in', async () => {
    const carol = client(hs256({ sub: 'carol', exp: now() + 600 }));
    await ready(carol, 'carol');
    await assert.rejects(carol.rpc('chat.signIn', 'mallory'), (e) => e.code === 'bad_request');
    assert.equal((await carol.rpc('chat.whoami')).userId, 'carol');
  });

  it('RS256 and ES256 tokens verify against the configured public keys', async () => {
    const rs = jwt({ alg: 'RS256' }, { sub: 'rs-user', exp: now() + 600 }, (d) =>
      sign('sha256', Buffer.from(d), rsa.privateKey),
    );
    const es = jwt({ alg: 'ES256' }, { sub: 'es-user', exp: now() + 600 }, (d) =>
      sign('sha256', Buffer.from(d), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    for (const [token, user] of [[rs, 'rs-user'], [es, 'es-user']]) {
      const c = client(token);
      await ready(c, user);
      assert.equal((await c.rpc('chat.whoami')).userId, user);
    }
  });

  for (const [what, make, code] of [
    ['a token signed with another secret', () => hs256({ sub: 'eve', exp: now() + 600 }, 'another-secret-another-secret-0123'), 4401],
    ['alg none', () => jwt({ alg: 'none' }, { sub: 'eve', exp: now() + 600 }, () => ''), 4401],
    ['a token without exp', () => hs256({ sub: 'eve' }), 4401],
    ['an ES256 header on an HS256 signature', () => jwt({ alg: 'ES256' }, { sub: 'eve', exp: now() + 600 }, (d) => createHmac('sha256', SECRET).update(d).digest()), 4401],
    ['an expired token', () => hs256({ sub: 'eve', exp: now() - 60 }), 4402],
  ]) {
    it(`${what} is refused with close ${code}, and the client stops`, async () => {
      let calls = 0;
      const c = client(what === 'an expired token' ? make() : () => (calls++, make()));
      const [closeCode, reason] = await next(c.server, 'disconnect', `${what}: disconnect`);
      assert.equal(closeCode, code, `close code (reason: ${reason})`);
      assert.ok(reason.length > 0, 'the close has a reason');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(c.connected, false);
      if (what !== 'an expired token') assert.equal(calls, 1, 'no reconnect after a refusal');
      await assert.rejects(c.rpc('chat.whoami'), (e) => e.code === 'closed');
    });
  }

  it('an expiring token is refreshed: the server closes with 4402 and the client reconnects with a new one', async () => {
    const issued = [];
    const dave = client(() => {
      const t = hs256({ sub: 'dave', exp: now() + (issued.length === 0 ? 1 : 600) });
      issued.push(t);
      return Promise.resolve(t);
    });
    await ready(dave, 'dave');
    const [closeCode] = await next(dave.server, 'disconnect', 'dave: 4402 when the first token expires');
    assert.equal(closeCode, 4402);
    await next(dave.server, 'reconnect', 'dave: reconnect with a new token');
    assert.equal(issued.length, 2);
    const eve = client(hs256({ sub: 'eve2', exp: now() + 600 }));
    await ready(eve, 'eve2');
    const direct = next(dave.event, 'chat.direct', 'dave: chat.direct after the refresh');
    await eve.rpc('chat.direct', 'dave', 'still there?');
    assert.equal((await direct)[0].text, 'still there?');
  });

  it('a token connection may come from any origin, a cookie one may not', async () => {
    const upgrade = (path, headers) =>
      withTimeout(
        new Promise((resolve, reject) => {
          const req = http.request(url.replace(/^ws/, 'http').replace(/\/ws$/, path), {
            headers: {
              Connection: 'Upgrade',
              Upgrade: 'websocket',
              'Sec-WebSocket-Version': '13',
              'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
              Origin: 'https://elsewhere.example',
              ...headers,
            },
          });
          req.on('upgrade', (res, socket) => {
            socket.destroy();
            resolve(res.statusCode);
          });
          req.on('response', (res) => {
            res.resume();
            resolve(res.statusCode);
          });
          req.on('error', reject);
          req.end();
        }),
        WAIT_MS,
        `upgrade of ${path}`,
      );
    const token = hs256({ sub: 'far', exp: now() + 600 });
    assert.equal(await upgrade('/ws?token=' + token, {}), 101);
    assert.equal(await upgrade('/ws', { Authorization: 'Bearer ' + token }), 101);
    assert.equal(await upgrade('/ws', {}), 403);
  });
});
