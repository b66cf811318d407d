// A minimal Switchboard client for tests/external/external_publishers_test.sh.
//
//   node --experimental-websocket client.mjs --url ws://127.0.0.1:PORT/ws \
//        [--join ROOM]... [--sign-in USER] [--max-seconds N]
//
// Node 20's built-in WebSocket (behind --experimental-websocket; no npm package).
// It connects, waits for `ready`, then calls the chat example's RPCs in order:
// chat.join ROOM for each --join, chat.signIn USER. Then it writes one JSON line
// per thing that happens to stdout:
//
//   {"ready":"<socketId>"}                   setup is done; events count from here
//   {"e":"<event>","args":[...]}             an event, with the arguments a browser
//                                            handler gets: p..., then the channel
//                                            name for a channel event (protocol.md)
//   {"closed":<code>,"reason":"..."}         the server closed the connection
//
// Batch frames (a JSON array of frames) are unpacked as the JS client does.
// Exits 0 on SIGTERM/SIGINT, 1 when the connection closes or a call fails,
// and 3 after --max-seconds (default 300) so that it never outlives a test.

const opts = { url: null, join: [], signIn: null, maxSeconds: 300 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const need = () => {
    if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
    return argv[++i];
  };
  switch (argv[i]) {
    case '--url': opts.url = need(); break;
    case '--join': opts.join.push(need()); break;
    case '--sign-in': opts.signIn = need(); break;
    case '--max-seconds': opts.maxSeconds = Number(need()); break;
    default: fail(`unknown argument ${argv[i]}`);
  }
}

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function fail(message) {
  process.stderr.write(`client.mjs: ${message}\n`);
  process.exit(1);
}

if (!opts.url) fail('--url is required');
if (typeof WebSocket !== 'function') {
  fail('no global WebSocket: run with `node --experimental-websocket` (Node 20+)');
}

setTimeout(() => {
  process.stderr.write(`client.mjs: --max-seconds ${opts.maxSeconds} passed, exiting\n`);
  process.exit(3);
}, opts.maxSeconds * 1000).unref();

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    stopping = true;
    try {
      ws.close(1000);
    } catch {
      // already closed
    }
    process.exit(0);
  });
}

const ws = new WebSocket(opts.url);
let nextId = 1;
const pending = new Map(); // rpc id -> { resolve, reject }
let ready = false; // setup done: events are reported from here on
const early = []; // events that arrived during setup (reported after `ready`)

function rpc(method, ...params) {
  const id = nextId++;
  ws.send(JSON.stringify({ t: 'rpc', id, m: method, p: params }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}

async function setup(socketId) {
  try {
    for (const room of opts.join) await rpc('chat.join', room);
    if (opts.signIn !== null) await rpc('chat.signIn', opts.signIn);
  } catch (err) {
    fail(err.message);
  }
  ready = true;
  out({ ready: socketId });
  for (const ev of early.splice(0)) out(ev);
}

function onFrame(f) {
  if (f === null || typeof f !== 'object') return;
  switch (f.t) {
    case 'ready':
      setup(f.socketId);
      return;
    case 'event': {
      const args = Array.isArray(f.p) ? [...f.p] : [];
      if (typeof f.c === 'string') args.push(f.c);
      const ev = { e: f.e, args };
      if (ready) out(ev);
      else early.push(ev);
      return;
    }
    case 'reply': {
      const p = pending.get(f.id);
      if (!p) return;
      pending.delete(f.id);
      if (f.err) p.reject(new Error(`${p.method}: ${f.err.code}: ${f.err.message}`));
      else p.resolve(f.r);
      return;
    }
    case 'error':
      fail(`server error frame: ${JSON.stringify(f.err)}`);
      return;
    default:
      return;
  }
}

ws.onmessage = (ev) => {
  if (typeof ev.data !== 'string') return;
  let msg;
  try {
    msg = JSON.parse(ev.data);
  } catch {
    fail(`not JSON from the server: ${ev.data.slice(0, 200)}`);
  }
  if (Array.isArray(msg)) for (const f of msg) onFrame(f);
  else onFrame(msg);
};
ws.onerror = () => {}; // the close event follows with the code
ws.onclose = (ev) => {
  if (stopping) return;
  out({ closed: ev.code, reason: ev.reason ?? '' });
  process.exit(1);
};
