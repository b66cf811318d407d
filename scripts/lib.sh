# Shared helpers for the scripts in this folder. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# Build dependencies (Debian 12 packages only).
BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libboost1.81-dev libboost-json1.81-dev
  libyaml-cpp-dev libssl-dev libhiredis-dev libnats-dev librdkafka-dev)
# What the test suite needs on top.
TEST_PACKAGES=(catch2 chromium nodejs npm curl ca-certificates openssl mosquitto libmosquitto-dev redis-server redis-tools python3
  nats-server
  kcat default-jre-headless maven  # a real Kafka broker (tests/support/broker_ctl.sh kafka): Java 17, jars via Maven
  dpkg-dev systemd  # tests/package: dpkg-shlibdeps (cpack's Depends), systemd-analyze verify
  clang libclang-rt-14-dev)  # scripts/fuzz: clang 14 and its libFuzzer/ASan/UBSan runtimes

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the Debian packages that are missing (idempotent; apt-get update only
# when something is missing).
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    # nodejs/npm from Debian only when no node is on the PATH already.
    if command -v node >/dev/null && command -v npm >/dev/null; then
      local keep=()
      for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || keep+=("$p"); done
      missing=("${keep[@]+"${keep[@]}"}")
    fi
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# cmake_build <build dir> [cmake args...]: configure (once) and build.
cmake_build() {
  local dir="$1"; shift
  cmake -S "$ROOT" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -- -j"$(nproc)"
}
