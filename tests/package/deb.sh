#!/usr/bin/env bash
# The Debian package, built and used as an operator would (docs/packages.md):
#   deb.sh BUILD_DIR WORK_DIR VERSION
# 1. cpack -G DEB on the build tree (into WORK_DIR/out);
# 2. the .deb's control fields, maintainer scripts, conffiles and contents; the
#    scripts' real-system branch with stubbed tools (maintainer_scripts.sh);
# 3. its dependencies resolve on this machine (apt-get --simulate; ldd of every
#    ELF file it ships);
# 4. dpkg installs it into a throwaway root (WORK_DIR/root, an empty dpkg
#    database; maintainer scripts run for real with DPKG_ROOT, no chroot): the
#    user, the state folder, the conffile;
# 5. the unit passes `systemd-analyze verify`; its ExecStart, paths moved into
#    the root, serves with the installed config: /healthz, /switchboard.js, a
#    WebSocket receives an event published by the installed `switchboard
#    publish`; SIGTERM ends it with exit 0;
# 6. an edited conffile survives a reinstall; remove keeps it, purge removes it
#    and /var/lib/switchboard.
# systemd is not PID 1 here: the unit is verified and its command run, not
# started by systemd.
set -euo pipefail

build="$(realpath "$1")"; work="$(realpath -m "$2")"; version="$3"
here="$(cd "$(dirname "$0")" && pwd)"
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

server_pid=""; client_pid=""
cleanup() {
  for p in $client_pid $server_pid; do kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

rm -rf "$work"; mkdir -p "$work/out"
cd "$work"
start=$(date +%s)

# ---- 1. the package ---------------------------------------------------------
step "cpack -G DEB"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
shopt -s nullglob
debs=("$work"/out/switchboard_*.deb)
[ "${#debs[@]}" = 1 ] || fail "expected one switchboard_*.deb in $work/out, found: ${debs[*]-none}"
deb="${debs[0]}"
arch="$(dpkg --print-architecture)"
[ "$(basename "$deb")" = "switchboard_${version}-1_${arch}.deb" ] ||
  fail "package file name $(basename "$deb"), expected switchboard_${version}-1_${arch}.deb"
echo "$deb ($(du -h "$deb" | cut -f1))"

# ---- 2. control fields, scripts, contents -----------------------------------
step "control fields"
dpkg-deb -I "$deb"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = switchboard ] || fail "Package: $(field Package)"
[ "$(field Version)" = "${version}-1" ] || fail "Version: $(field Version), expected ${version}-1"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ "$(field Section)" = net ] || fail "Section: $(field Section)"
[ "$(field Priority)" = optional ] || fail "Priority: $(field Priority)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
depends="$(field Depends)"
# What dpkg-shlibdeps must have found: the server's and each broker plugin's libraries.
for lib in libc6 libstdc++6 libboost-json libyaml-cpp libssl3 libhiredis libnats librdkafka passwd; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

step "maintainer scripts and conffiles"
mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
for s in postinst prerm postrm; do
  [ -x "$work/control/$s" ] || fail "no executable $s in the package"
  sh -n "$work/control/$s" || fail "$s: syntax error"
done
[ "$(cat "$work/control/conffiles")" = /etc/switchboard/switchboard.yaml ] ||
  fail "conffiles: $(cat "$work/control/conffiles")"

step "maintainer scripts on a real system (stubbed account and systemd tools, private mounts)"
set +e
"$here/maintainer_scripts.sh" "$work/control" "$work/maintainer-scripts"
rc=$?
set -e
[ "$rc" = 0 ] || [ "$rc" = 77 ] || fail "the maintainer scripts' real-system branch (above)"

step "contents"
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$work/contents"
for f in /usr/bin/switchboard /usr/bin/switchboard-conformance \
         /usr/lib/switchboard/plugins/libswitchboard_memory.so \
         /usr/lib/switchboard/plugins/libswitchboard_redis.so \
         /usr/lib/switchboard/plugins/libswitchboard_nats.so \
         /usr/lib/switchboard/plugins/libswitchboard_kafka.so \
         /usr/include/switchboard/abi.h /usr/include/switchboard/plugin.hpp \
         /usr/include/switchboard/transport.hpp /usr/include/switchboard/session_store.hpp \
         /usr/include/switchboard/switchboard.hpp /usr/include/switchboard/server.hpp \
         /usr/lib/libswitchboard_core.a /usr/lib/libswitchboard_host.a \
         /usr/lib/cmake/Switchboard/SwitchboardConfig.cmake \
         /usr/lib/cmake/Switchboard/SwitchboardConfigVersion.cmake \
         /usr/lib/cmake/Switchboard/SwitchboardTargets.cmake \
         /usr/lib/cmake/Switchboard/SwitchboardPlugin.cmake \
         /usr/share/switchboard/template/CMakeLists.txt \
         /lib/systemd/system/switchboard.service \
         /etc/switchboard/switchboard.yaml \
         /usr/share/doc/switchboard/packages.md; do
  grep -qxF "$f" "$work/contents" || fail "$f is not in the package"
done
# Nothing outside the FHS places a package may use.
if grep -vE '^/(usr|etc|lib)(/|$)|^/$' "$work/contents"; then fail "files outside /usr, /etc, /lib (above)"; fi

# ---- 3. dependencies ----------------------------------------------------------
step "dependencies resolve (apt-get install --simulate)"
if ! apt-get install --simulate -o Debug::NoLocking=1 "$deb" >"$work/apt.log" 2>&1; then
  cat "$work/apt.log"; fail "apt cannot install the package's dependencies"
fi
grep -E '^(Inst|Conf) ' "$work/apt.log" || true
grep -q '^Inst switchboard ' "$work/apt.log" || { cat "$work/apt.log"; fail "apt would not install switchboard"; }

# ---- 4. install into a clean root -------------------------------------------
step "dpkg --root (a throwaway root, empty database)"
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" "$root/etc"
: >"$root/var/lib/dpkg/status"; : >"$root/var/lib/dpkg/available"
# The account files of a fresh system, so useradd --prefix has something to edit.
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
printf 'root:*::\n' >"$root/etc/gshadow"
chmod 640 "$root/etc/shadow" "$root/etc/gshadow"
[ -f /etc/login.defs ] && cp /etc/login.defs "$root/etc/"
# --force-depends: the root's database is empty; step 3 checked the dependencies
# against this machine, where the installed files run below.
dpkg_root() { dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root "$@"; }
dpkg_root -i "$deb" 2>&1 | tee "$work/dpkg-install.log"
[ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' switchboard)" = "install ok installed" ] ||
  fail "switchboard is not 'install ok installed' in the root"
grep -q '^switchboard:x:[0-9]*:[0-9]*:[^:]*:/var/lib/switchboard:/usr/sbin/nologin$' "$root/etc/passwd" ||
  fail "postinst did not create the switchboard system user: $(cat "$root/etc/passwd")"
grep -q '^switchboard:' "$root/etc/group" || fail "postinst did not create the switchboard group"
uid="$(awk -F: '$1=="switchboard"{print $3}' "$root/etc/passwd")"
[ "$uid" -lt 1000 ] || fail "switchboard's uid $uid is not a system uid"
[ -d "$root/var/lib/switchboard" ] || fail "postinst did not create /var/lib/switchboard"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}\n' switchboard | grep -q /etc/switchboard/switchboard.yaml ||
  fail "dpkg did not record /etc/switchboard/switchboard.yaml as a conffile"

step "ldd: every ELF file the package installed finds its libraries"
for f in "$root"/usr/bin/* "$root"/usr/lib/switchboard/plugins/*.so; do
  ldd "$f" >"$work/ldd.log" 2>&1 || { cat "$work/ldd.log"; fail "ldd $f"; }
  if grep 'not found' "$work/ldd.log"; then fail "$f: a library is missing"; fi
  echo "ok: ${f#"$root"}"
done

# ---- 5. the unit, and its command -------------------------------------------
unit="$root/lib/systemd/system/switchboard.service"
step "the unit"
cat "$unit"
grep -qx 'User=switchboard' "$unit" || fail "the unit does not run as switchboard"
grep -qx 'Restart=on-failure' "$unit" || fail "the unit has no Restart=on-failure"
nofile="$(sed -n 's/^LimitNOFILE=//p' "$unit")"
max_conn="$(sed -n 's/^ *max_connections: *//p' "$root/etc/switchboard/switchboard.yaml")"
[ -n "$nofile" ] && [ "$nofile" -gt "${max_conn:-10000}" ] ||
  fail "LimitNOFILE=$nofile is not above limits.max_connections (${max_conn:-10000})"

# ExecStart, each absolute path that exists in the root moved into it.
exec_line="$(sed -n 's/^ExecStart=[-@:+!]*//p' "$unit")"
[ "$(wc -l <<<"$exec_line")" = 1 ] && [ -n "$exec_line" ] || fail "one ExecStart expected"
cmd=()
for word in $exec_line; do
  if [[ "$word" == /* ]] && [ -e "$root$word" ]; then cmd+=("$root$word"); else cmd+=("$word"); fi
done
[ "${cmd[0]}" = "$root/usr/bin/switchboard" ] || fail "ExecStart does not run /usr/bin/switchboard: $exec_line"
echo "ExecStart in the root: ${cmd[*]}"

if command -v systemd-analyze >/dev/null; then
  # The unit as installed, its ExecStart moved into the root (verify checks the
  # program exists and is executable); any message fails (an unknown key or a
  # bad value is only a warning to systemd).
  mkdir -p "$work/verify"
  sed "s|^ExecStart=.*|ExecStart=${cmd[*]}|" "$unit" >"$work/verify/switchboard.service"
  if ! systemd-analyze verify --man=no "$work/verify/switchboard.service" >"$work/verify.log" 2>&1 ||
     [ -s "$work/verify.log" ]; then
    cat "$work/verify.log"; fail "systemd-analyze verify"
  fi
  echo "systemd-analyze verify: ok"
else
  echo "SKIPPED: systemd-analyze verify (no systemd-analyze: package systemd is not installed)"
fi

step "the installed config validates (check-config, plugins found beside the installed binary)"
config="$root/etc/switchboard/switchboard.yaml"
env -i PATH=/usr/bin:/bin "$root/usr/bin/switchboard" check-config --config "$config" >"$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "check-config refused the installed config"; }
cat "$work/check.log"

step "the server without its plugins refuses to start (the plugins below are the root's)"
set +e
mkdir -p "$work/no-plugins"
env -i PATH=/usr/bin:/bin SWITCHBOARD_PLUGINS_DIR="$work/no-plugins" SWITCHBOARD_SERVER_LISTEN=127.0.0.1:0 \
  timeout 20 "${cmd[@]}" >"$work/noplugins.log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$work/noplugins.log"; fail "serve with an empty plugins.dir exited $rc, expected 1"; }
echo "exit 1: $(tail -n1 "$work/noplugins.log")"

step "serve, as the unit does"
key=package-test-key-0123456789
# The unit's LimitNOFILE, when this shell may raise its limit that far.
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$nofile" ]; then nofile_cmd=(prlimit --nofile="$nofile"); else
  echo "note: the hard open-file limit here is $(ulimit -Hn) < LimitNOFILE=$nofile, and may not be raised; running with it"
  nofile_cmd=(); fi
# The unit's User= and NoNewPrivileges=: as root, the server runs as `nobody`
# (the switchboard user exists in the root only) under no_new_privs, when
# nobody can reach the installed files (a build tree below a 0700 folder cannot).
user_cmd=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
  drop=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups --no-new-privs)
  if "${drop[@]}" test -x "${cmd[0]}" -a -r "$config" -a -r "$root/usr/lib/switchboard/plugins/libswitchboard_memory.so"; then
    user_cmd=("${drop[@]}"); chown nobody "$root/var/lib/switchboard"
    echo "running as nobody, no_new_privs"
  else
    echo "note: nobody cannot read the installed files here (a private parent folder); running as $(id -un)"
  fi
else
  echo "note: running as $(id -un) (not root: no user to switch to)"
fi
(cd "$root/var/lib/switchboard" &&
 exec env -i PATH=/usr/bin:/bin HOME=/var/lib/switchboard \
   SWITCHBOARD_PLUGINS_DIR="$root/usr/lib/switchboard/plugins" \
   SWITCHBOARD_SERVER_LISTEN=127.0.0.1:0 SWITCHBOARD_API_KEYS="[$key]" \
   "${nofile_cmd[@]}" "${user_cmd[@]}" "${cmd[@]}" >"$work/serve.out" 2>"$work/serve.err") &
server_pid=$!
port=""
for _ in $(seq 100); do
  port="$(sed -n 's|^switchboard listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$work/serve.out")"
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err"; fail "the server exited at start-up"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.out" "$work/serve.err"; fail "no 'switchboard listening on' line within 10 s"; }
echo "listening on 127.0.0.1:$port (pid $server_pid, user $(stat -c %U "/proc/$server_pid"))"
if [ "${#user_cmd[@]}" -gt 0 ]; then
  [ "$(stat -c %U "/proc/$server_pid")" = nobody ] || fail "the server does not run as nobody"
fi

health="$(curl -sS --max-time 5 -w '\n%{http_code}' "http://127.0.0.1:$port/healthz")"
echo "/healthz: $health"
[ "$(tail -n1 <<<"$health")" = 200 ] || fail "/healthz is not 200"
grep -q '"status":"ok"' <<<"$health" || fail "/healthz status is not ok"
grep -q '"plugin":"memory"' <<<"$health" || fail "/healthz does not name the memory transport"

js_code="$(curl -sS --max-time 5 -o "$work/switchboard.js" -w '%{http_code} %{content_type}' "http://127.0.0.1:$port/switchboard.js")"
echo "/switchboard.js: $js_code, $(wc -c <"$work/switchboard.js") bytes"
[[ "$js_code" == "200 "*javascript* ]] || fail "/switchboard.js: $js_code"
[ -s "$work/switchboard.js" ] || fail "/switchboard.js is empty"
metrics_code="$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")"
[ "$metrics_code" = 200 ] || fail "/metrics: $metrics_code"

step "a WebSocket receives what the installed 'switchboard publish' sends"
python3 "$here/ws_wait_event.py" "$port" fromPackage "$work/ws.ready" >"$work/ws.out" 2>"$work/ws.err" &
client_pid=$!
for _ in $(seq 100); do [ -e "$work/ws.ready" ] && break; kill -0 "$client_pid" 2>/dev/null || break; sleep 0.1; done
[ -e "$work/ws.ready" ] || { cat "$work/ws.err"; fail "the WebSocket got no ready"; }
env -i PATH=/usr/bin:/bin SWITCHBOARD_API_KEY="$key" \
  "$root/usr/bin/switchboard" publish --url "http://127.0.0.1:$port" all fromPackage '"hello from the .deb"' ||
  fail "switchboard publish --url failed"
wait "$client_pid" || { cat "$work/ws.err"; fail "the WebSocket did not receive the event"; }
client_pid=""
cat "$work/ws.out"
grep -q '"p":\["hello from the .deb"\]' "$work/ws.out" || fail "unexpected event: $(cat "$work/ws.out")"

step "SIGTERM"
t0=$(date +%s)
kill -TERM "$server_pid"
set +e
for _ in $(seq 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$server_pid" 2>/dev/null && fail "the server still runs 15 s after SIGTERM"
wait "$server_pid"; rc=$?
set -e
server_pid=""
echo "exit $rc after $(( $(date +%s) - t0 )) s"
[ "$rc" = 0 ] || { cat "$work/serve.err"; fail "the server exited $rc after SIGTERM, expected 0"; }

# ---- 6. upgrade, remove, purge ----------------------------------------------
step "reinstall keeps an edited conffile"
echo "# edited by the administrator" >>"$config"
dpkg_root -i "$deb" >"$work/dpkg-reinstall.log" 2>&1 || { cat "$work/dpkg-reinstall.log"; fail "reinstall failed"; }
grep -q '^# edited by the administrator$' "$config" || fail "the reinstall replaced the edited conffile"

step "remove keeps the config; purge removes it and /var/lib/switchboard"
dpkg_root -r switchboard >"$work/dpkg-remove.log" 2>&1 || { cat "$work/dpkg-remove.log"; fail "dpkg -r failed"; }
[ ! -e "$root/usr/bin/switchboard" ] || fail "remove left /usr/bin/switchboard"
[ -f "$config" ] || fail "remove deleted the conffile"
[ -d "$root/var/lib/switchboard" ] || fail "remove deleted /var/lib/switchboard (only purge may)"
dpkg_root --purge switchboard >"$work/dpkg-purge.log" 2>&1 || { cat "$work/dpkg-purge.log"; fail "dpkg --purge failed"; }
[ ! -e "$config" ] || fail "purge left $config"
[ ! -e "$root/etc/switchboard" ] || fail "purge left /etc/switchboard"
[ ! -e "$root/var/lib/switchboard" ] || fail "purge left /var/lib/switchboard"
if find "$root/usr" "$root/lib" -type f 2>/dev/null | grep .; then fail "purge left files (above)"; fi

echo; echo "package test passed in $(( $(date +%s) - start )) s"
