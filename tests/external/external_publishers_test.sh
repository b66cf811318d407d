#!/usr/bin/env bash
# The external publishers (examples/external-publishers) against real processes:
# a real broker (redis-server, nats-server with JetStream, or a Kafka 4 broker),
# one chat example server on that broker's transport and session store (Kafka,
# which has no store: the memory store), and two WebSocket clients
# (client.mjs, Node's built-in WebSocket):
#
#   A  joined rooms "lobby" and "ops", signed in as "alice"
#   B  nothing (anonymous, no rooms)
#
# Each publisher (Redis: redis-cli.sh, publish.py, publish.sh; NATS: publish.py
# and publish.sh speaking the NATS text protocol; Kafka: publish.sh, which calls
# kcat) publishes to all, one channel,
# several channels, one user, several users and A's socketId, plus targets that
# match nobody; every publish must be taken by the broker (Redis: 1 subscriber,
# the server; NATS: "sent"), and A and B must receive exactly the expected
# events, with the arguments a browser handler gets, in order. Raw v1 messages of
# all four kinds go through redis-cli.sh (Redis), the C program publish_nats
# (NATS, libnats) or kcat -P (Kafka). Then malformed messages must be counted in
# switchboard_bus_malformed_total and reach nobody.
#
#   tests/external/external_publishers_test.sh build/bin/chat [redis]
#   tests/external/external_publishers_test.sh build/bin/chat nats build/bin/publish_nats
#   KAFKA_CACHE=build/kafka-cache tests/external/external_publishers_test.sh build/bin/chat kafka
#
# Needs python3, node (20+) and redis-server + redis-cli, or nats-server, or java,
# mvn and kcat (the Kafka broker: tests/support/broker_ctl.sh).
# KEEP_WORK=1 keeps the logs in the work folder (printed at the end).
set -euo pipefail

CHAT=${1:?usage: external_publishers_test.sh PATH/TO/chat [redis | nats PATH/TO/publish_nats | kafka]}
BROKER=${2:-redis}
PUBLISH_NATS=${3:-}
[[ $BROKER == redis || $BROKER == kafka || ($BROKER == nats && -x $PUBLISH_NATS) ]] ||
  { echo "usage: external_publishers_test.sh PATH/TO/chat [redis | nats PATH/TO/publish_nats | kafka]" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXAMPLES=$(cd "$HERE/../../examples/external-publishers" && pwd)
TIMEOUT=15 # seconds for every wait

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "-- $*"; }

# --- requirements -------------------------------------------------------------

missing=()
case $BROKER in
  redis) tools=(redis-server redis-cli) ;;
  nats) tools=(nats-server) ;;
  kafka) tools=(java mvn kcat) ;;
esac
for tool in "${tools[@]}" python3 node; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  fail "missing required tools: ${missing[*]} (Debian: apt-get install redis-server redis-tools nats-server default-jre-headless maven kcat python3 nodejs)"
fi
[[ -x $CHAT ]] || fail "chat binary not found or not executable: $CHAT"
for f in redis-cli.sh publish.py publish.sh; do
  [[ -x $EXAMPLES/$f ]] || fail "$EXAMPLES/$f is missing or not executable"
done
# Node's WebSocket: global from Node 22, behind --experimental-websocket in 20/21.
NODE=(node)
if ! node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null; then
  NODE=(node --experimental-websocket)
  "${NODE[@]}" -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null ||
    fail "node $(node --version) has no WebSocket, even with --experimental-websocket (need Node 20+)"
fi

# --- processes (each stopped by its pid at exit) ------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sb-external.XXXXXX")
PIDS=()
cleanup() {
  local rc=$? pid
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((rc != 0)); then
    for log in "$WORK"/*.log; do
      [[ -s $log ]] || continue
      echo "===== $(basename "$log") (last 40 lines)" >&2
      tail -n 40 "$log" >&2
    done
  fi
  if [[ -n ${KEEP_WORK:-} || $rc -ne 0 ]]; then
    echo "work folder kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for FILE FIXED_STRING [PID]: until a line of FILE contains the string.
wait_for() {
  local file=$1 text=$2 pid=${3:-} deadline=$((SECONDS + TIMEOUT))
  until grep -qF -- "$text" "$file" 2>/dev/null; do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      fail "process $pid exited while waiting for '$text' in $(basename "$file")"
    fi
    ((SECONDS < deadline)) || fail "no '$text' in $(basename "$file") within ${TIMEOUT}s"
    sleep 0.05
  done
}

# http_get URL: prints "STATUS BODY".
http_get() {
  python3 - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except OSError as e:
    print(0, e)
EOF
}

# metric NAME: the value of one Prometheus sample (NAME may carry labels).
metric() {
  http_get "$BASE/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# The broker on a free port (retried: another process may take the port first).
nats_answers() {
  local line=""
  { exec 4<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r -t 1 line <&4; exec 4>&-; } 2>/dev/null || true
  [[ $line == INFO* ]]
}
for attempt in 1 2 3 4 5; do
  BROKER_PORT=$(free_port)
  if [[ $BROKER == kafka ]]; then
    # The shared throwaway-broker script (jars from Maven once, KRaft, readiness).
    if "$HERE/../support/broker_ctl.sh" kafka start "$BROKER_PORT" "$WORK" >"$WORK/broker-ctl.log" 2>&1; then
      BROKER_PID=$(<"$WORK/kafka-$BROKER_PORT.pid")
      PIDS+=("$BROKER_PID")
      break
    fi
    ((attempt < 5)) || fail "the kafka broker did not start: $(tail -n 20 "$WORK/broker-ctl.log")"
    continue
  fi
  if [[ $BROKER == redis ]]; then
    redis-server --port "$BROKER_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/broker.log" 2>&1 &
  else
    nats-server -a 127.0.0.1 -p "$BROKER_PORT" -js -sd "$WORK/js" >"$WORK/broker.log" 2>&1 &
  fi
  BROKER_PID=$!
  ok=
  for _ in $(seq 100); do
    kill -0 "$BROKER_PID" 2>/dev/null || break
    if [[ $BROKER == redis ]]; then
      [[ $(redis-cli -p "$BROKER_PORT" PING 2>/dev/null) == PONG ]] && { ok=1; break; }
    else
      nats_answers "$BROKER_PORT" && { ok=1; break; }
    fi
    sleep 0.05
  done
  if [[ -n $ok ]]; then PIDS+=("$BROKER_PID"); break; fi
  kill "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  ((attempt < 5)) || fail "the $BROKER server did not start (see $WORK/broker.log)"
done
step "$BROKER server on 127.0.0.1:$BROKER_PORT (pid $BROKER_PID)"
STORE=$BROKER
case $BROKER in
  redis) export SWITCHBOARD_REDIS_URL="redis://127.0.0.1:$BROKER_PORT/0" ;;
  nats) export SWITCHBOARD_NATS_SERVERS="nats://127.0.0.1:$BROKER_PORT" ;;
  kafka) export SWITCHBOARD_KAFKA_BROKERS="[127.0.0.1:$BROKER_PORT]"; STORE=memory ;;  # one server: its own sessions
esac

SWITCHBOARD_SERVER_LISTEN=127.0.0.1:0 \
SWITCHBOARD_SERVER_THREADS=2 \
SWITCHBOARD_TRANSPORT_USE=$BROKER \
SWITCHBOARD_SESSION_STORE=$STORE \
SWITCHBOARD_SESSION_SECRET=external-publishers-test \
  "$CHAT" >"$WORK/chat.out.log" 2>"$WORK/chat.log" &
CHAT_PID=$!
PIDS+=("$CHAT_PID")
wait_for "$WORK/chat.out.log" "switchboard listening on http://127.0.0.1:" "$CHAT_PID"
PORT=$(sed -n 's|^switchboard listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$WORK/chat.out.log" | head -n1)
[[ -n $PORT ]] || fail "cannot read the port from: $(head -n1 "$WORK/chat.out.log")"
BASE=http://127.0.0.1:$PORT
step "chat on $BASE (pid $CHAT_PID)"

deadline=$((SECONDS + TIMEOUT))
until [[ $(http_get "$BASE/healthz") == 200* ]]; do
  kill -0 "$CHAT_PID" 2>/dev/null || fail "chat exited"
  ((SECONDS < deadline)) || fail "/healthz is not 200 within ${TIMEOUT}s: $(http_get "$BASE/healthz")"
  sleep 0.1
done
[[ $(metric "switchboard_transport_state{plugin=\"$BROKER\"}") == 1 ]] ||
  fail "switchboard_transport_state{plugin=\"$BROKER\"} is not 1 (connected)"
step "healthz: $(http_get "$BASE/healthz")"

# --- clients ------------------------------------------------------------------

"${NODE[@]}" "$HERE/client.mjs" --url "ws://127.0.0.1:$PORT/ws" \
  --join lobby --join ops --sign-in alice >"$WORK/a.events" 2>"$WORK/client-a.log" &
PIDS+=($!)
A_PID=$!
"${NODE[@]}" "$HERE/client.mjs" --url "ws://127.0.0.1:$PORT/ws" \
  >"$WORK/b.events" 2>"$WORK/client-b.log" &
PIDS+=($!)
B_PID=$!
wait_for "$WORK/a.events" '{"ready":' "$A_PID"
wait_for "$WORK/b.events" '{"ready":' "$B_PID"
A_SOCKET=$(sed -n 's/^{"ready":"\(.*\)"}$/\1/p' "$WORK/a.events")
[[ -n $A_SOCKET ]] || fail "no socketId in A's ready line: $(head -n1 "$WORK/a.events")"
step "client A (lobby, ops, alice) socketId $A_SOCKET; client B (anonymous)"

# --- the publishers -----------------------------------------------------------

# The examples, pointed at this broker (env for the shell scripts, flags for
# publish.py, so both ways are exercised). raw_tool publishes a message written
# by hand: redis-cli.sh for Redis, the C program (libnats) for NATS.
if [[ $BROKER == redis ]]; then
  redis_cli_sh() { REDIS_HOST=127.0.0.1 REDIS_PORT=$BROKER_PORT SS_CHANNEL=ss:event "$EXAMPLES/redis-cli.sh" "$@"; }
  publish_py() { python3 "$EXAMPLES/publish.py" --host 127.0.0.1 --port "$BROKER_PORT" --channel ss:event "$@"; }
  publish_sh() { REDIS_HOST=127.0.0.1 REDIS_PORT=$BROKER_PORT SS_CHANNEL=ss:event "$EXAMPLES/publish.sh" "$@"; }
  TOOLS=(redis_cli_sh publish_py publish_sh)
  raw_tool() { redis_cli_sh raw "$1"; }
  TAKEN=1  # what a publisher prints when the broker took the message: Redis's subscriber count
elif [[ $BROKER == kafka ]]; then
  # publish.py speaks Redis and NATS only (Kafka's protocol is binary: kcat).
  publish_sh() { SS_BROKER=kafka KAFKA_BROKERS=127.0.0.1:$BROKER_PORT SS_TOPIC=ss.event "$EXAMPLES/publish.sh" "$@"; }
  TOOLS=(publish_sh)
  raw_tool() { printf '%s\n' "$1" | kcat -P -b "127.0.0.1:$BROKER_PORT" -t ss.event -X message.timeout.ms=10000 && echo sent; }
  TAKEN=sent
else
  publish_py() { python3 "$EXAMPLES/publish.py" --broker nats --port "$BROKER_PORT" --subject ss.event "$@"; }
  publish_sh() { SS_BROKER=nats NATS_HOST=127.0.0.1 NATS_PORT=$BROKER_PORT SS_SUBJECT=ss.event "$EXAMPLES/publish.sh" "$@"; }
  TOOLS=(publish_py publish_sh)
  raw_tool() { "$PUBLISH_NATS" -s "nats://127.0.0.1:$BROKER_PORT" -subject ss.event "$1"; }
  TAKEN=sent
fi

: >"$WORK/a.expected"
: >"$WORK/b.expected"
expect_a() { printf '%s\n' "$@" >>"$WORK/a.expected"; }
expect_b() { printf '%s\n' "$@" >>"$WORK/b.expected"; }

# pub TOOL ARGS...: runs one publish; the broker must have taken it (Redis: to
# exactly one subscriber, the one chat server).
pub() {
  local tool=$1 out
  shift
  out=$("$tool" "$@" 2>"$WORK/publisher.err") || fail "$tool $* failed: $(cat "$WORK/publisher.err")"
  [[ $out == "$TAKEN" ]] || fail "$tool $*: printed '$out', expected '$TAKEN'"
}

UNICODE='héllo wörld ✓ 日本'
for tool in "${TOOLS[@]}"; do
  step "$tool: all, channel, channels, user, users, socketId, nobody"
  t=\"$tool\"

  pub "$tool" all ext.all "$tool" 7 true null "{\"text\":\"$UNICODE\",\"n\":[1,2]}"
  expect_a "{\"e\":\"ext.all\",\"args\":[$t,7,true,null,{\"text\":\"$UNICODE\",\"n\":[1,2]}]}"
  expect_b "{\"e\":\"ext.all\",\"args\":[$t,7,true,null,{\"text\":\"$UNICODE\",\"n\":[1,2]}]}"

  pub "$tool" all ext.noargs
  expect_a '{"e":"ext.noargs","args":[]}'
  expect_b '{"e":"ext.noargs","args":[]}'

  pub "$tool" channel lobby ext.room "$tool" '{"from":"ops"}'
  expect_a "{\"e\":\"ext.room\",\"args\":[$t,{\"from\":\"ops\"},\"lobby\"]}"

  # Several channels: once per matching channel, each with its own name, in the
  # message's order; "nowhere" has no subscriber.
  pub "$tool" channel ops,nowhere,lobby ext.rooms "$tool"
  expect_a "{\"e\":\"ext.rooms\",\"args\":[$t,\"ops\"]}" "{\"e\":\"ext.rooms\",\"args\":[$t,\"lobby\"]}"

  pub "$tool" user alice ext.user "$tool"
  expect_a "{\"e\":\"ext.user\",\"args\":[$t]}"

  pub "$tool" user bob,alice,carol ext.users "$tool"
  expect_a "{\"e\":\"ext.users\",\"args\":[$t]}"

  pub "$tool" socket "$A_SOCKET" ext.socket "$tool" "$UNICODE"
  expect_a "{\"e\":\"ext.socket\",\"args\":[$t,\"$UNICODE\"]}"

  # Nobody matches these: nothing may arrive.
  pub "$tool" channel nowhere ext.nobody "$tool"
  pub "$tool" user bob ext.nobody "$tool"
  pub "$tool" socket no-such-socket ext.nobody "$tool"
done

# The message format as written in the docs, by hand (a single string for
# "channels"/"users"; "p" absent; an unknown field), all four target kinds.
step "raw v1 messages: one string as channels/users, no p, unknown fields"
pub raw_tool '{"t":"channel","channels":"lobby","e":"ext.raw.channel","p":["x"]}'
expect_a '{"e":"ext.raw.channel","args":["x","lobby"]}'
pub raw_tool '{"t":"user","users":"alice","e":"ext.raw.user"}'
expect_a '{"e":"ext.raw.user","args":[]}'
pub raw_tool '{"t":"all","e":"ext.raw.all","p":[],"v":1,"source":"billing"}'
expect_a '{"e":"ext.raw.all","args":[]}'
expect_b '{"e":"ext.raw.all","args":[]}'
pub raw_tool "{\"t\":\"socketId\",\"socketId\":\"$A_SOCKET\",\"e\":\"ext.raw.socket\",\"p\":[1]}"
expect_a '{"e":"ext.raw.socket","args":[1]}'

# A barrier: the broker delivers one subscriber's messages in the order it took them,
# and the server keeps that order per connection, so once both clients have
# the barrier every earlier event has arrived or never will.
barrier() {
  pub "${TOOLS[-1]}" all "$1"
  expect_a "{\"e\":\"$1\",\"args\":[]}"
  expect_b "{\"e\":\"$1\",\"args\":[]}"
  wait_for "$WORK/a.events" "{\"e\":\"$1\"" "$A_PID"
  wait_for "$WORK/b.events" "{\"e\":\"$1\"" "$B_PID"
}

# compare WHO: the events after the ready line, exactly as expected.
compare() {
  sed 1d "$WORK/$1.events" >"$WORK/$1.actual"
  diff -u --label "$1 expected" --label "$1 received" "$WORK/$1.expected" "$WORK/$1.actual" >&2 ||
    fail "client $1 did not receive exactly the expected events (diff above)"
}

barrier ext.barrier.1
compare a
compare b
step "A got $(wc -l <"$WORK/a.actual") events, B got $(wc -l <"$WORK/b.actual"), exactly as expected"

# --- malformed messages -------------------------------------------------------

step "malformed messages: counted, delivered to nobody"
malformed_before=$(metric switchboard_bus_malformed_total)
[[ $malformed_before == 0 ]] || fail "switchboard_bus_malformed_total is $malformed_before after valid publishes only"
pub publish_sh raw 'not json'
pub publish_sh raw '{"t":"all","e":"","p":[]}'
pub publish_sh raw '{"t":"all","e":"ext.bad","p":"not an array"}'
pub publish_sh raw '{"t":"broadcast","e":"ext.bad"}'
pub publish_sh raw '{"t":"channel","channels":[],"e":"ext.bad"}'
barrier ext.barrier.2
compare a
compare b
malformed_after=$(metric switchboard_bus_malformed_total)
[[ $malformed_after == 5 ]] || fail "switchboard_bus_malformed_total is '$malformed_after', expected 5"
grep -q 'malformed' "$WORK/chat.log" || fail "no log line about the malformed bus messages"
step "switchboard_bus_malformed_total 0 -> 5; nothing reached a client"

kill -0 "$CHAT_PID" 2>/dev/null || fail "chat exited"
echo "PASS: external publishers (${TOOLS[*]}, raw) -> $BROKER -> chat -> WebSocket"
