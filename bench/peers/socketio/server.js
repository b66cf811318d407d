// Socket.IO 4.8 peer server for the Switchboard benchmark.
//
//   node server.js PORT        (started by ../peers.sh start socketio PORT CACHE_DIR, which sets
//                               NODE_PATH to the socket.io install under CACHE_DIR)
//
// One Node process (no cluster), WebSocket transport only (no HTTP long-polling, no upgrade
// dance), no per-message deflate, listening on 127.0.0.1:PORT, path /socket.io/.
// Events, client -> server (wire format in ../PROTOCOLS.md):
//   sub     (room | [rooms], ack)  join the room(s), then ack()
//   unsub   (room | [rooms], ack)  leave the room(s), then ack()   (ack optional)
//   pub     (room, payload)        io.to(room).emit("m", payload)  (no ack)
//   pubsock (socketId, payload)    io.to(socketId).emit("m", payload): every socket is in a room
//                                  named after its id (no ack)
//   whoami  (ack)                  ack(socket.id)
// Only warnings and errors are printed.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.js PORT');
  process.exit(2);
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});

const io = new Server(httpServer, {
  transports: ['websocket'],   // no long-polling
  allowUpgrades: false,
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  cors: { origin: true },
  // pingInterval 25 s / pingTimeout 20 s and maxHttpBufferSize 1 MB are Socket.IO's defaults.
});

function asRooms(rooms) {
  if (Array.isArray(rooms)) return rooms.map(String);
  return String(rooms);
}

io.on('connection', (socket) => {
  socket.on('sub', (rooms, ack) => {
    socket.join(asRooms(rooms));
    if (typeof ack === 'function') ack();
  });
  socket.on('unsub', (rooms, ack) => {
    for (const r of [].concat(asRooms(rooms))) socket.leave(r);
    if (typeof ack === 'function') ack();
  });
  socket.on('pub', (room, payload) => {
    io.to(String(room)).emit('m', payload);
  });
  socket.on('pubsock', (socketId, payload) => {
    io.to(String(socketId)).emit('m', payload);
  });
  socket.on('whoami', (ack) => {
    if (typeof ack === 'function') ack(socket.id);
  });
  socket.on('error', (err) => console.error('socket error:', err && err.message));
});

io.engine.on('connection_error', (err) => {
  console.error('connection error:', err.code, err.message);
});

httpServer.on('error', (err) => {
  console.error('http server error:', err.message);
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}

httpServer.listen(port, '127.0.0.1');
