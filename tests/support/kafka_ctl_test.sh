#!/usr/bin/env bash
# broker_ctl.sh kafka on its own: start (and start again: a no-op), status, a
# topic with three messages, stop + start on the same port keeps them (same
# controller port, same data), kill (SIGKILL) frees the ports at once and the next
# start recovers the messages, and a pidfile naming another "java" is never
# signalled. Prints how long each step took.
# usage: kafka_ctl_test.sh <work dir>   (jars: $KAFKA_CACHE, else <work dir>/kafka-cache)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../sdk/lib.sh"
ctl="$here/broker_ctl.sh"
work="$1"
rm -rf "$work/broker" "$work/decoy"
mkdir -p "$work"
work="$(cd "$work" && pwd -P)"
dir="$work/broker"
port=$(free_port 16650)
topic=ctl_test

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '%-44s %s\n' "$1" "$(( $(date +%s%N) / 1000000 - t0 )) ms"; }
now() { t0=$(( $(date +%s%N) / 1000000 )); }
trap '"$ctl" kafka stop "$port" "$dir" >/dev/null 2>&1 || true' EXIT

pid_of() { "$ctl" kafka status "$port" "$dir" | sed -n 's/^running //p'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
expect_stopped() {
  local out rc=0
  out=$("$ctl" kafka status "$port" "$dir") || rc=$?
  [[ $out == stopped && $rc == 3 ]] || fail "status after $1: '$out' (exit $rc)"
  ! kill -0 "$2" 2>/dev/null || [[ $(awk '/^State:/ {print $2}' "/proc/$2/status" 2>/dev/null) == Z ]] ||
    fail "pid $2 still alive after $1"
  ! port_open "$port" || fail "port $port still open after $1"
  ! port_open "$ctrl" || fail "controller port $ctrl still open after $1"
}
# The three messages, from the beginning of the topic.
expect_messages() {
  local got
  got=$(timeout 60 kcat -C -b "127.0.0.1:$port" -t "$topic" -o beginning -e -q) || fail "consuming ($1)"
  [[ $got == $'one\ntwo\nthree' ]] || fail "messages $1: '$got'"
}

# CreateTopics v4 (Kafka's wire protocol; kcat cannot create topics and the broker
# does not auto-create them): one partition, replication factor 1.
create_topic() {
  python3 - "$port" "$topic" <<'PY'
import socket, struct, sys
port, topic = int(sys.argv[1]), sys.argv[2].encode()
def s(b): return struct.pack(">h", len(b)) + b
body = (struct.pack(">hhi", 19, 4, 7) + s(b"kafka_ctl_test")           # header v1
        + struct.pack(">i", 1) + s(topic) + struct.pack(">ihii", 1, 1, 0, 0)
        + struct.pack(">ib", 10000, 0))                                # timeout, validate_only
with socket.create_connection(("127.0.0.1", port), timeout=15) as c:
    c.sendall(struct.pack(">i", len(body)) + body)
    def read(n):
        b = b""
        while len(b) < n:
            chunk = c.recv(n - len(b))
            if not chunk: raise SystemExit("connection closed")
            b += chunk
        return b
    r = read(struct.unpack(">i", read(4))[0])
corr, _throttle, n = struct.unpack(">iii", r[:12])
name_len = struct.unpack(">h", r[12:14])[0]
err = struct.unpack(">h", r[14 + name_len:16 + name_len])[0]
if corr != 7 or n != 1 or err != 0:
    raise SystemExit(f"CreateTopics: correlation {corr}, {n} topics, error code {err}")
PY
}

now; "$ctl" kafka start "$port" "$dir"; step "first start (jars, format, ready)"
pid=$(pid_of); [[ -n $pid ]] || fail "status does not say running"
ctrl=$(<"$dir/kafka-$port.ctrl")
cluster=$(grep '^cluster.id=' "$dir/kafka-$port.data/meta.properties")
tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qx kafka.Kafka || fail "pid $pid is not kafka.Kafka"
echo "broker pid $pid, port $port, controller port $ctrl, RSS $(awk '/^VmRSS:/ {print $2 " " $3}' "/proc/$pid/status")"

now; out=$("$ctl" kafka start "$port" "$dir"); step "start when running (no-op)"
[[ $out == *"already running (pid $pid,"* ]] || fail "second start: $out"
[[ $(pid_of) == "$pid" ]] || fail "second start changed the pid"

kcat -L -b "127.0.0.1:$port" -m 5 | grep -q "broker 1 at 127.0.0.1:$port" || fail "kcat -L does not list the broker"
now; create_topic; step "CreateTopics"
kcat -L -b "127.0.0.1:$port" -t "$topic" -m 5 | grep -q "topic \"$topic\" with 1 partitions" || fail "topic not listed"
now; printf 'one\ntwo\nthree\n' | timeout 60 kcat -P -b "127.0.0.1:$port" -t "$topic" -X message.timeout.ms=20000
step "produce 3 messages"
now; expect_messages "after produce"; step "consume them"

now; "$ctl" kafka stop "$port" "$dir"; step "stop (SIGTERM)"
expect_stopped stop "$pid"
out=$("$ctl" kafka stop "$port" "$dir"); [[ $out == *"not running"* ]] || fail "second stop: $out"

now; "$ctl" kafka start "$port" "$dir"; step "restart (same port, same data)"
pid=$(pid_of)
[[ $(<"$dir/kafka-$port.ctrl") == "$ctrl" ]] || fail "the controller port changed"
[[ $(grep '^cluster.id=' "$dir/kafka-$port.data/meta.properties") == "$cluster" ]] || fail "the data was formatted again"
expect_messages "after a restart"

now; "$ctl" kafka kill "$port" "$dir"; step "kill (SIGKILL)"
expect_stopped kill "$pid"
now; "$ctl" kafka start "$port" "$dir"; step "start after kill"
pid=$(pid_of)
expect_messages "after kill and start"

# A pidfile naming a live process that is not this broker: status says stopped,
# stop leaves it alone. The decoy is called java, as every JVM is.
mkdir -p "$work/decoy"
"$ctl" kafka stop "$port" "$dir" >/dev/null
cp "$(command -v sleep)" "$work/decoy/java"
"$work/decoy/java" 60 &
decoy=$!
echo "$decoy" >"$dir/kafka-$port.pid"
rc=0; "$ctl" kafka status "$port" "$dir" >/dev/null || rc=$?
[[ $rc == 3 ]] || { kill "$decoy"; fail "status treats a foreign java (pid $decoy) as the broker"; }
"$ctl" kafka stop "$port" "$dir" >/dev/null
"$ctl" kafka kill "$port" "$dir" >/dev/null
kill -0 "$decoy" 2>/dev/null || fail "stop/kill signalled a foreign java"
kill "$decoy"; wait "$decoy" 2>/dev/null || true

ps -eo pid=,args= | grep -F "$dir/kafka-$port.properties" | grep -v grep && fail "a broker JVM is left"
echo "kafka_ctl_test: OK"
