#!/usr/bin/env bash
# The SDK as a third party meets it: install Switchboard into a prefix, build the
# template plugin out of tree against it, prove it with the installed kit, then
# have the installed `switchboard serve` load it from a plugins directory via YAML.
# usage: out_of_tree.sh <build dir> <work dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build="$1"
work="$2"
install_prefix "$build" "$work"
build_plugin "$prefix/share/switchboard/template" "$work"   # the template as installed
so="$plugin_build/libswitchboard_template.so"

"$prefix/bin/switchboard-conformance" "$so" | tee "$work/kit.txt"
# The template is a transport and a session store: the store cases must have run
# on it and passed (S4 needs broker commands and is skipped).
awk '$1 ~ /^S[1-3]\./ { n++; if ($4 != "PASS") { print "store case not passed: " $0; bad++ } }
     END { if (n == 0) { print "no store case ran on the template"; bad++ } exit (bad > 0) }' \
  "$work/kit.txt" >&2

mkdir -p "$work/plugins"
cp "$so" "$work/plugins/"
cat >"$work/server.yaml" <<YAML
server:    { listen: "127.0.0.1:0" }
plugins:   { dir: "$work/plugins" }
transport: { use: template }
session:   { store: memory }
template:  { max_queue: 1000 }
YAML
# memory (the store) is not in $work/plugins: prove a missing plugin is named.
if "$prefix/bin/switchboard" serve --config "$work/server.yaml" 2>"$work/err.txt"; then
  echo "expected a failure: the memory store is not in the plugins dir" >&2; exit 1
fi
grep -q "plugin 'memory' not found" "$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
# The template is a session store too: serve with it as both, no memory plugin needed.
sed -i 's|session:   { store: memory }|session:   { store: template }|' "$work/server.yaml"

"$prefix/bin/switchboard" serve --config "$work/server.yaml" >"$work/out.txt" 2>"$work/log.txt" &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
listening_port "$work/out.txt" "$work/log.txt" server
health=$(curl -s "http://127.0.0.1:$port/healthz")
echo "healthz: $health"
echo "$health" | grep -q '"transport":{"plugin":"template","state":"connected"' || exit 1
echo "$health" | grep -q '"session_store":{"plugin":"template","state":"connected"' || exit 1
kill -TERM $pid
wait $pid
echo "out-of-tree template plugin: built, conforming, served"
