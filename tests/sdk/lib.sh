# Shared by the SDK and conformance test scripts.
#
# install_prefix <build dir> <work dir>: install Switchboard from a build tree into
#   a fresh <work dir>/prefix; sets `prefix`.
# build_plugin <project dir> <work dir>: build a plugin project out of tree
#   against $prefix into <work dir>/plugin; sets `plugin_build`.
install_prefix() {
  rm -rf "$2"
  mkdir -p "$2"
  prefix="$2/prefix"
  cmake --install "$1" --prefix "$prefix" >/dev/null
}
build_plugin() {
  plugin_build="$2/plugin"
  cmake -S "$1" -B "$plugin_build" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$plugin_build"
}

# listening_port <stdout file> <log file> <what>: waits (10 s) for the
#   "switchboard listening on" line a server prints and sets `port`; fails with the
#   log otherwise.
listening_port() {
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's|^switchboard listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$1")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  cat "$2" >&2
  echo "$3 did not start" >&2
  return 1
}

# free_port [first]: a loopback TCP port nothing answers on (from first, default 18830).
free_port() {
  local p
  for p in $(seq "${1:-18830}" 65000); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}
