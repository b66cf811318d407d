// Shared by the browser suites and the npm package test: starting the chat
// binary, how to launch Debian's Chromium, bounded waits, and helpers that read
// and drive the chat page (element ids are documented at the top of
// examples/chat/public/app.js).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const WAIT_MS = 10_000; // bound of every wait
export const CHROMIUM = process.env.SWITCHBOARD_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const tabName = new WeakMap(); // page -> 'A1', 'B2', …, for messages

let tokenCount = 0;
// A unique message text; plain [a-z0-9-] so it is safe inside a CSS selector.
export const token = (what) => `${what}-${++tokenCount}-${process.pid}`;

export const lines = (page, kind, attrs = {}) => {
  let sel = `#log > li[data-kind="${kind}"]`;
  for (const [k, v] of Object.entries(attrs)) sel += `[data-${k}="${v}"]`;
  return page.locator(sel);
};

// Waits until exactly one log line of that kind/attributes is in the page.
export async function expectLine(page, kind, attrs) {
  const found = lines(page, kind, attrs);
  await found.first().waitFor({ timeout: WAIT_MS });
  assert.equal(await found.count(), 1, `one ${kind} line ${JSON.stringify(attrs)} in ${tabName.get(page)}`);
}

export async function expectNoLine(page, kind, attrs) {
  assert.equal(await lines(page, kind, attrs).count(), 0, `no ${kind} line ${JSON.stringify(attrs)} in ${tabName.get(page)}`);
}

// Fills the given inputs ({id: value}) and submits the form.
export async function submit(page, formId, fields) {
  for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
  await page.click(`#${formId} button[type="submit"]`);
}

export const waitFor = (page, selector) => page.locator(selector).waitFor({ timeout: WAIT_MS });

export async function waitConnected(page) {
  await waitFor(page, '#status[data-state="connected"]');
  // The socket id shows once ready has arrived; whoami fills the rest.
  await page.waitForFunction(() => document.getElementById('socket-id').textContent !== '', null, {
    timeout: WAIT_MS,
  });
}

export const socketIdOf = (page) => page.locator('#socket-id').textContent();

// Starts the chat binary on a free port (env: more environment, e.g. the API
// keys); `listening` resolves with its address once it prints it.
// A self-signed certificate for localhost and 127.0.0.1 (EC P-256, one day),
// made with the openssl command in dir (a fresh temporary folder by default):
// { cert, key } paths. The test's clients trust it, or skip verification.
export function makeCertificate(dir = mkdtempSync(join(tmpdir(), 'sb-tls-')), name = 'server') {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '1', '-subj', `/CN=localhost ${name}`,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key, dir };
}

export function startServer(bin, env = {}) {
  const proc = spawn(bin, [], {
    env: { ...process.env, SWITCHBOARD_SERVER_LISTEN: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep the last output for failure messages. Both pipes are read to the end so
  // a chatty server never blocks on a full pipe.
  let output = '';
  const keep = (line) => {
    output = (output + line + '\n').slice(-8000);
  };
  createInterface({ input: proc.stderr }).on('line', keep);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));

  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within ${WAIT_MS} ms:\n${output}`)), WAIT_MS);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      keep(line);
      const m = /switchboard listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('error', (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening:\n${output}`));
    });
  });
  return { proc, exited, listening, output: () => output };
}
