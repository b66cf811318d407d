#!/usr/bin/env bash
# The benchmark harness in miniature (CI): every scenario S1-S6 with a hundred
# connections and low rates, against Switchboard and nats-server's WebSocket
# listener (the peer CI installs), plus S1 and S4 against Switchboard on TLS
# (S1-TLS, S4-TLS: the load generator's wss:// path), through the same harness
# and load generator as bench/run. It passes when every run delivered every message exactly once
# and in order; no timing is checked.
#   smoke.sh <build dir> <source dir>
set -euo pipefail
build=$1
src=$2
bash "$src/bench/peers/peers.sh" setup "$build/peers" nats
exec python3 "$src/bench/harness.py" --build "$build" --smoke --servers switchboard,nats
