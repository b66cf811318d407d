#!/usr/bin/env python3
"""Push an event to Switchboard's browsers from outside: one Redis PUBLISH, or
one NATS PUB (--broker nats).

Standard library only (no pip, no client package): a tiny RESP client over a
socket sends PUBLISH <bus channel> <message>, where the message is the v1 JSON
format of docs/external-publishing.md. It prints the number of subscribers Redis
reports, i.e. how many Switchboard server processes received the message. With
--broker nats it speaks the NATS text protocol instead (CONNECT, PUB <subject>,
PING, waiting for the PONG that proves the server took the message) and prints
"sent": NATS does not tell how many subscribers got a message.

  publish.py [--host H] [--port P] [--channel C] all EVENT [ARG_JSON...]
  publish.py [...] channel NAME[,NAME...] EVENT [ARG_JSON...]
  publish.py [...] user ID[,ID...] EVENT [ARG_JSON...]
  publish.py [...] socket SOCKET_ID EVENT [ARG_JSON...]

NAME[,NAME...] may also be a JSON array of strings, for names holding a comma:
'["a,b","c"]'. Each ARG_JSON is one JSON value (a handler argument): '{"from":"ops"}', 42, true,
'"quoted string"'. A bare word that is not valid JSON is taken as a string, so
`hello` and '"hello"' are the same argument (but 42 is a number: write '"42"'
for the string).

Examples (the chat example's events; see README.md beside this file):

  ./publish.py all chat.broadcast '{"from":"ops","text":"deploy at 18:00"}'
  ./publish.py channel lobby chat.message '{"from":"ops","text":"hi lobby"}'
  ./publish.py channel lobby,ops chat.message '{"from":"ops","text":"hi both"}'
  ./publish.py user alice,bob chat.direct '{"from":"ops","text":"hi you"}'
  ./publish.py socket 9f1c2e... chat.ping '{"from":"ops","fromSocketId":""}'
  ./publish.py --print all flash Notice      # show the message, publish nothing

Defaults come from the environment: SS_BROKER (redis; or nats), REDIS_HOST
(127.0.0.1), REDIS_PORT (6379), SS_CHANNEL (ss:event, the servers'
`redis.channel`), REDIS_PASSWORD (sent with AUTH when set; REDIS_USERNAME too
for a Redis 6+ ACL user); for NATS: NATS_HOST (127.0.0.1), NATS_PORT (4222),
SS_SUBJECT (ss.event, the servers' `nats.subject`), NATS_USER and NATS_PASSWORD,
or NATS_TOKEN.

Exit status: 0 when the broker took the message (for Redis even if no server was
subscribed: then it prints 0 and warns on stderr), 1 on a broker error or a
connection failure, 2 on a usage error.
"""

import argparse
import json
import os
import socket
import sys

TARGETS = ("all", "channel", "user", "socket")
DEFAULT_MAX_BYTES = 1 << 20  # the servers' limits.max_bus_message_bytes default


class BrokerError(Exception):
    pass


def resp_command(*parts):
    """Encodes one command as a RESP array of bulk strings (binary-safe)."""
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def read_line(sock_file):
    line = sock_file.readline()
    if not line.endswith(b"\r\n"):
        raise BrokerError("connection closed by the broker")
    return line[:-2]


def read_reply(sock_file):
    """Reads one simple reply: +status, -error, :integer (enough for AUTH and PUBLISH)."""
    line = read_line(sock_file)
    kind, rest = line[:1], line[1:].decode("utf-8", "replace")
    if kind == b"+":
        return rest
    if kind == b"-":
        raise BrokerError(rest)
    if kind == b":":
        return int(rest)
    raise BrokerError("unexpected reply from Redis: %r" % line[:80])


def redis_publish(host, port, channel, message, password=None, username=None, timeout=5.0):
    """Sends PUBLISH channel message; returns the number of subscribers that got it."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock_file = sock.makefile("rb")
        if password:
            auth = ("AUTH", username, password) if username else ("AUTH", password)
            sock.sendall(resp_command(*auth))
            read_reply(sock_file)
        sock.sendall(resp_command("PUBLISH", channel, message))
        return read_reply(sock_file)


def nats_publish(host, port, subject, message, user=None, password=None, token=None, timeout=5.0):
    """Sends one PUB on the NATS text protocol; returns once the server answered
    the PING that follows it (so it has processed the PUB), raises BrokerError
    (a broker error) on -ERR."""
    connect = {"verbose": False, "pedantic": False, "name": "publish.py"}
    if user:
        connect.update(user=user, **{"pass": password or ""})
    if token:
        connect["auth_token"] = token
    if not subject or any(c.isspace() for c in subject):
        # A space would turn the rest into PUB's reply-to field.
        raise BrokerError("the subject %r is empty or has whitespace" % subject)
    payload = message.encode("utf-8")
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock_file = sock.makefile("rb")
        info = read_line(sock_file)
        if not info.startswith(b"INFO "):
            raise BrokerError("not a NATS server (it said %r)" % info[:40])
        sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\n" +
                     b"PUB " + subject.encode("utf-8") + b" " + str(len(payload)).encode() + b"\r\n" +
                     payload + b"\r\nPING\r\n")
        while True:
            line = read_line(sock_file)
            if line == b"PONG":
                return
            if line.startswith(b"-ERR"):
                raise BrokerError("NATS: " + line[5:].decode("utf-8", "replace"))
            if line == b"PING":
                sock.sendall(b"PONG\r\n")


def _not_json(constant):
    raise ValueError("%s is not JSON" % constant)


def _finite_float(text):
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise OverflowError("number %s is out of range" % text)
    return value


def json_arg(text):
    """One handler argument: a JSON value, or the text itself as a string."""
    try:
        # parse_constant: Python would accept NaN/Infinity, which are not JSON.
        return json.loads(text, parse_constant=_not_json, parse_float=_finite_float)
    except ValueError:
        return text


def split_names(text):
    """NAME[,NAME...], or a JSON array of strings for names that hold a comma."""
    if text.startswith("["):
        try:
            names = json.loads(text)
        except ValueError:
            names = None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return [n for n in names if n]
    return [n for n in text.split(",") if n]


def build_message(target, name, event, args):
    """The v1 bus message (docs/external-publishing.md) as a JSON string."""
    msg = {"t": {"socket": "socketId"}.get(target, target)}
    if target == "channel":
        msg["channels"] = split_names(name)
    elif target == "user":
        msg["users"] = split_names(name)
    elif target == "socket":
        msg["socketId"] = name
    msg["e"] = event
    msg["p"] = args
    # ensure_ascii=False: UTF-8 on the wire, as the servers send it themselves.
    return json.dumps(msg, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def parse_args(argv):
    env = os.environ
    ap = argparse.ArgumentParser(
        prog="publish.py",
        usage="publish.py [--host H --port P --channel C] "
        "all|channel NAME[,NAME]|user ID[,ID]|socket ID EVENT [ARG_JSON...]",
        description="Publish an event to Switchboard's browsers through Redis "
        "(one PUBLISH on the servers' bus channel).",
    )
    ap.add_argument("--broker", choices=("redis", "nats"), default=env.get("SS_BROKER", "redis"))
    ap.add_argument("--host", default=None, help="REDIS_HOST / NATS_HOST (127.0.0.1)")
    ap.add_argument("--port", type=int, default=None, help="REDIS_PORT (6379) / NATS_PORT (4222)")
    ap.add_argument("--channel", default=env.get("SS_CHANNEL", "ss:event"),
                    help="the Redis channel the servers subscribe to (redis.channel)")
    ap.add_argument("--subject", default=env.get("SS_SUBJECT", "ss.event"),
                    help="the NATS subject the servers subscribe to (nats.subject)")
    ap.add_argument("--password", default=env.get("REDIS_PASSWORD"))
    ap.add_argument("--username", default=env.get("REDIS_USERNAME"))
    ap.add_argument("--print", dest="print_only", action="store_true",
                    help="print the message instead of publishing it")
    ap.add_argument("target", choices=TARGETS)
    ap.add_argument("rest", nargs=argparse.REMAINDER,
                    help="[NAMES] EVENT [ARG_JSON...]")
    a = ap.parse_args(argv)
    nats = a.broker == "nats"
    if a.host is None:
        a.host = env.get("NATS_HOST" if nats else "REDIS_HOST", "127.0.0.1")
    if a.port is None:
        a.port = int(env.get("NATS_PORT", "4222") if nats else env.get("REDIS_PORT", "6379"))

    rest = list(a.rest)
    name = None
    if a.target != "all":
        if not rest:
            ap.error("%s needs a target before the event name" % a.target)
        name = rest.pop(0)
        if a.target in ("channel", "user") and not split_names(name):
            ap.error("no %s name given" % a.target)
        if a.target == "socket" and not name:
            ap.error("empty socket id")
    if not rest or not rest[0]:
        ap.error("missing EVENT (a non-empty event name)")
    a.name = name
    a.event = rest.pop(0)
    if a.event.startswith("-"):
        ap.error("options go before the target kind (got %r as the event name)" % a.event)
    try:
        a.args = [json_arg(x) for x in rest]
    except OverflowError as e:
        ap.error(str(e))
    return a


def main(argv):
    a = parse_args(argv)
    message = build_message(a.target, a.name, a.event, a.args)
    try:
        message.encode("utf-8")
    except UnicodeEncodeError:
        print("publish.py: the arguments are not valid UTF-8", file=sys.stderr)
        return 2
    if a.print_only:
        print(message)
        return 0
    size = len(message.encode("utf-8"))
    if size > DEFAULT_MAX_BYTES:
        print("publish.py: warning: the message is %d bytes; servers on the default "
              "limits.max_bus_message_bytes (%d) drop it" % (size, DEFAULT_MAX_BYTES),
              file=sys.stderr)
    try:
        if a.broker == "nats":
            env = os.environ
            nats_publish(a.host, a.port, a.subject, message,
                         env.get("NATS_USER"), env.get("NATS_PASSWORD"), env.get("NATS_TOKEN"))
            print("sent")
            return 0
        receivers = redis_publish(a.host, a.port, a.channel, message, a.password, a.username)
    except (OSError, BrokerError) as e:
        print("publish.py: %s %s:%d: %s" % (a.broker, a.host, a.port, e), file=sys.stderr)
        return 1
    print(receivers)
    if receivers == 0:
        print("publish.py: warning: no server is subscribed to %r on %s:%d; "
              "the event reached nobody" % (a.channel, a.host, a.port), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
