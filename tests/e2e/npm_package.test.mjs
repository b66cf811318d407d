// The JS client as a user gets it: `npm pack sdk/js` makes the tarball, a fresh
// project installs it from that file (no registry), and a Node script there
// imports it by its package name and talks to the real chat server.
//
//   SWITCHBOARD_CHAT_BIN=build/bin/chat node --test tests/e2e/npm_package.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WAIT_MS, withTimeout, startServer } from './chat_page.mjs';

const SDK_JS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'sdk', 'js');
const NPM = process.env.SWITCHBOARD_NPM ?? 'npm';

// What the installed package's user writes: import by name, sign in, broadcast,
// print the broadcast that comes back as one JSON line. Node 20 has WebSocket
// behind --experimental-websocket (Node 22: always).
const CLIENT = `
import { createClient } from 'switchboard-client';
const ss = createClient({ url: process.argv[2] });
const give = (line) => { console.log(JSON.stringify(line)); ss.close(); };
setTimeout(() => { give({ error: 'no broadcast within the bound' }); process.exit(1); }, ${WAIT_MS});
ss.event.on('chat.broadcast', (msg) => { give({ socketId: ss.socketId, msg }); process.exit(0); });
ss.server.on('ready', async () => {
  try {
    await ss.rpc('chat.signIn', 'npm-user');
    await ss.rpc('chat.broadcast', 'hello from npm');
  } catch (e) { give({ error: e.code + ': ' + e.message }); process.exit(1); }
});
`;

describe('the npm package of the JS client', { timeout: 120_000 }, () => {
  let work;
  let packed;
  let server;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'sb-npm-'));
    packed = JSON.parse(execFileSync(NPM, ['pack', SDK_JS, '--pack-destination', work, '--json'],
      { encoding: 'utf8', timeout: 60_000 }))[0];
  });

  after(async () => {
    if (server) {
      server.proc.kill('SIGTERM');
      await withTimeout(server.exited, WAIT_MS, 'server exit');
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('npm pack holds the module, its types, the README and package.json, nothing else', () => {
    assert.equal(packed.name, 'switchboard-client');
    assert.deepEqual(packed.files.map((f) => f.path).sort(),
      ['README.md', 'package.json', 'switchboard.d.ts', 'switchboard.js']);
  });

  it('installs from the tarball, and a script importing it by name talks to a server', async () => {
    const bin = process.env.SWITCHBOARD_CHAT_BIN;
    assert.ok(bin, 'set SWITCHBOARD_CHAT_BIN to the chat example binary');
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sb-npm-user', private: true, type: 'module' }));
    execFileSync(NPM, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, packed.filename)],
      { cwd: app, encoding: 'utf8', timeout: 60_000 });
    const installed = join(app, 'node_modules', 'switchboard-client');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    assert.equal(manifest.exports['.'].types, './switchboard.d.ts');
    assert.ok(existsSync(join(installed, 'switchboard.d.ts')), 'the types are installed');

    server = startServer(bin);
    const base = await server.listening;
    writeFileSync(join(app, 'client.mjs'), CLIENT);
    const run = spawnSync(process.execPath, ['--experimental-websocket', 'client.mjs', base.replace('http', 'ws') + '/ws'],
      { cwd: app, encoding: 'utf8', timeout: 2 * WAIT_MS });
    const lines = run.stdout.trim().split('\n');
    const got = JSON.parse(lines[lines.length - 1] || '{}');
    assert.equal(run.status, 0, `client exited ${run.status}: ${run.stdout}\n${run.stderr}\n${server.output()}`);
    assert.deepEqual(got.msg, { from: 'npm-user', text: 'hello from npm' });
    assert.match(got.socketId, /^[0-9a-f]{16}$/);
  });
});
