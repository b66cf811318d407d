#!/usr/bin/env bash
# broker_ctl.sh redis|nats start|stop|status PORT DIR — a throwaway broker for
# tests (the conformance kit's broker_stop/broker_start commands, the integration
# suites).
#
# Listens on 127.0.0.1:PORT only. Runs in the background as the current user; its
# log and pidfile live in DIR: DIR/<kind>-PORT.log  DIR/<kind>-PORT.pid
#   redis  redis-server without persistence (--save "" --appendonly no): a restart
#          forgets every key, as a crashed broker would.
#   nats   nats-server with JetStream (-js), its store in DIR/nats-PORT.js: a
#          restart keeps the KV buckets, as a real one does.
#
#   start   start it (no-op if already running) and wait until it answers (redis:
#           PING; nats: its INFO line) at most BROKER_WAIT seconds (default 10);
#           exit 1 if it does not
#   stop    SIGTERM it by pid and wait until it is gone (SIGKILL after the wait);
#           no-op if not running
#   status  print "running PID" (exit 0) or "stopped" (exit 3)
#
# The binaries are $REDIS_SERVER / $NATS_SERVER, else Debian's packages.
set -euo pipefail

usage() { echo "usage: $0 redis|nats start|stop|status PORT DIR" >&2; exit 2; }
[[ $# -eq 4 ]] || usage
kind=$1 cmd=$2 port=$3 dir=$4
case $kind in
  redis) bin=${REDIS_SERVER:-/usr/bin/redis-server} ;;
  nats) bin=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)} ;;
  *) usage ;;
esac
name=$(basename "$bin")
[[ $port =~ ^[0-9]+$ ]] && (( port >= 1 && port <= 65535 )) || { echo "$0: bad port '$port'" >&2; exit 2; }

wait_s=${BROKER_WAIT:-10}
log=$dir/$kind-$port.log
pidfile=$dir/$kind-$port.pid

# Alive and not a zombie (nobody may reap an exited background server).
alive() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# The pid from the pidfile if that process is alive and still the broker (a
# pid reused by another program must never be signalled).
running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "${name:0:15}"* ]] || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# Redis: PING over RESP; NATS: the INFO line a server sends first. Bash's
# /dev/tcp only: no client tools needed.
answers() {
  local reply=""
  {
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    [[ $kind == redis ]] && printf 'PING\r\n' >&3
    IFS= read -r -t 1 reply <&3 || true
    exec 3>&-
  } 2>/dev/null
  if [[ $kind == redis ]]; then [[ $reply == +PONG* ]]; else [[ $reply == INFO* ]]; fi
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
  if [[ $kind == redis ]]; then
    "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" </dev/null >>"$log" 2>&1 &
  else
    "$bin" -a 127.0.0.1 -p "$port" -js -sd "$dir/nats-$port.js" </dev/null >>"$log" 2>&1 &
  fi
  pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + wait_s))
  until answers; do
    if ! alive "$pid"; then
      echo "$0: $name exited during start-up; last log lines:" >&2
      tail -n 5 "$log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      echo "$0: $name on port $port does not answer after ${wait_s}s" >&2
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

case $cmd in
  start) start ;;
  stop) stop ;;
  status) if pid=$(running_pid); then echo "running $pid"; else echo "stopped"; exit 3; fi ;;
  *) usage ;;
esac
