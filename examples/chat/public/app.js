// The chat example's page: plain DOM over the Switchboard client.
//
// Element ids (stable: tests/e2e drives the page through them):
//   #status            connection state; data-state = connecting | connected | reconnecting | closed
//   #user-id           signed-in user or "anonymous"; data-signed-in = true | false
//   #socket-id         this tab's socketId
//   #signin-form  #signin-name  #signout
//   #join-form    #join-room    #refresh (re-reads rooms and user from the server)
//   #rooms             one <li data-room="…"> per joined room, each with a button.leave
//   #send-form    #send-room    #send-text       (message to a room)
//   #direct-form  #direct-to    #direct-text     (message to a user)
//   #ping-self                                   (ping this tab)
//   #ping-form    #ping-id                       (ping another tab by socketId)
//   #broadcast-form  #broadcast-text             (message to everyone)
//   #error             the last failed call, as "code: message"
//   #log               one <li> per received event, with
//                      data-kind = message | direct | ping | broadcast,
//                      data-from, data-text (absent for pings), data-room (messages),
//                      data-from-socket (pings)
// For debugging, window.chat = { ss, refresh }.
import { createClient } from '/switchboard.js';

const $ = (id) => document.getElementById(id);
const ss = createClient();

// --- connection state -------------------------------------------------------

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

ss.server.on('ready', () => {
  setStatus('connected', 'connected');
  $('socket-id').textContent = ss.socketId;
  // On a reconnect the server has restored the session's rooms and user; show them.
  refresh();
});
ss.server.on('disconnect', (code) => {
  if (code === 1008) setStatus('closed', `refused by the server (${code})`);
  else setStatus('reconnecting', `disconnected (${code}), reconnecting…`);
});

// --- identity and rooms -----------------------------------------------------

let refreshSeq = 0;

// Reads the session's user and rooms from the server. Session changes made in
// another tab are not pushed to this one, so the page asks after its own changes,
// on every ready, and when the user presses Refresh.
async function refresh() {
  const seq = ++refreshSeq;
  const me = await call('chat.whoami');
  if (!me || seq !== refreshSeq) return; // failed, or a newer refresh is under way
  $('user-id').textContent = me.userId ?? 'anonymous';
  $('user-id').dataset.signedIn = String(me.userId != null);
  $('socket-id').textContent = me.socketId;
  showRooms(me.channels ?? []);
}

function showRooms(rooms) {
  const list = $('rooms');
  const options = $('room-options');
  list.replaceChildren();
  options.replaceChildren();
  for (const room of [...rooms].sort()) {
    const li = document.createElement('li');
    li.dataset.room = room;
    const name = document.createElement('span');
    name.textContent = room;
    const leave = document.createElement('button');
    leave.type = 'button';
    leave.className = 'leave';
    leave.textContent = 'Leave';
    leave.addEventListener('click', async () => {
      await call('chat.leave', room);
      refresh();
    });
    li.append(name, leave);
    list.append(li);
    const option = document.createElement('option');
    option.value = room;
    options.append(option);
  }
}

// --- calls ------------------------------------------------------------------

// Calls the server and shows a failure in #error; resolves undefined on failure.
async function call(method, ...args) {
  try {
    const result = await ss.rpc(method, ...args);
    $('error').textContent = '';
    return result;
  } catch (err) {
    $('error').textContent = `${err.code}: ${err.message}`;
    return undefined;
  }
}

// Wires a form: on submit, runs action(values) and clears the fields named in `clear`.
function onSubmit(formId, action, clear = []) {
  const form = $(formId);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    for (const name of clear) form.elements[name].value = '';
    await action(values);
  });
}

onSubmit('signin-form', async ({ name }) => {
  await call('chat.signIn', name.trim());
  refresh();
});
$('signout').addEventListener('click', async () => {
  await call('chat.signOut');
  refresh();
});
onSubmit('join-form', async ({ room }) => {
  await call('chat.join', room.trim());
  refresh();
}, ['room']);
$('refresh').addEventListener('click', refresh);
onSubmit('send-form', ({ room, text }) => call('chat.send', room.trim(), text), ['text']);
onSubmit('direct-form', ({ to, text }) => call('chat.direct', to.trim(), text), ['text']);
$('ping-self').addEventListener('click', () => call('chat.pingTab'));
onSubmit('ping-form', ({ socketId }) => call('chat.pingTab', socketId.trim()));
onSubmit('broadcast-form', ({ text }) => call('chat.broadcast', text), ['text']);

// --- received events --------------------------------------------------------

function log(kind, label, attrs) {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  for (const [k, v] of Object.entries(attrs)) if (v != null) li.dataset[k] = String(v);
  const tag = document.createElement('span');
  tag.className = 'label';
  tag.textContent = label;
  li.append(tag, ' ', attrs.text ?? '');
  $('log').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

ss.event.on('chat.message', (msg, room) =>
  log('message', `[${room}] ${msg.from}:`, { room, from: msg.from, text: msg.text }));
ss.event.on('chat.direct', (msg) =>
  log('direct', `${msg.from} → you:`, { from: msg.from, text: msg.text }));
ss.event.on('chat.ping', (msg) =>
  log('ping', `ping from ${msg.from} (tab ${msg.fromSocketId})`, {
    from: msg.from,
    fromSocket: msg.fromSocketId,
  }));
ss.event.on('chat.broadcast', (msg) =>
  log('broadcast', `[everyone] ${msg.from}:`, { from: msg.from, text: msg.text }));

window.chat = { ss, refresh };
