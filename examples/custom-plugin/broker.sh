#!/usr/bin/env bash
# broker.sh start|stop|status PORT DIR — a throwaway Mosquitto broker for tests.
#
# Listens on 127.0.0.1:PORT only, anonymous, no persistence (a restart forgets
# everything, like the at-most-once bus expects). Runs as the current user, in
# the background; its config, log and pidfile live in DIR:
#   DIR/mosquitto-PORT.conf  DIR/mosquitto-PORT.log  DIR/mosquitto-PORT.pid
#
#   start   start it (no-op if already running) and wait until the port accepts
#           connections (at most BROKER_WAIT seconds, default 10); exit 1 if not
#   stop    SIGTERM it by pid and wait until it is gone (SIGKILL after the wait);
#           no-op if not running
#   status  print "running PID" (exit 0) or "stopped" (exit 3)
#
# The mosquitto binary is $MOSQUITTO, else `mosquitto` on PATH, else
# /usr/sbin/mosquitto (where Debian puts it, off a normal user's PATH).
set -euo pipefail

usage() { echo "usage: $0 start|stop|status PORT DIR" >&2; exit 2; }
[[ $# -eq 3 ]] || usage
cmd=$1 port=$2 dir=$3
[[ $port =~ ^[0-9]+$ ]] && (( port >= 1 && port <= 65535 )) || { echo "$0: bad port '$port'" >&2; exit 2; }

wait_s=${BROKER_WAIT:-10}
conf=$dir/mosquitto-$port.conf
log=$dir/mosquitto-$port.log
pidfile=$dir/mosquitto-$port.pid

# Alive and not a zombie: an exited broker stays a zombie until someone reaps it
# (our shell never does, and PID 1 in a container may not either).
alive() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# The pid from the pidfile if that process is alive and still mosquitto (a pid
# reused by another program after a crash must never be signalled).
running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == mosquitto ]] || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  if pid=$(running_pid); then echo "mosquitto already running (pid $pid, port $port)"; return 0; fi
  local bin=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
  [[ -x $bin ]] || { echo "$0: mosquitto not found (apt-get install mosquitto, or set MOSQUITTO)" >&2; exit 1; }
  # Something else on the port would pass the readiness check below.
  if port_open; then echo "$0: port $port is already in use by another program" >&2; exit 1; fi
  mkdir -p "$dir"
  # `user` names the current user: started as root, mosquitto would otherwise
  # switch to the 'mosquitto' user (and fail to write DIR); for anyone else the
  # option is ignored.
  cat >"$conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
user $(id -un)
log_dest stderr
EOF
  # Every descriptor redirected: a caller reading our output (the conformance
  # kit's /bin/sh) must not wait for the broker to exit.
  "$bin" -c "$conf" </dev/null >>"$log" 2>&1 &
  local pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + wait_s))
  until port_open; do
    if ! alive "$pid"; then
      echo "$0: mosquitto exited during start-up; last log lines:" >&2
      tail -n 5 "$log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      echo "$0: port $port not accepting connections after ${wait_s}s" >&2
      kill "$pid" 2>/dev/null || true
      rm -f "$pidfile"
      exit 1
    fi
    sleep 0.05
  done
  echo "mosquitto running (pid $pid, port $port)"
}

stop() {
  local pid
  if ! pid=$(running_pid); then rm -f "$pidfile"; echo "mosquitto not running (port $port)"; return 0; fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + wait_s)) killed=0
  while alive "$pid"; do
    if (( SECONDS >= deadline )); then
      (( killed )) && { echo "$0: mosquitto (pid $pid) survives SIGKILL" >&2; exit 1; }
      kill -KILL "$pid" 2>/dev/null || true
      killed=1 deadline=$((SECONDS + 2))
    fi
    sleep 0.05
  done
  rm -f "$pidfile"
  echo "mosquitto stopped (pid $pid, port $port)"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) if pid=$(running_pid); then echo "running $pid"; else echo "stopped"; exit 3; fi ;;
  *) usage ;;
esac
