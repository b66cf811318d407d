#!/usr/bin/env bash
# An app as its author meets Switchboard (docs/app-guide.md): install the built
# tree into a prefix, build examples/hello out of tree against it with nothing but
# CMAKE_PREFIX_PATH, and run it with no plugins.dir: the installed memory plugin
# must be found, and without it the error must name every folder searched.
# usage: hello_out_of_tree.sh <build dir> <work dir> <source dir>
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build="$1"
work="$2"
src="$3"
install_prefix "$build" "$work"
app="$work/hello"
cmake -S "$src/examples/hello" -B "$app" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
grep -qx "Switchboard_DIR:PATH=$prefix/lib/cmake/Switchboard" "$app/CMakeCache.txt" ||
  { echo "hello did not find the installed package" >&2; grep Switchboard_DIR "$app/CMakeCache.txt" >&2; exit 1; }
cmake --build "$app"

# run_hello <log>: starts $app/hello on a free port (only the listen address
# set, never plugins.dir), from a folder with no plugins near it.
run_hello() {
  (cd "$work" && exec env -u SWITCHBOARD_PLUGINS_DIR SWITCHBOARD_SERVER_LISTEN=127.0.0.1:0 \
     "$app/hello" >"$work/out.txt" 2>"$1") &
  pid=$!
}

# Without the installed plugin: the error names every folder looked in.
plugins="$prefix/lib/switchboard/plugins"
mv "$plugins/libswitchboard_memory.so" "$work/"
run_hello "$work/err.txt"
if wait $pid; then echo "hello started without a memory plugin" >&2; exit 1; fi
mv "$work/libswitchboard_memory.so" "$plugins/"
cat "$work/err.txt"
for dir in "$app/plugins" "$work/lib/switchboard/plugins" "$plugins"; do
  grep -qF "$dir" "$work/err.txt" || { echo "the error does not name $dir" >&2; exit 1; }
done

run_hello "$work/log.txt"
trap 'kill -9 $pid 2>/dev/null || true' EXIT
listening_port "$work/out.txt" "$work/log.txt" hello
health=$(curl -s "http://127.0.0.1:$port/healthz")
echo "healthz: $health"
echo "$health" | grep -q '"transport":{"plugin":"memory","state":"connected"' || exit 1
curl -sf -o /dev/null "http://127.0.0.1:$port/switchboard.js" || { echo "GET /switchboard.js failed" >&2; exit 1; }
# The WebSocket upgrade is answered (101), then the connection is dropped.
status=$(curl -s -o /dev/null -w '%{http_code}' --http1.1 --max-time 2 \
  -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "http://127.0.0.1:$port/ws" || true)
[ "$status" = 101 ] || { echo "WebSocket upgrade answered $status" >&2; exit 1; }
kill -TERM $pid
wait $pid
echo "out-of-tree hello: found the package, built, served with the installed memory plugin"
