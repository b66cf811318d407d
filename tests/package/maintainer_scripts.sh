#!/usr/bin/env bash
# The maintainer scripts' branch for a real system (DPKG_ROOT empty), which the
# chrootless install in deb.sh does not take: run in a private mount namespace
# (unshare -m) where /run, /var/lib, /etc/passwd and /etc/group are throwaway
# copies, with the account and systemd tools replaced by stubs that record
# their arguments. Checked with and without a running systemd (/run/systemd/system).
#   maintainer_scripts.sh CONTROL_DIR WORK_DIR
# Exit 0: passed; 77: cannot make a mount namespace here (skipped); else failed.
set -euo pipefail
control="$(realpath "$1")"; work="$(realpath -m "$2")"
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$work"; mkdir -p "$work/stubs"
if ! unshare -m --propagation private true 2>/dev/null; then
  echo "SKIPPED: no mount namespace (unshare -m) here"; exit 77
fi
for tool in groupadd useradd chown deb-systemd-helper deb-systemd-invoke systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"$STUB_LOG"\nexit 0\n' "$tool" >"$work/stubs/$tool"
  chmod +x "$work/stubs/$tool"
done

# run_script SYSTEMD(yes|no) SCRIPT ARGS...: the log of the stubs it called.
run_script() {
  local systemd="$1" script="$2"; shift 2
  : >"$work/log"
  printf 'root:x:0:0:root:/root:/bin/bash\n' >"$work/passwd"
  printf 'root:x:0:\n' >"$work/group"
  unshare -m --propagation private env -u DPKG_ROOT STUB_LOG="$work/log" PATH="$work/stubs:/usr/sbin:/usr/bin:/sbin:/bin" \
    SYSTEMD="$systemd" STATE="$work/state" SCRIPT="$control/$script" PASSWD="$work/passwd" GROUP="$work/group" \
    sh -euc '
      mount -t tmpfs tmpfs /run
      [ "$SYSTEMD" = yes ] && mkdir -p /run/systemd/system
      mkdir -p "$STATE"; mount --bind "$STATE" /var/lib
      mount --bind "$PASSWD" /etc/passwd; mount --bind "$GROUP" /etc/group
      if [ -d /etc/switchboard ]; then mkdir -p "$STATE.etc"; mount --bind "$STATE.etc" /etc/switchboard; fi
      "$SCRIPT" "$@"' sh "$@" || fail "$script $* exited $?"
  cat "$work/log"
}
expect() { grep -qxF -- "$1" <<<"$log" || fail "$2: expected '$1' in: $log"; }
refuse() { ! grep -qF -- "$1" <<<"$log" || fail "$2: unexpected '$1' in: $log"; }

what="postinst configure (first install, systemd running)"
log="$(run_script yes postinst configure)"
expect "groupadd --system switchboard" "$what"
expect "useradd --system --gid switchboard --home-dir /var/lib/switchboard --no-create-home --shell /usr/sbin/nologin --comment Switchboard server switchboard" "$what"
expect "chown switchboard:switchboard /var/lib/switchboard" "$what"
expect "deb-systemd-helper enable switchboard.service" "$what"
expect "systemctl --system daemon-reload" "$what"
expect "deb-systemd-invoke start switchboard.service" "$what"
[ -d "$work/state/switchboard" ] || fail "$what: no /var/lib/switchboard"
echo "ok: $what"

what="postinst configure (first install, no systemd: a container or chroot)"
log="$(run_script no postinst configure)"
expect "useradd --system --gid switchboard --home-dir /var/lib/switchboard --no-create-home --shell /usr/sbin/nologin --comment Switchboard server switchboard" "$what"
expect "deb-systemd-helper enable switchboard.service" "$what"
refuse "systemctl" "$what"; refuse "deb-systemd-invoke" "$what"
echo "ok: $what"

what="postinst configure 0.0.9-1 (upgrade, systemd running)"
log="$(run_script yes postinst configure 0.0.9-1)"
expect "deb-systemd-invoke try-restart switchboard.service" "$what"
refuse "invoke start" "$what"
echo "ok: $what"

what="prerm remove (systemd running)"
log="$(run_script yes prerm remove)"
expect "deb-systemd-invoke stop switchboard.service" "$what"
echo "ok: $what"
what="prerm upgrade 0.2.0-1 (the new postinst restarts it)"
log="$(run_script yes prerm upgrade 0.2.0-1)"
refuse "stop" "$what"
echo "ok: $what"

what="postrm remove"
log="$(run_script yes postrm remove)"
expect "deb-systemd-helper mask switchboard.service" "$what"
[ -d "$work/state/switchboard" ] || fail "$what: removed /var/lib/switchboard (only purge may)"
echo "ok: $what"

what="postrm purge"
log="$(run_script yes postrm purge)"
expect "deb-systemd-helper purge switchboard.service" "$what"
[ ! -e "$work/state/switchboard" ] || fail "$what: /var/lib/switchboard is still there"
echo "ok: $what"
