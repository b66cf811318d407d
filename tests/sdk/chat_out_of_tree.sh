#!/usr/bin/env bash
# The browser suite on an app built the way docs/app-guide.md says: install the
# built tree into a prefix, build examples/chat out of tree against it with only
# CMAKE_PREFIX_PATH, and run tests/e2e/chat.test.mjs (Chromium) on that binary,
# which finds the installed memory plugin by itself.
# usage: chat_out_of_tree.sh <build dir> <work dir> <source dir> <node>
set -euo pipefail
source "$(dirname "$0")/lib.sh"
build="$1"
work="$2"
src="$3"
node="$4"
install_prefix "$build" "$work"
app="$work/chat"
cmake -S "$src/examples/chat" -B "$app" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
grep -qx "Switchboard_DIR:PATH=$prefix/lib/cmake/Switchboard" "$app/CMakeCache.txt" ||
  { echo "chat did not find the installed package" >&2; exit 1; }
cmake --build "$app"
cd "$src"
env -u SWITCHBOARD_PLUGINS_DIR SWITCHBOARD_CHAT_BIN="$app/chat" "$node" --test tests/e2e/chat.test.mjs
