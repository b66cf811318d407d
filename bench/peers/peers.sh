#!/usr/bin/env bash
# Peer servers for the benchmark harness: Socket.IO 4.8 (Node), Centrifugo v6, nats-server (WebSocket).
#
#   peers.sh setup CACHE_DIR [NAME...]   install/build the peers into CACHE_DIR (idempotent, cached);
#                                        a peer that cannot be had prints "skip NAME: REASON" on stderr
#                                        and the command still exits 0.
#   peers.sh start NAME PORT CACHE_DIR   run one peer in the foreground (exec: the caller's child pid is
#                                        the server's pid), WebSocket on 127.0.0.1:PORT.
#   peers.sh check CACHE_DIR NAME        exit 0 if NAME is set up in CACHE_DIR (no network, no install).
#
# NAME is one of: socketio centrifugo nats. Nothing of the peers is kept in the source tree: their
# packages, binaries, module and build caches live under CACHE_DIR. See README.md and PROTOCOLS.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL_PEERS=(socketio centrifugo nats)
CENTRIFUGO_MODULE=github.com/centrifugal/centrifugo/v6
CENTRIFUGO_VERSION=v6.9.1
NATS_MIN_VERSION=2.2.0   # first release with the WebSocket listener

say() { echo "peers: $*" >&2; }
skip() { echo "skip $1: $2" >&2; }
die() { echo "peers: $*" >&2; exit 1; }

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

abspath() { mkdir -p "$1" && (cd "$1" && pwd); }

# first_error LOG PATTERN: the first lines of LOG matching PATTERN (else its last line), on one line
first_error() { { grep -m2 -E "$2" "$1" || tail -n1 "$1"; } | tr '\n' ' ' | cut -c1-300; }

# version_ge A B: true when dotted version A >= B
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

find_go() {
    if command -v go >/dev/null 2>&1; then command -v go
    elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go
    else return 1
    fi
}

# ---------------------------------------------------------------- socketio
socketio_ready() {
    local dir=$1/socketio
    [ -f "$dir/node_modules/socket.io/package.json" ] &&
        cmp -s "$HERE/socketio/package-lock.json" "$dir/package-lock.json" &&
        [ -f "$dir/.installed" ]
}

setup_socketio() {
    local cache=$1 dir=$1/socketio
    if ! command -v node >/dev/null 2>&1; then skip socketio "node not found"; return 0; fi
    if ! command -v npm >/dev/null 2>&1; then skip socketio "npm not found"; return 0; fi
    local nodever; nodever=$(node --version)
    if socketio_ready "$cache"; then
        say "socketio: cached ($(socketio_version "$cache"), node $nodever)"
        return 0
    fi
    mkdir -p "$dir"
    rm -f "$dir/.installed"
    cp "$HERE/socketio/package.json" "$HERE/socketio/package-lock.json" "$dir/"
    say "socketio: npm ci into $dir"
    if ! (cd "$dir" && npm_config_cache="$cache/npm-cache" npm ci --omit=dev --no-audit --no-fund --prefer-offline \
            --loglevel=error >"$dir/npm-ci.log" 2>&1); then
        skip socketio "npm ci failed: $(first_error "$dir/npm-ci.log" '^npm (error|ERR!) (code|errno|network|notarget|[0-9]{3})')"
        return 0
    fi
    touch "$dir/.installed"
    say "socketio: installed $(socketio_version "$cache") (node $nodever)"
}

socketio_version() {
    node -p "'socket.io ' + require('$1/socketio/node_modules/socket.io/package.json').version" 2>/dev/null ||
        echo "socket.io ?"
}

start_socketio() {
    local port=$1 cache=$2
    socketio_ready "$cache" || die "socketio is not set up in $cache (run: peers.sh setup $cache socketio)"
    NODE_PATH="$cache/socketio/node_modules" NODE_ENV=production \
        exec node "$HERE/socketio/server.js" "$port"
}

# ---------------------------------------------------------------- centrifugo
centrifugo_bin() { echo "$1/centrifugo/bin/centrifugo"; }

centrifugo_ready() {
    local bin; bin=$(centrifugo_bin "$1")
    [ -x "$bin" ] && [ -f "$1/centrifugo/.installed-$CENTRIFUGO_VERSION" ]
}

# centrifugo_go_install GO DIR [VAR=VALUE...]: go install the pinned version into DIR/bin
centrifugo_go_install() {
    local go=$1 dir=$2; shift 2
    # -ldflags sets the version string the binary reports (otherwise 0.0.0).
    env GOBIN="$dir/bin" GOPATH="$dir/gopath" GOMODCACHE="$dir/gopath/pkg/mod" GOCACHE="$dir/gocache" \
        GOFLAGS=-modcacherw GOTOOLCHAIN=local CGO_ENABLED=0 "$@" \
        "$go" install -trimpath \
            -ldflags "-s -w -X $CENTRIFUGO_MODULE/internal/build.Version=${CENTRIFUGO_VERSION#v}" \
            "$CENTRIFUGO_MODULE@$CENTRIFUGO_VERSION" >"$dir/build.log" 2>&1
}

setup_centrifugo() {
    local cache=$1 dir=$1/centrifugo
    if centrifugo_ready "$cache"; then
        say "centrifugo: cached ($CENTRIFUGO_VERSION, $(centrifugo_bin "$cache"))"
        return 0
    fi
    local go
    if ! go=$(find_go); then skip centrifugo "go not found (neither on PATH nor /usr/local/go/bin/go)"; return 0; fi
    mkdir -p "$dir/bin"
    say "centrifugo: go install $CENTRIFUGO_MODULE@$CENTRIFUGO_VERSION with $($go version) (first build takes minutes)"
    local t0 t1 offline=$dir/gopath/pkg/mod/cache/download
    t0=$(date +%s)
    # Everything Go downloads or compiles stays under CACHE_DIR. When the module cache already holds
    # this version (an earlier build), it is used as the module proxy, so a rebuild needs no network.
    if [ -f "$offline/${CENTRIFUGO_MODULE}/@v/$CENTRIFUGO_VERSION.zip" ] &&
       centrifugo_go_install "$go" "$dir" GOPROXY="file://$offline" GOSUMDB=off; then
        :
    elif ! centrifugo_go_install "$go" "$dir"; then
        skip centrifugo "go install failed: $(first_error "$dir/build.log" '^go: |error|cannot|: ')"
        return 0
    fi
    t1=$(date +%s)
    # The compile cache (~800 MB) is not needed once the binary exists; the module cache (~750 MB)
    # stays, so that a rebuild needs no network.
    rm -rf "$dir/gocache"
    touch "$dir/.installed-$CENTRIFUGO_VERSION"
    say "centrifugo: built $CENTRIFUGO_VERSION in $((t1 - t0)) s ($(centrifugo_bin "$cache"))"
}

start_centrifugo() {
    local port=$1 cache=$2
    centrifugo_ready "$cache" || die "centrifugo is not set up in $cache (run: peers.sh setup $cache centrifugo)"
    local conf=$cache/centrifugo/config-$port.json
    # Centrifugo v6 configuration (nested keys; checked with `centrifugo checkconfig` and by the
    # probe in PROTOCOLS.md). Clients connect without a token (anonymous, not "insecure" mode) and
    # may subscribe and publish from the client side on any channel without a namespace; no
    # history, recovery, presence or join/leave; admin UI, metrics, usage stats off; logging at
    # warn; per-client queue (1 MB default) and channel limit (128) raised, write timeout 1 s -> 10 s,
    # so that the benchmark is not cut off. The HTTP API (/api, no key) stays on 127.0.0.1.
    cat >"$conf" <<EOF
{
  "log": { "level": "warn" },
  "http_server": { "address": "127.0.0.1", "port": $port },
  "usage_stats": { "disabled": true },
  "admin": { "enabled": false },
  "prometheus": { "enabled": false },
  "health": { "enabled": false },
  "client": {
    "insecure": false,
    "allow_anonymous_connect_without_token": true,
    "allowed_origins": ["*"],
    "channel_limit": 100000,
    "queue_max_size": 67108864,
    "connection_limit": 0,
    "user_connection_limit": 0,
    "connection_rate_limit": 0,
    "ping_interval": "25s",
    "pong_timeout": "8s"
  },
  "channel": {
    "without_namespace": {
      "allow_subscribe_for_anonymous": true,
      "allow_subscribe_for_client": true,
      "allow_publish_for_anonymous": true,
      "allow_publish_for_client": true,
      "presence": false,
      "join_leave": false,
      "history_size": 0,
      "history_ttl": "0s",
      "force_recovery": false,
      "allow_recovery": false,
      "force_positioning": false
    }
  },
  "websocket": {
    "compression": false,
    "write_timeout": "10s",
    "message_size_limit": 1048576
  },
  "http_api": { "disabled": false, "insecure": true },
  "uni_websocket": { "enabled": false },
  "uni_sse": { "enabled": false },
  "uni_http_stream": { "enabled": false },
  "sse": { "enabled": false },
  "http_stream": { "enabled": false }
}
EOF
    exec "$(centrifugo_bin "$cache")" --config "$conf"
}

# ---------------------------------------------------------------- nats
nats_bin() { command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; } || true; }

nats_version() { "$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n1; }

setup_nats() {
    local cache=$1 bin
    bin=$(nats_bin)
    if [ -z "$bin" ]; then
        if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
            skip nats "nats-server not installed and apt-get (as root) not available"; return 0
        fi
        say "nats: apt-get install -y nats-server"
        mkdir -p "$cache/nats"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q nats-server >"$cache/nats/apt.log" 2>&1; then
            # the package lists may be missing or stale: refresh once and retry
            if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
                   DEBIAN_FRONTEND=noninteractive apt-get install -y -q nats-server; } >>"$cache/nats/apt.log" 2>&1; then
                skip nats "apt-get install nats-server failed: $(first_error "$cache/nats/apt.log" '^(E|Err):')"
                return 0
            fi
        fi
        bin=$(nats_bin)
        [ -n "$bin" ] || { skip nats "nats-server not found after apt-get install"; return 0; }
    fi
    local v; v=$(nats_version "$bin")
    if [ -z "$v" ] || ! version_ge "$v" "$NATS_MIN_VERSION"; then
        skip nats "nats-server ${v:-of unknown version} has no WebSocket listener (needs >= $NATS_MIN_VERSION)"
        return 0
    fi
    say "nats: nats-server v$v ($bin)"
}

start_nats() {
    local port=$1 cache=$2 bin
    bin=$(nats_bin)
    [ -n "$bin" ] || die "nats-server is not installed (run: peers.sh setup $cache nats)"
    mkdir -p "$cache/nats"
    local conf=$cache/nats/nats-$port.conf
    # WebSocket clients on PORT; the plain NATS client port is chosen at random (-1) since the
    # benchmark uses only the WebSocket listener. Slow-consumer limits are generous.
    cat >"$conf" <<EOF
listen: "127.0.0.1:-1"
http_port: 0
max_payload: 1MB
max_pending: 1GB
write_deadline: "10s"
max_connections: 1000000
ping_interval: "2m"
ping_max: 5
debug: false
trace: false
logtime: true
websocket {
  listen: "127.0.0.1:$port"
  no_tls: true
  compression: false
  handshake_timeout: "10s"
}
EOF
    # nats-server has no warn-only log level: it writes its ~10 [INF] start-up lines to stderr,
    # then only notices worth seeing in a benchmark (e.g. "Slow Consumer Detected"), warnings and
    # errors; per-connection debug/trace logging is off. It exits with status 1 on SIGTERM.
    exec "$bin" -c "$conf"
}

# ---------------------------------------------------------------- main
valid_name() { case "$1" in socketio|centrifugo|nats) return 0 ;; *) return 1 ;; esac; }

cmd=${1:-}
case "$cmd" in
    setup)
        [ $# -ge 2 ] || usage
        cache=$(abspath "$2"); shift 2
        names=("$@"); [ ${#names[@]} -gt 0 ] || names=("${ALL_PEERS[@]}")
        for n in "${names[@]}"; do valid_name "$n" || die "unknown peer '$n' (socketio centrifugo nats)"; done
        for n in "${names[@]}"; do "setup_$n" "$cache"; done
        ;;
    start)
        [ $# -eq 4 ] || usage
        name=$2 port=$3
        valid_name "$name" || die "unknown peer '$name' (socketio centrifugo nats)"
        [[ "$port" =~ ^[0-9]+$ ]] || die "bad port '$port'"
        cache=$(abspath "$4")
        "start_$name" "$port" "$cache"
        ;;
    check)
        [ $# -eq 3 ] || usage
        cache=$(abspath "$2"); name=$3
        case "$name" in
            socketio) socketio_ready "$cache" ;;
            centrifugo) centrifugo_ready "$cache" ;;
            nats) b=$(nats_bin); [ -n "$b" ] && v=$(nats_version "$b") && version_ge "$v" "$NATS_MIN_VERSION" ;;
            *) die "unknown peer '$name'" ;;
        esac
        ;;
    *) usage ;;
esac
