#!/usr/bin/env python3
"""A minimal WebSocket client for tests/package/deb.sh (standard library only).

    ws_wait_event.py PORT EVENT READY_FILE

Opens ws://127.0.0.1:PORT/ws, waits for {"t":"ready"}, touches READY_FILE, then
waits (at most 15 s) for {"t":"event","e":EVENT}; prints that frame and exits 0.
Exits 1 on anything else (refused upgrade, close, timeout).
"""
import base64, json, os, socket, struct, sys, time


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def read_frame(sock):
    b0, b1 = read_exact(sock, 2)
    opcode, size = b0 & 0x0F, b1 & 0x7F
    if size == 126:
        size = struct.unpack("!H", read_exact(sock, 2))[0]
    elif size == 127:
        size = struct.unpack("!Q", read_exact(sock, 8))[0]
    mask = read_exact(sock, 4) if b1 & 0x80 else None
    payload = read_exact(sock, size)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return opcode, payload


def main():
    port, event, ready_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    deadline = time.monotonic() + 15
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += read_exact(sock, 1)
    status = head.split(b"\r\n", 1)[0].decode()
    if " 101 " not in status + " ":
        print(f"upgrade refused: {status}", file=sys.stderr)
        return 1
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        opcode, payload = read_frame(sock)
        if opcode == 8:
            print(f"closed by the server: {payload!r}", file=sys.stderr)
            return 1
        if opcode != 1:
            continue
        msg = json.loads(payload)
        if msg.get("t") == "ready":
            open(ready_file, "w").close()
        elif msg.get("t") == "event" and msg.get("e") == event:
            print(payload.decode())
            return 0
    print(f"no event {event!r} within 15 s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, EOFError, ValueError) as e:
        print(f"ws_wait_event: {e}", file=sys.stderr)
        sys.exit(1)
