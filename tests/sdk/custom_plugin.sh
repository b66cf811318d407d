#!/usr/bin/env bash
# The worked custom plugin as its author would test it: install Switchboard into
# a prefix, build examples/custom-plugin (the MQTT transport) out of tree against
# it, start a real Mosquitto broker on a free loopback port, and run the installed
# kit with the broker outage cases. Stops the broker it started.
# usage: custom_plugin.sh <build dir> <work dir> <source dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build="$1"
work="$2"
src="$3"
install_prefix "$build" "$work"
build_plugin "$src/examples/custom-plugin" "$work"

MQTT_PORT=$(free_port 18830)
export MQTT_PORT MQTT_STATE_DIR="$work/broker"
mkdir -p "$MQTT_STATE_DIR"

cd "$src"
broker=examples/custom-plugin/broker.sh
"$broker" start "$MQTT_PORT" "$MQTT_STATE_DIR"
trap '"$broker" stop "$MQTT_PORT" "$MQTT_STATE_DIR" || true' EXIT

"$prefix/bin/switchboard-conformance" "$plugin_build/libswitchboard_mqtt.so" \
  --config examples/custom-plugin/conformance.yaml --require-outages --junit "$work/kit.xml" | tee "$work/kit.txt"
# The outage cases must have run, not been skipped.
grep -Eq '^T4\.02 +reconnect_after_broker_restart +MUST +PASS' "$work/kit.txt"
