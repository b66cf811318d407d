// switchboard.js — the Switchboard client (protocol v1, docs/protocol.md).
//
// One ES module, no dependencies, no build step. The server serves it at
// /switchboard.js; Node 20 imports it too (pass a WebSocket implementation such
// as the npm 'ws' package). The API follows SocketStream:
//
//   import { createClient } from '/switchboard.js';
//   const ss = createClient();
//   ss.event.on('chat.message', (msg, channel) => { ... });
//   ss.server.on('ready', () => ss.rpc('chat.join', 'disney'));
//   const channels = await ss.rpc('chat.join', 'disney');
//
// See README.md beside this file for the whole surface.

const PROTOCOL_CLOSE_POLICY = 1008; // the server refused us on purpose: retrying cannot help
const CLOSE_TOKEN_INVALID = 4401; // the token is not valid: retrying with it cannot help
const CLOSE_TOKEN_EXPIRED = 4402; // the token expired: a token function gets a new one

// A minimal event emitter. Handlers run synchronously in registration order; one
// that throws is reported and does not stop the others (nor the rest of a batch).
class Emitter {
  #handlers = new Map(); // name -> array of { fn, once }

  on(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('handler must be a function');
    const list = this.#handlers.get(name) ?? [];
    list.push({ fn, once: false });
    this.#handlers.set(name, list);
    return this;
  }

  once(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('handler must be a function');
    const list = this.#handlers.get(name) ?? [];
    list.push({ fn, once: true });
    this.#handlers.set(name, list);
    return this;
  }

  // off(name, fn) removes that handler (the once-registered one included);
  // off(name) removes every handler of the name; off() removes everything.
  off(name, fn) {
    if (name === undefined) this.#handlers.clear();
    else if (fn === undefined) this.#handlers.delete(name);
    else {
      const list = (this.#handlers.get(name) ?? []).filter((h) => h.fn !== fn);
      if (list.length) this.#handlers.set(name, list);
      else this.#handlers.delete(name);
    }
    return this;
  }

  emit(name, args) {
    const list = this.#handlers.get(name);
    if (!list) return;
    // Copy first: a handler may add or remove handlers while we iterate.
    for (const h of [...list]) {
      if (h.once) this.off(name, h.fn);
      try {
        h.fn(...args);
      } catch (e) {
        reportHandlerError(e);
      }
    }
  }
}

function reportHandlerError(e) {
  // Browsers have reportError (shows in the console like an uncaught error
  // without unwinding our dispatch); Node 20 does not.
  if (typeof globalThis.reportError === 'function') globalThis.reportError(e);
  else console.error('switchboard: handler threw', e);
}

// The top-level elements of a batch `[f1,f2,...]` as texts, found by tracking
// nesting and strings (commas inside them do not split). Unbalanced input yields
// whatever parts it can; the caller parses each on its own.
function splitBatch(text) {
  const parts = [];
  let depth = 0;
  let inString = false;
  let start = 1;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) {
        parts.push(text.slice(start, i)); // the batch's closing bracket
        return parts;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (start < text.length) parts.push(text.slice(start));
  return parts;
}

function rpcError(code, message) {
  const err = new Error(message || code);
  err.code = code;
  return err;
}

function defaultUrl() {
  if (typeof location === 'undefined') return undefined;
  return (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/ws';
}

// Options (all optional in a browser):
//   url        WebSocket URL; default ws(s)://<page host>/ws
//   WebSocket  implementation (Node: the 'ws' package); default globalThis.WebSocket
//   headers    extra handshake headers for Node clients, e.g. { Cookie: 'sb.sid=…' }
//   backoff    { initialMs = 250, maxMs = 5000 }: full-jitter exponential reconnect delay
//   rpcTimeoutMs  how long a call may wait for its reply, queued time included, before
//              it fails with 'timeout'; default 30000 (a positive number, or Infinity)
//   token      a signed token (string) or a function returning one (or a Promise of
//              one), called before every connect: token authentication instead of the
//              session cookie (docs/protocol.md "Token authentication")
export function createClient(options = {}) {
  const url = options.url ?? defaultUrl();
  if (!url) throw new TypeError('switchboard: options.url is required outside a browser');
  const WS = options.WebSocket ?? globalThis.WebSocket;
  if (typeof WS !== 'function') {
    throw new TypeError('switchboard: no WebSocket implementation (pass options.WebSocket)');
  }
  const headers = options.headers;
  const initialMs = options.backoff?.initialMs ?? 250;
  const maxMs = options.backoff?.maxMs ?? 5000;
  const rpcTimeoutMs = options.rpcTimeoutMs ?? 30000;
  const token = options.token;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw new TypeError('switchboard: options.token must be a string or a function');
  }
  if (typeof rpcTimeoutMs !== 'number' || !(rpcTimeoutMs > 0)) {
    throw new TypeError('switchboard: options.rpcTimeoutMs must be a positive number or Infinity');
  }

  const event = new Emitter();
  const server = new Emitter();

  let socket = null; // the current WebSocket, or null between attempts
  let ready = false; // the current socket has received `ready`
  let everReady = false; // a later `ready` is a reconnect
  let stopped = false; // close() was called, or the server refused us (1008, a bad token)
  let opening = 0; // bumped by every open() and close(): a token fetched for an older one is dropped
  let attempt = 0; // failed attempts since the last `ready`, for the backoff
  let retryTimer = null;
  let socketId = undefined;
  let nextId = 1;
  const inFlight = new Map(); // id -> settle(err, result), sent on the current socket
  let claiming = null; // a Promise while session claims are being redeemed
  const queued = []; // { frame, settle } waiting for the next `ready`

  function open() {
    retryTimer = null;
    if (typeof token !== 'function') return openWith(token);
    // A fresh token for every connect; a failing token function is a failed attempt.
    const mine = ++opening;
    Promise.resolve()
      .then(() => token())
      .then((t) => {
        if (mine !== opening || stopped) return;
        if (typeof t !== 'string' || t === '') throw new TypeError('the token function returned no token');
        openWith(t);
      })
      .catch((e) => {
        if (mine !== opening || stopped) return;
        server.emit('error', [{ code: 'token_unavailable', message: e?.message ?? String(e) }]);
        scheduleReconnect();
      });
  }

  function openWith(t) {
    const target = t === undefined ? url : url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(t);
    // Browsers' WebSocket takes (url, protocols) only; 'ws' takes options third.
    const ws = headers ? new WS(target, [], { headers }) : new WS(target);
    socket = ws;
    // Callbacks from a replaced socket are ignored, hence the `socket !== ws` checks.
    ws.onmessage = (ev) => {
      if (socket === ws) onData(ev.data);
    };
    ws.onclose = (ev) => {
      if (socket === ws) onClose(ev.code, ev.reason ?? '');
    };
    ws.onerror = () => {}; // a close event always follows; it carries the code
  }

  function onData(data) {
    if (typeof data !== 'string') return; // protocol v1 frames are text only
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      // A batch is its frames joined as `[f1,f2,...]`: one bad frame must not
      // cost the others, so parse them one by one.
      if (data.startsWith('[')) onBrokenBatch(data);
      return; // otherwise not JSON: nothing we can act on
    }
    // A batch is several frames queued together; each counts as if alone.
    if (Array.isArray(msg)) for (const frame of msg) onFrame(frame);
    else onFrame(msg);
  }

  function onBrokenBatch(text) {
    let bad = 0;
    for (const part of splitBatch(text)) {
      let frame;
      try {
        frame = JSON.parse(part);
      } catch {
        bad++;
        continue;
      }
      onFrame(frame);
    }
    if (bad) {
      server.emit('error', [
        { code: 'bad_frame', message: `${bad} frame(s) of a batch were not valid JSON and were skipped` },
      ]);
    }
  }

  function onFrame(f) {
    if (f === null || typeof f !== 'object') return;
    switch (f.t) {
      case 'event': {
        if (typeof f.e !== 'string') return;
        const args = Array.isArray(f.p) ? [...f.p] : [];
        if (typeof f.c === 'string') args.push(f.c);
        event.emit(f.e, args);
        return;
      }
      case 'reply': {
        const settle = inFlight.get(f.id);
        if (!settle) return;
        inFlight.delete(f.id);
        const done = f.err
          ? () => settle(rpcError(String(f.err.code ?? 'unknown'), f.err.message), undefined)
          : () => settle(null, f.r);
        // After a session claim, replies wait for it: `await ss.rpc('signIn')`
        // then a reload must find the new cookie already set.
        if (claiming) claiming.then(done);
        else done();
        return;
      }
      case 'session':
        if (typeof f.claim === 'string') claimSession(f.claim);
        return;
      case 'ready':
        onReady(f);
        return;
      case 'error':
        // The server could not read a frame's id, so it cannot tell which call
        // failed: every call awaiting a reply fails with the error rather than
        // one of them waiting forever (calls not yet sent are not affected).
        failInFlight(String(f.err?.code ?? 'bad_request'), f.err?.message ?? 'the server could not read a call');
        server.emit('error', [f.err ?? {}]);
        return;
      default:
        return; // unknown frame types are later additions: ignore them
    }
  }

  // A sign-in rotated the session id (docs/protocol.md "Session id rotation"):
  // the cookie is HttpOnly, so only a response can set the new one. Claims run
  // one after another; a failed one is reported as a server 'error' event and
  // leaves the old cookie (a later connection then starts a new session).
  function claimSession(token) {
    const run = () =>
      redeemClaim(token).catch((e) =>
        server.emit('error', [{ code: 'session_claim_failed', message: String(e?.message ?? e) }]),
      );
    const p = (claiming ?? Promise.resolve()).then(run);
    claiming = p;
    p.then(() => {
      if (claiming === p) claiming = null;
    });
  }

  async function redeemClaim(token) {
    if (typeof fetch !== 'function') throw new Error('no fetch() to redeem the session claim');
    const target = new URL(url);
    target.protocol = target.protocol === 'wss:' ? 'https:' : 'http:';
    target.pathname = '/switchboard/session';
    target.search = '?claim=' + encodeURIComponent(token);
    target.hash = '';
    const init = { credentials: 'include', cache: 'no-store' };
    if (typeof AbortSignal !== 'undefined' && typeof AbortSignal.timeout === 'function') {
      init.signal = AbortSignal.timeout(10000); // replies wait on this: bound it
    }
    // Node has no cookie jar: send the handshake's Cookie header, adopt the answer's.
    const cookieKey = headers && Object.keys(headers).find((k) => k.toLowerCase() === 'cookie');
    if (cookieKey) init.headers = { Cookie: headers[cookieKey] };
    const res = await fetch(target.href, init);
    if (res.status !== 204) throw new Error(`session claim refused (HTTP ${res.status})`);
    if (cookieKey && typeof res.headers.getSetCookie === 'function') {
      for (const set of res.headers.getSetCookie()) {
        const pair = set.split(';')[0];
        const name = pair.slice(0, pair.indexOf('='));
        const kept = String(headers[cookieKey])
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c && c.slice(0, c.indexOf('=')) !== name);
        headers[cookieKey] = [...kept, pair].join('; ');
      }
    }
  }

  function onReady(f) {
    ready = true;
    attempt = 0;
    socketId = f.socketId;
    const isReconnect = everReady;
    everReady = true;
    // Queued calls go out before any 'ready' handler can issue new ones, so the
    // server sees calls in the order the app made them.
    for (const { frame, settle } of queued.splice(0)) send(frame, settle);
    server.emit('ready', []);
    if (isReconnect) server.emit('reconnect', []);
  }

  function onClose(code, reason) {
    const wasReady = ready;
    socket = null;
    ready = false;
    // The server cannot answer calls sent on a dead socket; the caller decides
    // whether a retry is safe.
    failInFlight('disconnected', 'connection closed before the reply');

    // Refusals retrying cannot cure: a policy close, a bad token, an expired
    // token that no token function can replace.
    const refused =
      code === PROTOCOL_CLOSE_POLICY ||
      code === CLOSE_TOKEN_INVALID ||
      (code === CLOSE_TOKEN_EXPIRED && typeof token !== 'function');
    if (refused && !stopped) {
      stopped = true;
      failQueued('closed', `server refused the connection (${code} ${reason})`);
    }
    // 'disconnect' reports the loss of a working connection, and the server's
    // refusal; failed reconnect attempts in between are silent.
    if (wasReady || refused) server.emit('disconnect', [code, reason]);
    if (stopped) return;
    // An expired token: get a new one and connect again at once.
    if (code === CLOSE_TOKEN_EXPIRED) {
      attempt = 0;
      retryTimer = setTimeout(open, 0);
      return;
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    // Full jitter (random in [0, cap]) spreads a reconnect storm after a server
    // restart across the whole window instead of synchronising the clients.
    const cap = Math.min(maxMs, initialMs * 2 ** attempt);
    attempt++;
    retryTimer = setTimeout(open, Math.random() * cap);
  }

  function failInFlight(code, message) {
    const lost = [...inFlight.values()];
    inFlight.clear();
    for (const settle of lost) settle(rpcError(code, message));
  }

  function failQueued(code, message) {
    for (const { settle } of queued.splice(0)) settle(rpcError(code, message));
  }

  function send(frame, settle) {
    inFlight.set(frame.id, settle);
    try {
      socket.send(JSON.stringify(frame));
    } catch (e) {
      // The socket died under us; its close event will follow and retry.
      inFlight.delete(frame.id);
      settle(rpcError('disconnected', e?.message ?? 'send failed'));
    }
  }

  // rpc(method, ...args) -> Promise of the reply's `r`, rejected with an Error
  // carrying .code/.message. A trailing function is a Node-style callback
  // (err, result) instead, and then no Promise is returned.
  function rpc(method, ...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    let promise;
    let deliver;
    if (callback) {
      deliver = (err, result) => {
        try {
          callback(err, result);
        } catch (e) {
          reportHandlerError(e); // must not break the dispatch of the frames after it
        }
      };
    } else {
      promise = new Promise((resolve, reject) => {
        deliver = (err, result) => (err ? reject(err) : resolve(result));
      });
    }
    // A call settles once: by its reply, an error, or its deadline, whichever is first.
    let timer = null;
    let settled = false;
    const settle = (err, result) => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      deliver(err, result);
    };
    // Immediate failures still settle asynchronously, like every other outcome.
    if (typeof method !== 'string' || method === '') {
      queueMicrotask(() => settle(rpcError('bad_request', 'method must be a non-empty string')));
    } else if (stopped) {
      queueMicrotask(() => settle(rpcError('closed', 'client is closed')));
    } else {
      const frame = { t: 'rpc', id: nextId++, m: method, p: args };
      if (Number.isFinite(rpcTimeoutMs)) {
        timer = setTimeout(() => {
          inFlight.delete(frame.id); // a late reply is ignored
          const at = queued.findIndex((q) => q.frame === frame);
          if (at >= 0) queued.splice(at, 1); // never sent: it will not be
          settle(rpcError('timeout', `no reply to ${method} within ${rpcTimeoutMs} ms`));
        }, rpcTimeoutMs);
      }
      if (ready) send(frame, settle);
      else queued.push({ frame, settle });
    }
    return promise;
  }

  // Drops the current connection and connects again at once, without a backoff
  // delay (a changed network, tests). A no-op after close().
  function reconnect() {
    if (stopped) return;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    const old = socket;
    if (old) {
      onClose(1000, 'client reconnect'); // forgets `old`: its own close event is ignored
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      try {
        old.close(1000, 'client reconnect');
      } catch {
        // already closing
      }
    }
    attempt = 0;
    open();
  }

  // Stops for good: no reconnect; pending and queued calls fail with 'closed'.
  function close() {
    if (stopped && !socket) return;
    stopped = true;
    opening++;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    failInFlight('closed', 'client closed');
    failQueued('closed', 'client closed');
    if (socket) socket.close(1000);
  }

  open();

  return {
    event,
    server,
    rpc,
    reconnect,
    close,
    get socketId() {
      return socketId;
    },
    get connected() {
      return ready;
    },
  };
}

export const connect = createClient;
export default createClient;
