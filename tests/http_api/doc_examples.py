#!/usr/bin/env python3
"""Runs the examples of docs/http-api.md against a real server: the chat example.

The first ```yaml block is the server's config (its ${SB_API_KEY} filled from the
environment, as the page says); every ```sh block that runs curl is executed by
bash with SB_URL and SB_API_KEY set, and what it prints must equal the ```json
block that follows it. A page whose examples drifted from the server fails here.
A comment `<!-- doc-examples: chat.signIn NAME -->` in the page stands for a
browser that signs in as NAME and is closed: at that point the runner opens a
WebSocket without a cookie, calls chat.signIn(NAME) and closes it.

    doc_examples.py CHAT_BIN docs/http-api.md
"""
import base64
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
STEP = re.compile(r"^```(\w*)\n(.*?)^```|^<!-- doc-examples: chat\.signIn (\S+) -->$", re.S | re.M)


def recv_exactly(sock, buf, n):
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the WebSocket")
        buf += chunk
    return buf


def sign_in(url, name):
    """A browser that signs in as name, then closes: chat.signIn over a WebSocket."""
    u = urllib.parse.urlparse(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=10)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf = recv_exactly(sock, buf, len(buf) + 1)
        head, buf = buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError("no WebSocket: " + head.decode(errors="replace"))
        payload = json.dumps({"t": "rpc", "id": 1, "m": "chat.signIn", "p": [name]}).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)  # one short text frame
        while True:  # frames until the reply to call 1
            buf = recv_exactly(sock, buf, 2)
            size, at = buf[1] & 0x7F, 2
            if size == 126:
                buf = recv_exactly(sock, buf, 4)
                size, at = struct.unpack(">H", buf[2:4])[0], 4
            elif size == 127:
                buf = recv_exactly(sock, buf, 10)
                size, at = struct.unpack(">Q", buf[2:10])[0], 10
            buf = recv_exactly(sock, buf, at + size)
            opcode, data, buf = buf[0] & 0x0F, buf[at:at + size], buf[at + size:]
            if opcode == 8:
                raise ConnectionError("the server closed the WebSocket")
            if opcode == 1:
                frames = json.loads(data)  # one frame, or an array of them (a batch)
                replies = [f for f in (frames if isinstance(frames, list) else [frames])
                           if f.get("t") == "reply" and f.get("id") == 1]
                if replies:
                    if "err" in replies[0]:
                        raise RuntimeError(f"chat.signIn({name}): {replies[0]['err']}")
                    break
        sock.sendall(bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"\x03\xe8")))
    finally:
        sock.close()


def main():
    binary, page = sys.argv[1], sys.argv[2]
    blocks = BLOCK.findall(open(page, encoding="utf-8").read())
    configs = [body for lang, body in blocks if lang == "yaml"]
    if not configs:
        sys.exit(f"{page}: no yaml config block")
    key = secrets.token_hex(16)
    env = dict(os.environ, SB_API_KEY=key, SWITCHBOARD_SERVER_LISTEN="127.0.0.1:0")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(configs[0])
        config = f.name
    server = subprocess.Popen([binary, "--config", config], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.time() + 20
        while url is None and time.time() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                url = m.group(1)
        if url is None:
            sys.exit("the server did not start")
        env["SB_URL"] = url.replace("localhost", "127.0.0.1")
        ran = 0
        failed = 0
        steps = [(m.group(1), m.group(2), m.group(3))
                 for m in STEP.finditer(open(page, encoding="utf-8").read())]
        for i, (lang, body, signs_in) in enumerate(steps):
            if signs_in:
                sign_in(env["SB_URL"], signs_in)
                continue
            if lang != "sh" or "curl" not in body:
                continue
            if i + 1 >= len(steps) or steps[i + 1][0] != "json":
                sys.exit(f"{page}: a curl example without a json output block after it:\n{body}")
            expected = steps[i + 1][1].strip()
            got = subprocess.run(["bash", "-c", body], env=env, capture_output=True, text=True,
                                 timeout=30)
            ran += 1
            if got.stdout.strip() != expected:
                failed += 1
                print(f"FAILED example {ran}:\n{body}\nexpected: {expected}\ngot: "
                      f"{got.stdout.strip()}\nstderr: {got.stderr.strip()}")
            else:
                print(f"ok example {ran}: {expected}")
        if ran < 5:
            sys.exit(f"{page}: only {ran} curl examples found")
        if failed:
            sys.exit(f"{failed} of {ran} examples failed")
        print(f"all {ran} examples of {page} printed what the page says")
    finally:
        server.terminate()
        server.wait(timeout=20)
        os.unlink(config)


if __name__ == "__main__":
    main()
