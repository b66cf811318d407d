#!/usr/bin/env python3
"""Push an event to Switchboard's browsers from outside: one Redis PUBLISH.

Standard library only (no pip, no redis package): a tiny RESP client over a
socket sends PUBLISH <bus channel> <message>, where the message is the v1 JSON
format of docs/external-publishing.md. It prints the number of subscribers Redis
reports, i.e. how many Switchboard server processes received the message.

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

Defaults come from the environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379),
SS_CHANNEL (ss:event, the servers' `redis.channel`), REDIS_PASSWORD (sent with
AUTH when set; REDIS_USERNAME too for a Redis 6+ ACL user).

Exit status: 0 when Redis took the message (even if no server was subscribed:
then it prints 0 and warns on stderr), 1 on a Redis error or a connection
failure, 2 on a usage error.
"""

import argparse
import json
import os
import socket
import sys

TARGETS = ("all", "channel", "user", "socket")
DEFAULT_MAX_BYTES = 1 << 20  # the servers' limits.max_bus_message_bytes default


class RedisError(Exception):
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
        raise RedisError("connection closed by Redis")
    return line[:-2]


def read_reply(sock_file):
    """Reads one simple reply: +status, -error, :integer (enough for AUTH and PUBLISH)."""
    line = read_line(sock_file)
    kind, rest = line[:1], line[1:].decode("utf-8", "replace")
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisError(rest)
    if kind == b":":
        return int(rest)
    raise RedisError("unexpected reply from Redis: %r" % line[:80])


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
    ap.add_argument("--host", default=env.get("REDIS_HOST", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(env.get("REDIS_PORT", "6379")))
    ap.add_argument("--channel", default=env.get("SS_CHANNEL", "ss:event"),
                    help="the Redis channel the servers subscribe to (redis.channel)")
    ap.add_argument("--password", default=env.get("REDIS_PASSWORD"))
    ap.add_argument("--username", default=env.get("REDIS_USERNAME"))
    ap.add_argument("--print", dest="print_only", action="store_true",
                    help="print the message instead of publishing it")
    ap.add_argument("target", choices=TARGETS)
    ap.add_argument("rest", nargs=argparse.REMAINDER,
                    help="[NAMES] EVENT [ARG_JSON...]")
    a = ap.parse_args(argv)

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
        receivers = redis_publish(a.host, a.port, a.channel, message, a.password, a.username)
    except (OSError, RedisError) as e:
        print("publish.py: redis %s:%d: %s" % (a.host, a.port, e), file=sys.stderr)
        return 1
    print(receivers)
    if receivers == 0:
        print("publish.py: warning: no server is subscribed to %r on %s:%d; "
              "the event reached nobody" % (a.channel, a.host, a.port), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
