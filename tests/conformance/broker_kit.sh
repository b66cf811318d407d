#!/usr/bin/env bash
# The kit on a shipped networked plugin against its real broker on a free loopback
# port, broker-outage cases included: first with commands that stop and start the
# broker process (tests/support/broker_ctl.sh), then (outage cases only) through
# the kit's own proxy (conformance.proxy), which cuts the connections instead.
# Kafka only the first way: a Kafka client connects to the address the broker
# advertises, not through the proxy it bootstrapped from. Stops the broker it
# started.
# usage: broker_kit.sh redis|nats|kafka <switchboard-conformance> <plugin.so> <work dir>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../sdk/lib.sh"
kind="$1" kit="$2" so="$3" work="$4"
ctl="$here/../support/broker_ctl.sh"
rm -rf "$work"
mkdir -p "$work"
case $kind in
  redis) port=$(free_port 16400) ;;
  nats) port=$(free_port 16500) ;;
  kafka) port=$(free_port 16600) ;;
  *) echo "usage: $0 redis|nats|kafka <kit> <plugin.so> <work dir>" >&2; exit 2 ;;
esac
"$ctl" "$kind" start "$port" "$work"
trap '"$ctl" "$kind" stop "$port" "$work" || true' EXIT

# The plugin's settings for a broker port (the YAML text after "<kind>:").
settings() {
  case $kind in
    redis) echo "{ url: \"redis://127.0.0.1:$1/0\" }" ;;
    nats) echo "{ servers: [\"nats://127.0.0.1:$1\"], storage: memory }" ;;
    kafka) echo "{ brokers: [\"127.0.0.1:$1\"] }" ;;
  esac
}

cat >"$work/kit.yaml" <<YAML
$kind: $(settings "$port")
conformance:
  broker_stop: "$ctl $kind stop $port $work"
  broker_start: "$ctl $kind start $port $work"
YAML
"$kit" "$so" --config "$work/kit.yaml" --junit "$work/kit.xml" --require-outages | tee "$work/kit.txt"
grep -Eq '^T4\.02 +reconnect_after_broker_restart +MUST +PASS' "$work/kit.txt"
if [[ $kind == kafka ]]; then
  # A transport only: the store cases do not apply, and no proxy run (above).
  grep -Eq '^T4\.01 +broker_away_publish_never_blocks +MUST +PASS' "$work/kit.txt"
  # A topic of 3 partitions: every instance still gets every message, and one
  # publisher's stay in order (each instance keys its messages with its own id).
  cat >"$work/partitions.yaml" <<YAML
kafka: { brokers: ["127.0.0.1:$port"], topic: ss.event.p3, partitions: 3 }
YAML
  "$kit" "$so" --config "$work/partitions.yaml" --filter T2 | tee "$work/partitions.txt"
  grep -Eq '^T2\.05 +order_per_publisher_under_load +MUST +PASS' "$work/partitions.txt"
  grep -Eq '^T2\.07 +concurrent_publishers +MUST +PASS' "$work/partitions.txt"
  exit 0
fi
grep -Eq '^S4\.01 +store_unavailable_is_an_error_not_a_hang +MUST +PASS' "$work/kit.txt"

cat >"$work/proxy.yaml" <<YAML
conformance: { proxy: "127.0.0.1:$port" }
$kind: $(settings '${CONFORMANCE_PROXY_PORT}')
YAML
for f in T4 S4; do
  "$kit" "$so" --config "$work/proxy.yaml" --filter "$f" --require-outages | tee "$work/proxy-$f.txt"
done
grep -Eq '^T4\.01 +broker_away_publish_never_blocks +MUST +PASS' "$work/proxy-T4.txt"
grep -Eq '^T4\.02 +reconnect_after_broker_restart +MUST +PASS' "$work/proxy-T4.txt"
grep -Eq '^S4\.01 +store_unavailable_is_an_error_not_a_hang +MUST +PASS' "$work/proxy-S4.txt"
