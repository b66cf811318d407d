#!/usr/bin/env bash
# Push an event to Switchboard's browsers with redis-cli: one PUBLISH of the v1
# JSON message (docs/external-publishing.md) on the servers' bus channel.
#
# The one-liners this script runs (copy them as they are; $REDIS_HOST etc. below):
#
#   everyone:          redis-cli -h 127.0.0.1 -p 6379 PUBLISH ss:event '{"t":"all","e":"flash","p":["Notice"]}'
#   one channel:       redis-cli -h 127.0.0.1 -p 6379 PUBLISH ss:event '{"t":"channel","channels":["disney"],"e":"chatMessage","p":[{"from":"jerry","text":"hi"}]}'
#   several channels:  redis-cli -h 127.0.0.1 -p 6379 PUBLISH ss:event '{"t":"channel","channels":["disney","pixar"],"e":"chatMessage","p":[{"from":"jerry","text":"hi"}]}'
#   one user:          redis-cli -h 127.0.0.1 -p 6379 PUBLISH ss:event '{"t":"user","users":["fred"],"e":"specialOffer","p":["Just for you"]}'
#   several users:     redis-cli -h 127.0.0.1 -p 6379 PUBLISH ss:event '{"t":"user","users":["fred","wilma"],"e":"specialOffer","p":["Just for you"]}'
#   one tab:           redis-cli -h 127.0.0.1 -p 6379 PUBLISH ss:event '{"t":"socketId","socketId":"254987654324567","e":"justForMe","p":["Just for one tab"]}'
#
# redis-cli answers with the number of subscribers that received the message:
# the number of Switchboard server processes on that Redis (0: nobody got it).
#
# As a script, it builds the message for you:
#
#   redis-cli.sh all                    EVENT [ARG...]
#   redis-cli.sh channel NAME[,NAME...] EVENT [ARG...]
#   redis-cli.sh user    ID[,ID...]     EVENT [ARG...]
#   redis-cli.sh socket  SOCKET_ID      EVENT [ARG...]
#   redis-cli.sh raw     'JSON'                      (publish a message you wrote)
#
# Each ARG is one handler argument, written as JSON ('{"from":"ops"}', 42, true,
# '"a string"'); an ARG that does not look like JSON (a bare word such as hello)
# is sent as a string. This script does not validate JSON: the servers do, and
# drop a malformed message (docs/external-publishing.md, "Malformed messages").
#
# Environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), SS_CHANNEL (ss:event:
# the servers' `redis.channel`), REDISCLI_AUTH (a password; read by redis-cli
# itself), DRY_RUN=1 (print the command instead of running it).
set -euo pipefail
shopt -s inherit_errexit  # a failing $(...) inside a function stops it too

REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
SS_CHANNEL=${SS_CHANNEL:-ss:event}

usage() {
  cat >&2 <<'EOF'
usage: redis-cli.sh all|channel|user|socket ...
  redis-cli.sh all                    EVENT [ARG...]
  redis-cli.sh channel NAME[,NAME...] EVENT [ARG...]
  redis-cli.sh user    ID[,ID...]     EVENT [ARG...]
  redis-cli.sh socket  SOCKET_ID      EVENT [ARG...]
  redis-cli.sh raw     'JSON'
ARG: a JSON value ('{"a":1}', 42, true, '"text"'); a bare word is a string.
env: REDIS_HOST=127.0.0.1 REDIS_PORT=6379 SS_CHANNEL=ss:event REDISCLI_AUTH= DRY_RUN=
EOF
  exit 2
}

die() { echo "redis-cli.sh: $*" >&2; exit 2; }

# A JSON string literal for $1. Refuses control characters other than \n \r \t.
json_string() {
  local s=$1
  [[ $s == *[$'\001'-$'\010\013\014\016'-$'\037']* ]] && die "control character in \"$1\""
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# One argument as a JSON value: objects, arrays, strings, numbers, true, false
# and null are taken as written; anything else becomes a JSON string.
json_value() {
  local v=$1 number='^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$'
  if [[ $v == \{* || $v == \[* || $v == \"* || $v == true || $v == false || $v == null \
        || $v =~ $number ]]; then
    printf '%s' "$v"
  else
    json_string "$v"
  fi
}

# NAME[,NAME...] as a JSON array of strings.
json_names() {
  local IFS=, names=() out='' n
  read -r -a names <<<"$1"
  for n in "${names[@]}"; do
    [[ -n $n ]] || continue
    out+=${out:+,}$(json_string "$n")
  done
  [[ -n $out ]] || die "no name in \"$1\""
  printf '[%s]' "$out"
}

# The "p" array from the remaining arguments.
json_args() {
  local out='' a
  for a in "$@"; do out+=${out:+,}$(json_value "$a"); done
  printf '[%s]' "$out"
}

[[ $# -ge 1 ]] || usage
kind=$1
shift
# Each piece on its own line: a failing $(...) then stops the script (set -e).
case $kind in
  all)
    [[ $# -ge 1 && -n $1 ]] || usage
    e=$(json_string "$1"); shift
    p=$(json_args "$@")
    msg="{\"t\":\"all\",\"e\":$e,\"p\":$p}" ;;
  channel|user)
    [[ $# -ge 2 && -n $2 ]] || usage
    names=$(json_names "$1")
    e=$(json_string "$2"); shift 2
    p=$(json_args "$@")
    msg="{\"t\":\"$kind\",\"${kind}s\":$names,\"e\":$e,\"p\":$p}" ;;
  socket|socketId)
    [[ $# -ge 2 && -n $1 && -n $2 ]] || usage
    id=$(json_string "$1")
    e=$(json_string "$2"); shift 2
    p=$(json_args "$@")
    msg="{\"t\":\"socketId\",\"socketId\":$id,\"e\":$e,\"p\":$p}" ;;
  raw)
    [[ $# -eq 1 ]] || usage
    msg=$1 ;;
  *) usage ;;
esac

if [[ -n ${DRY_RUN:-} ]]; then
  q="'\\''"
  printf "redis-cli -h %s -p %s PUBLISH '%s' '%s'\n" "$REDIS_HOST" "$REDIS_PORT" \
    "${SS_CHANNEL//\'/$q}" "${msg//\'/$q}"
  exit 0
fi
command -v redis-cli >/dev/null || die "redis-cli not found (Debian: apt-get install redis-tools), or use publish.sh"
exec redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" PUBLISH "$SS_CHANNEL" "$msg"
