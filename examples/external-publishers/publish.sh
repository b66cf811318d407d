#!/usr/bin/env bash
# Push an event to Switchboard's browsers with nothing but bash: it opens
# /dev/tcp/HOST/PORT and writes one raw RESP PUBLISH command (or, with
# SS_BROKER=nats, one NATS PUB), so it works on a machine without redis-cli,
# Python or any client library.
#
#   publish.sh all                    EVENT [ARG...]
#   publish.sh channel NAME[,NAME...] EVENT [ARG...]
#   publish.sh user    ID[,ID...]     EVENT [ARG...]
#   publish.sh socket  SOCKET_ID      EVENT [ARG...]
#   publish.sh raw     'JSON'                       (publish a message you wrote)
#
#   publish.sh all chat.broadcast '{"from":"ops","text":"deploy at 18:00"}'
#
# Each ARG is one handler argument written as JSON ('{"from":"ops"}', 42, true,
# '"a string"'); an ARG that does not look like JSON (a bare word) is sent as a
# string. The JSON is not validated here: the servers drop malformed messages.
# It prints the number of subscribers Redis reports (the number of server
# processes that received the message; 0 means nobody got it). NATS does not
# report that: it prints "sent" once the server answered the PING sent after
# the PUB (so it has processed it).
#
# With SS_BROKER=kafka it hands the message to kcat (Kafka's protocol is binary:
# no /dev/tcp one-liner), which prints nothing; publish.sh prints "sent" once the
# broker acknowledged the record.
#
# Environment: SS_BROKER (redis, nats or kafka); REDIS_HOST (127.0.0.1), REDIS_PORT
# (6379), SS_CHANNEL (ss:event: the servers' `redis.channel`), REDIS_PASSWORD and
# REDIS_USERNAME (AUTH); NATS_HOST (127.0.0.1), NATS_PORT (4222), SS_SUBJECT
# (ss.event: the servers' `nats.subject`), NATS_USER and NATS_PASSWORD, or NATS_TOKEN;
# KAFKA_BROKERS (127.0.0.1:9092, comma-separated), SS_TOPIC (ss.event: the servers'
# `kafka.topic`), KAFKA_PROPERTIES (space-separated librdkafka name=value: SASL, TLS).
#
# The wire format, for the record: a command is an array of bulk strings, each
# prefixed by its length in bytes:
#   *3\r\n $7\r\nPUBLISH\r\n $8\r\nss:event\r\n $<bytes>\r\n<message>\r\n
# and Redis answers ":<subscribers>\r\n" (or "-ERR ...\r\n"). NATS, after its
# "INFO {...}" line:  CONNECT {...}\r\n PUB ss.event <bytes>\r\n<message>\r\n PING\r\n
# and it answers PONG (or "-ERR '...'").
set -euo pipefail
shopt -s inherit_errexit  # a failing $(...) inside a function stops it too

SS_BROKER=${SS_BROKER:-redis}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
SS_CHANNEL=${SS_CHANNEL:-ss:event}
NATS_HOST=${NATS_HOST:-127.0.0.1}
NATS_PORT=${NATS_PORT:-4222}
SS_SUBJECT=${SS_SUBJECT:-ss.event}
KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
SS_TOPIC=${SS_TOPIC:-ss.event}

usage() {
  cat >&2 <<'EOF'
usage: publish.sh all|channel|user|socket ...
  publish.sh all                    EVENT [ARG...]
  publish.sh channel NAME[,NAME...] EVENT [ARG...]
  publish.sh user    ID[,ID...]     EVENT [ARG...]
  publish.sh socket  SOCKET_ID      EVENT [ARG...]
  publish.sh raw     'JSON'
ARG: a JSON value ('{"a":1}', 42, true, '"text"'); a bare word is a string.
env: SS_BROKER=redis REDIS_HOST=127.0.0.1 REDIS_PORT=6379 SS_CHANNEL=ss:event REDIS_PASSWORD= REDIS_USERNAME=
     SS_BROKER=nats NATS_HOST=127.0.0.1 NATS_PORT=4222 SS_SUBJECT=ss.event NATS_USER= NATS_PASSWORD= NATS_TOKEN=
     SS_BROKER=kafka KAFKA_BROKERS=127.0.0.1:9092 SS_TOPIC=ss.event KAFKA_PROPERTIES='name=value ...' (needs kcat)
EOF
  exit 2
}

die() { echo "publish.sh: $1" >&2; exit "${2:-2}"; }

# --- the message (same rules as redis-cli.sh) --------------------------------

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

json_value() {
  local v=$1 number='^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$'
  if [[ $v == \{* || $v == \[* || $v == \"* || $v == true || $v == false || $v == null \
        || $v =~ $number ]]; then
    printf '%s' "$v"
  else
    json_string "$v"
  fi
}

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

json_args() {
  local out='' a
  for a in "$@"; do out+=${out:+,}$(json_value "$a"); done
  printf '[%s]' "$out"
}

# --- RESP over /dev/tcp -------------------------------------------------------

# The length of $1 in bytes (not characters).
byte_length() {
  local LC_ALL=C
  printf '%s' "${#1}"
}

# Writes one command (its arguments as bulk strings) to fd 3.
resp_send() {
  local frame="*$#"$'\r\n' a
  for a in "$@"; do frame+="\$$(byte_length "$a")"$'\r\n'"$a"$'\r\n'; done
  printf '%s' "$frame" >&3
}

# Reads one reply line from fd 3 into REPLY (without the \r).
resp_read() {
  IFS= read -r -t 5 REPLY <&3 || die "no reply from Redis at $REDIS_HOST:$REDIS_PORT" 1
  REPLY=${REPLY%$'\r'}
  [[ $REPLY != -* ]] || die "Redis: ${REPLY#-}" 1
}

[[ $# -ge 1 ]] || usage
kind=$1
shift
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

# --- NATS text protocol over /dev/tcp ------------------------------------------

nats_publish() {
  # A space would turn the rest into PUB's reply-to field: refuse it here.
  [[ -n $SS_SUBJECT && $SS_SUBJECT != *[[:space:]]* ]] || die "SS_SUBJECT '$SS_SUBJECT' is empty or has whitespace"
  { exec 3<>"/dev/tcp/$NATS_HOST/$NATS_PORT"; } 2>/dev/null ||
    die "cannot connect to NATS at $NATS_HOST:$NATS_PORT" 1
  IFS= read -r -t 5 REPLY <&3 || die "no INFO line from NATS at $NATS_HOST:$NATS_PORT" 1
  [[ $REPLY == INFO* ]] || die "not a NATS server at $NATS_HOST:$NATS_PORT: ${REPLY:0:40}" 1
  local connect='{"verbose":false,"pedantic":false,"name":"publish.sh"'
  [[ -n ${NATS_USER:-} ]] &&
    connect+=",\"user\":$(json_string "$NATS_USER"),\"pass\":$(json_string "${NATS_PASSWORD:-}")"
  [[ -n ${NATS_TOKEN:-} ]] && connect+=",\"auth_token\":$(json_string "$NATS_TOKEN")"
  connect+='}'
  printf 'CONNECT %s\r\nPUB %s %s\r\n%s\r\nPING\r\n' "$connect" "$SS_SUBJECT" "$(byte_length "$msg")" "$msg" >&3
  while IFS= read -r -t 5 REPLY <&3; do
    REPLY=${REPLY%$'\r'}
    case $REPLY in
      PONG) exec 3>&-; echo sent; return 0 ;;
      PING) printf 'PONG\r\n' >&3 ;;
      -ERR*) die "NATS: ${REPLY#-ERR }" 1 ;;
    esac
  done
  die "no reply from NATS at $NATS_HOST:$NATS_PORT" 1
}

# --- Kafka: kcat (Debian: apt-get install kcat) -----------------------------------

kafka_publish() {
  command -v kcat >/dev/null || die "SS_BROKER=kafka needs kcat (Debian: apt-get install kcat)" 1
  # One record per line: the JSON built above has no raw newline (json_string
  # escapes them); a raw message must not have one either.
  [[ $msg != *$'\n'* ]] || die "a Kafka message here is one line: remove the newlines"
  local props=()
  [[ -n ${KAFKA_PROPERTIES:-} ]] && for p in $KAFKA_PROPERTIES; do props+=(-X "$p"); done
  # kcat waits for the broker's acknowledgement before it exits, and exits 1 when
  # the record was not delivered.
  printf '%s\n' "$msg" | kcat -P -b "$KAFKA_BROKERS" -t "$SS_TOPIC" -X message.timeout.ms=10000 "${props[@]}" ||
    die "kcat could not deliver to $SS_TOPIC at $KAFKA_BROKERS" 1
  echo sent
}

case $SS_BROKER in
  redis) ;;
  nats) nats_publish; exit 0 ;;
  kafka) kafka_publish; exit 0 ;;
  *) die "SS_BROKER must be redis, nats or kafka, not '$SS_BROKER'" ;;
esac

{ exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT"; } 2>/dev/null ||
  die "cannot connect to Redis at $REDIS_HOST:$REDIS_PORT" 1
if [[ -n ${REDIS_PASSWORD:-} ]]; then
  if [[ -n ${REDIS_USERNAME:-} ]]; then
    resp_send AUTH "$REDIS_USERNAME" "$REDIS_PASSWORD"
  else
    resp_send AUTH "$REDIS_PASSWORD"
  fi
  resp_read
fi
resp_send PUBLISH "$SS_CHANNEL" "$msg"
resp_read
exec 3>&-
[[ $REPLY == :* ]] || die "unexpected reply from Redis: $REPLY" 1
echo "${REPLY#:}"
[[ ${REPLY#:} != 0 ]] ||
  echo "publish.sh: warning: no server is subscribed to '$SS_CHANNEL'; the event reached nobody" >&2
