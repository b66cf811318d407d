# Shared by the SDK tests: a plugin author's two steps.
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
