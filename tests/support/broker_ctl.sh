#!/usr/bin/env bash
# broker_ctl.sh redis|nats|kafka start|stop|kill|status PORT DIR — a throwaway
# broker for tests (the conformance kit's broker_stop/broker_start commands, the
# integration suites).
#
# Listens on 127.0.0.1:PORT only. Runs in the background as the current user; its
# log and pidfile live in DIR: DIR/<kind>-PORT.log  DIR/<kind>-PORT.pid
#   redis  redis-server without persistence (--save "" --appendonly no): a restart
#          forgets every key, as a crashed broker would.
#   nats   nats-server with JetStream (-js), its store in DIR/nats-PORT.js: a
#          restart keeps the KV buckets, as a real one does.
#   kafka  Apache Kafka 4 (java, kafka.Kafka; JVM flags for a fast start, or
#          $KAFKA_JVM_OPTS), one node in KRaft combined mode
#          (broker and controller), PLAINTEXT on 127.0.0.1:PORT. Its controller
#          listener is on a second free port chosen at the first start and kept in
#          DIR/kafka-PORT.ctrl; its data in DIR/kafka-PORT.data, formatted at the
#          first start only: a restart keeps the topics and their messages. Topics
#          are not created on use (auto.create.topics.enable=false); new ones get one
#          partition. Its config files: DIR/kafka-PORT.properties (the broker's),
#          DIR/kafka-PORT.log4j2.properties (WARN and up, or $KAFKA_LOG_LEVEL, to
#          the log).
#          The jars come from Maven Central (tests/support/kafka/pom.xml, fetched with
#          mvn once) into $KAFKA_CACHE, default DIR/../kafka-cache, which several
#          brokers may share; the java and kcat commands are needed.
#
#   start   start it (no-op if already running) and wait until it answers (redis:
#           PING; nats: its INFO line; kafka: `kcat -L` lists it) at most BROKER_WAIT
#           seconds (default 10; kafka 60); exit 1 if it does not
#   stop    SIGTERM it by pid and wait until it is gone (SIGKILL after the wait);
#           no-op if not running
#   kill    SIGKILL it by pid at once (a crash) and wait until it is gone; no-op if
#           not running
#   status  print "running PID" (exit 0) or "stopped" (exit 3)
#
# The binaries are $REDIS_SERVER / $NATS_SERVER / $JAVA (and $KCAT), else Debian's
# packages.
set -euo pipefail

usage() { echo "usage: $0 redis|nats|kafka start|stop|kill|status PORT DIR" >&2; exit 2; }
[[ $# -eq 4 ]] || usage
kind=$1 cmd=$2 port=$3 dir=$4
case $kind in
  redis) bin=${REDIS_SERVER:-/usr/bin/redis-server} ;;
  nats) bin=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)} ;;
  kafka) bin=${JAVA:-$(command -v java || echo /usr/bin/java)}
         kcat=${KCAT:-$(command -v kcat || echo /usr/bin/kcat)} ;;
  *) usage ;;
esac
name=$(basename "$bin")
[[ $port =~ ^[0-9]+$ ]] && (( port >= 1 && port <= 65535 )) || { echo "$0: bad port '$port'" >&2; exit 2; }

default_wait=10
if [[ $kind == kafka ]]; then
  default_wait=60
  # Absolute: the broker's command line names its config file by this path, and
  # running_pid() recognises the broker by it.
  [[ -d $dir ]] && dir=$(cd "$dir" && pwd -P)
fi
wait_s=${BROKER_WAIT:-$default_wait}
log=$dir/$kind-$port.log
pidfile=$dir/$kind-$port.pid

# Alive and not a zombie (nobody may reap an exited background server). A
# multi-threaded one whose main thread is already a zombie still counts while
# another thread lives: it holds the ports until the last thread is gone (seen
# with java after SIGKILL).
alive() {
  local state threads
  read -r state threads < <(awk '/^State:/ {s = $2} /^Threads:/ {t = $2} END {print s, t}' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state ]] || return 1
  [[ $state != Z && $state != X ]] || (( ${threads:-0} > 1 ))
}

# The pid from the pidfile if that process is alive and still the broker (a
# pid reused by another program must never be signalled).
running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "${name:0:15}"* ]] || return 1
  # Every JVM is "java": also its main class and this port's config file.
  if [[ $kind == kafka ]]; then
    local args
    args=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    grep -qx 'kafka\.Kafka' <<<"$args" && grep -qxF "$dir/kafka-$port.properties" <<<"$args" || return 1
  fi
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# Redis: PING over RESP; NATS: the INFO line a server sends first. Bash's
# /dev/tcp only: no client tools needed. Kafka: its metadata (kcat) lists this
# broker, which it does once the broker has registered with its controller.
answers() {
  if [[ $kind == kafka ]]; then
    local meta
    port_open || return 1
    meta=$("$kcat" -L -b "127.0.0.1:$port" -m 2 2>/dev/null) || return 1
    [[ $meta == *"broker 1 at 127.0.0.1:$port"[!0-9]* || $meta == *"broker 1 at 127.0.0.1:$port" ]]
    return
  fi
  local reply=""
  {
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    [[ $kind == redis ]] && printf 'PING\r\n' >&3
    IFS= read -r -t 1 reply <&3 || true
    exec 3>&-
  } 2>/dev/null
  if [[ $kind == redis ]]; then [[ $reply == +PONG* ]]; else [[ $reply == INFO* ]]; fi
}

# ---- kafka -------------------------------------------------------------------
here=$(cd "$(dirname "$0")" && pwd)
pom=$here/kafka/pom.xml
cache=${KAFKA_CACHE:-$dir/../kafka-cache}
# JVM flags that start the broker in 3-6 s on 2 busy cores (the default JIT is
# slower); ~335 MB RSS.
kafka_jvm=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData
  -Djava.awt.headless=true)
# KAFKA_JVM_OPTS replaces them (space-separated), e.g. a broker for benchmarks:
# "-Xmx1g -XX:+UseG1GC -XX:-UsePerfData" (full JIT: slower to start, faster after).
if [[ -n ${KAFKA_JVM_OPTS:-} ]]; then read -r -a kafka_jvm <<<"$KAFKA_JVM_OPTS"; fi

# kafka_jars: the broker's jars in $cache/lib, fetched once per pom.xml version
# (marker $cache/lib.ok holds its checksum). Concurrent starts wait on a flock on
# $cache/.lock; the fetch goes to a temporary folder renamed into place.
kafka_jars() {
  local sum
  sum=$(sha256sum <"$pom" | cut -c1-16)
  [[ -f $cache/lib.ok && $(<"$cache/lib.ok") == "$sum" ]] && return 0
  command -v mvn >/dev/null || { echo "$0: mvn not found (apt-get install maven)" >&2; exit 1; }
  mkdir -p "$cache"
  cache=$(cd "$cache" && pwd -P)
  (
    flock -w 900 9 || { echo "$0: $cache/.lock is held for more than 900s" >&2; exit 1; }
    [[ -f $cache/lib.ok && $(<"$cache/lib.ok") == "$sum" ]] && exit 0
    echo "fetching the Kafka jars into $cache/lib (once)" >&2
    rm -rf "$cache/lib.new" "$cache/lib.ok"
    if ! mvn -B -q -f "$pom" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DoutputDirectory="$cache/lib.new" -DincludeScope=runtime </dev/null >"$cache/fetch.log" 2>&1; then
      echo "$0: fetching the Kafka jars failed; last lines of $cache/fetch.log:" >&2
      tail -n 20 "$cache/fetch.log" | sed "s/\x1b\[[0-9;]*m//g" >&2
      rm -rf "$cache/lib.new"
      exit 1
    fi
    rm -rf "$cache/lib"
    mv "$cache/lib.new" "$cache/lib"
    echo "$sum" >"$cache/lib.ok"
  ) 9>"$cache/.lock"
}

# A Kafka cluster id: 16 random bytes, base64url without padding (what
# `kafka-storage random-uuid` prints, without its JVM start); none starts with "-".
kafka_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || { echo "$id"; return; }
  done
}

# The controller port: the one in DIR/kafka-PORT.ctrl, else a free one (below the
# kernel's ephemeral range, so an outgoing connection does not take it between a
# stop and a start), remembered there.
kafka_ctrl_port() {
  local f=$dir/kafka-$port.ctrl p i
  if [[ -f $f ]]; then
    p=$(<"$f")
    [[ $p =~ ^[0-9]+$ ]] || { echo "$0: bad controller port in $f" >&2; exit 1; }
    echo "$p"; return
  fi
  for (( i = 0; i < 500; i++ )); do
    p=$(( 20000 + RANDOM % 12000 ))
    (( p != port )) || continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p" >"$f"; echo "$p"; return
    fi
  done
  echo "$0: no free port for the Kafka controller" >&2; exit 1
}

# Writes DIR/kafka-PORT.properties and DIR/kafka-PORT.log4j2.properties (the same
# text at every start).
kafka_config() {
  local ctrl=$1
  cat >"$dir/kafka-$port.properties" <<EOF
# Written by tests/support/broker_ctl.sh: a throwaway single-node Kafka.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$ctrl
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/kafka-$port.data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# After a SIGKILL the restarted broker cannot register until its old session
# expires (DUPLICATE_BROKER_REGISTRATION): 3 s, not 9 s.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.retention.ms=600000
log.retention.bytes=67108864
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
EOF
  cat >"$dir/kafka-$port.log4j2.properties" <<EOF
# Written by tests/support/broker_ctl.sh: ${KAFKA_LOG_LEVEL:-WARN} and up to standard
# output, which the script appends to DIR/kafka-PORT.log (with the JVM's own
# messages). No shutdown hook: the broker logs while it shuts down (the console
# is not buffered).
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${KAFKA_LOG_LEVEL:-WARN}
rootLogger.appenderRef.out.ref = out
EOF
}

# Formats DIR/kafka-PORT.data unless it already holds a formatted store (a restart
# keeps it; formatting a used one fails).
kafka_format() {
  local data=$dir/kafka-$port.data
  [[ -f $data/meta.properties ]] && return 0
  rm -rf "$data"
  if ! "$bin" "${kafka_jvm[@]}" -Dlog4j2.configurationFile="$dir/kafka-$port.log4j2.properties" \
      -cp "$cache/lib/*" kafka.tools.StorageTool format --standalone \
      -t "$(kafka_cluster_id)" -c "$dir/kafka-$port.properties" </dev/null >>"$log" 2>&1; then
    echo "$0: formatting $data failed; last log lines:" >&2
    tail -n 20 "$log" >&2
    rm -rf "$data"
    exit 1
  fi
}

# Prepares everything and starts the JVM in the background (sets $!).
kafka_launch() {
  local ctrl
  [[ -x $kcat ]] || { echo "$0: $kcat not found (apt-get install kcat)" >&2; exit 1; }
  dir=$(cd "$dir" && pwd -P)
  log=$dir/kafka-$port.log pidfile=$dir/kafka-$port.pid
  kafka_jars
  cache=$(cd "$cache" && pwd -P)
  ctrl=$(kafka_ctrl_port)
  if (exec 3<>"/dev/tcp/127.0.0.1/$ctrl") 2>/dev/null; then
    echo "$0: the Kafka controller port $ctrl (from $dir/kafka-$port.ctrl) is in use by another program" >&2
    exit 1
  fi
  kafka_config "$ctrl"
  kafka_format
}

start() {
  local pid
  if pid=$(running_pid); then echo "$name already running (pid $pid, port $port)"; return 0; fi
  [[ -x $bin ]] || { echo "$0: $bin not found (apt-get install $name)" >&2; exit 1; }
  # Something else on the port would pass the readiness check below.
  if port_open; then echo "$0: port $port is already in use by another program" >&2; exit 1; fi
  mkdir -p "$dir"
  # Every descriptor redirected: a caller reading our output (the kit's /bin/sh,
  # a test's pipe) must not wait for the server to exit.
  # A simple command of its own line, so $! is the server's pid (not a subshell's).
  if [[ $kind == redis ]]; then
    "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" </dev/null >>"$log" 2>&1 &
  elif [[ $kind == nats ]]; then
    "$bin" -a 127.0.0.1 -p "$port" -js -sd "$dir/nats-$port.js" </dev/null >>"$log" 2>&1 &
  else
    kafka_launch
    "$bin" "${kafka_jvm[@]}" -Dlog4j2.configurationFile="$dir/kafka-$port.log4j2.properties" \
      -XX:ErrorFile="$dir/kafka-$port.hs_err.log" -cp "$cache/lib/*" \
      kafka.Kafka "$dir/kafka-$port.properties" </dev/null >>"$log" 2>&1 &
  fi
  pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + wait_s)) tail_n=5
  [[ $kind == kafka ]] && tail_n=20
  until answers; do
    if ! alive "$pid"; then
      echo "$0: $name exited during start-up; last log lines:" >&2
      tail -n "$tail_n" "$log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      echo "$0: $name on port $port does not answer after ${wait_s}s" >&2
      [[ $kind == kafka ]] && { echo "last log lines:" >&2; tail -n "$tail_n" "$log" >&2; }
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$pidfile"
      exit 1
    fi
    sleep 0.05
  done
  echo "$name running (pid $pid, port $port)"
}

stop() {
  local pid
  if ! pid=$(running_pid); then rm -f "$pidfile"; echo "$name not running (port $port)"; return 0; fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + wait_s)) killed=0
  while alive "$pid"; do
    if (( SECONDS >= deadline )); then
      (( killed )) && { echo "$0: $name (pid $pid) survives SIGKILL" >&2; exit 1; }
      kill -KILL "$pid" 2>/dev/null || true
      killed=1 deadline=$((SECONDS + 2))
    fi
    sleep 0.05
  done
  rm -f "$pidfile"
  echo "$name stopped (pid $pid, port $port)"
}

# SIGKILL at once (a crashed broker); the kernel frees its ports.
kill9() {
  local pid
  if ! pid=$(running_pid); then rm -f "$pidfile"; echo "$name not running (port $port)"; return 0; fi
  kill -KILL "$pid"
  local deadline=$((SECONDS + 5))
  while alive "$pid"; do
    (( SECONDS < deadline )) || { echo "$0: $name (pid $pid) survives SIGKILL" >&2; exit 1; }
    sleep 0.05
  done
  rm -f "$pidfile"
  echo "$name killed (pid $pid, port $port)"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  kill) kill9 ;;
  status) if pid=$(running_pid); then echo "running $pid"; else echo "stopped"; exit 3; fi ;;
  *) usage ;;
esac
