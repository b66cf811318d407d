#!/usr/bin/env bash
# The kit on the shipped redis plugin, against a real redis-server on a free
# loopback port, broker-restart cases included: first with commands that stop and
# start redis-server, then (outage cases only) through the kit's own proxy
# (conformance.proxy), which cuts the connection instead. Stops the Redis it started.
# usage: redis_kit.sh <switchboard-conformance> <libswitchboard_redis.so> <work dir>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../sdk/lib.sh"
kit="$1" so="$2" work="$3"
ctl="$here/../support/redis_ctl.sh"
rm -rf "$work"
mkdir -p "$work"
port=$(free_port 16400)
"$ctl" start "$port" "$work"
trap '"$ctl" stop "$port" "$work" || true' EXIT
cat >"$work/kit.yaml" <<YAML
redis: { url: "redis://127.0.0.1:$port/0" }
conformance:
  broker_stop: "$ctl stop $port $work"
  broker_start: "$ctl start $port $work"
YAML
"$kit" "$so" --config "$work/kit.yaml" --junit "$work/kit.xml" --require-outages | tee "$work/kit.txt"
grep -Eq '^T4\.02 +reconnect_after_broker_restart +MUST +PASS' "$work/kit.txt"
grep -Eq '^S4\.01 +store_unavailable_is_an_error_not_a_hang +MUST +PASS' "$work/kit.txt"

cat >"$work/proxy.yaml" <<YAML
conformance: { proxy: "127.0.0.1:$port" }
redis: { url: "redis://127.0.0.1:\${CONFORMANCE_PROXY_PORT}/0" }
YAML
for f in T4 S4; do
  "$kit" "$so" --config "$work/proxy.yaml" --filter "$f" --require-outages | tee "$work/proxy-$f.txt"
done
grep -Eq '^T4\.01 +broker_away_publish_never_blocks +MUST +PASS' "$work/proxy-T4.txt"
grep -Eq '^T4\.02 +reconnect_after_broker_restart +MUST +PASS' "$work/proxy-T4.txt"
grep -Eq '^S4\.01 +store_unavailable_is_an_error_not_a_hang +MUST +PASS' "$work/proxy-S4.txt"
