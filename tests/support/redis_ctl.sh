#!/usr/bin/env bash
# redis_ctl.sh start|stop|status PORT DIR — a throwaway redis-server for tests
# (the conformance kit's broker_stop/broker_start commands).
#
# Listens on 127.0.0.1:PORT only, no persistence (--save "" --appendonly no):
# a restart forgets every key, as a crashed broker would. Runs in the
# background as the current user; its log and pidfile live in DIR:
#   DIR/redis-PORT.log  DIR/redis-PORT.pid
#
#   start   start it (no-op if already running) and wait until it answers PING
#           (at most REDIS_WAIT seconds, default 10); exit 1 if it does not
#   stop    SIGTERM it by pid and wait until it is gone (SIGKILL after the wait);
#           no-op if not running
#   status  print "running PID" (exit 0) or "stopped" (exit 3)
#
# The binary is $REDIS_SERVER, else /usr/bin/redis-server (Debian's package).
set -euo pipefail

usage() { echo "usage: $0 start|stop|status PORT DIR" >&2; exit 2; }
[[ $# -eq 3 ]] || usage
cmd=$1 port=$2 dir=$3
[[ $port =~ ^[0-9]+$ ]] && (( port >= 1 && port <= 65535 )) || { echo "$0: bad port '$port'" >&2; exit 2; }

wait_s=${REDIS_WAIT:-10}
log=$dir/redis-$port.log
pidfile=$dir/redis-$port.pid

# Alive and not a zombie (nobody may reap an exited background server).
alive() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# The pid from the pidfile if that process is alive and still redis-server (a
# pid reused by another program must never be signalled).
running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server* ]] || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# PING over RESP with bash's /dev/tcp: no redis-cli needed.
answers_ping() {
  local reply=""
  {
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 1 reply <&3 || true
    exec 3>&-
  } 2>/dev/null
  [[ $reply == +PONG* ]]
}

start() {
  local pid
  if pid=$(running_pid); then echo "redis-server already running (pid $pid, port $port)"; return 0; fi
  local bin=${REDIS_SERVER:-/usr/bin/redis-server}
  [[ -x $bin ]] || { echo "$0: $bin not found (apt-get install redis-server, or set REDIS_SERVER)" >&2; exit 1; }
  # Something else on the port would pass the readiness check below.
  if port_open; then echo "$0: port $port is already in use by another program" >&2; exit 1; fi
  mkdir -p "$dir"
  # Every descriptor redirected: a caller reading our output (the kit's /bin/sh,
  # a test's pipe) must not wait for the server to exit.
  "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    </dev/null >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + wait_s))
  until answers_ping; do
    if ! alive "$pid"; then
      echo "$0: redis-server exited during start-up; last log lines:" >&2
      tail -n 5 "$log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      echo "$0: redis-server on port $port does not answer PING after ${wait_s}s" >&2
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$pidfile"
      exit 1
    fi
    sleep 0.05
  done
  echo "redis-server running (pid $pid, port $port)"
}

stop() {
  local pid
  if ! pid=$(running_pid); then rm -f "$pidfile"; echo "redis-server not running (port $port)"; return 0; fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + wait_s)) killed=0
  while alive "$pid"; do
    if (( SECONDS >= deadline )); then
      (( killed )) && { echo "$0: redis-server (pid $pid) survives SIGKILL" >&2; exit 1; }
      kill -KILL "$pid" 2>/dev/null || true
      killed=1 deadline=$((SECONDS + 2))
    fi
    sleep 0.05
  done
  rm -f "$pidfile"
  echo "redis-server stopped (pid $pid, port $port)"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) if pid=$(running_pid); then echo "running $pid"; else echo "stopped"; exit 3; fi ;;
  *) usage ;;
esac
