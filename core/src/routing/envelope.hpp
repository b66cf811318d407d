// The bus envelope codec: SocketStream's JSON on the broker (product.md §3) plus
// the internal session-sync envelope. Decoding validates everything (size, depth,
// schema, target kind) because the bus is untrusted input: external publishers
// write to it too.
//
//   {"t":"all","e":"flash","p":["Notice"]}
//   {"t":"channel","channels":["disney"],"e":"chatMessage","p":[{...}]}
//   {"t":"user","users":["fred"],"e":"specialOffer","p":["..."]}
//   {"t":"socketId","socketId":"254987654324567","e":"justForMe","p":["..."]}
//   {"t":"_session","s":"<routing key>","u":"fred"|null,"ch":["disney"],"n":"<nonce>"}
//   (internal; "n" lets the announcing server see its own echo applied)
//   {"t":"_session","s":"<old key>","k":"<new key>","x":"<sealed new id>","u":…,"ch":[…],"n":…}
//   (a session-id rotation: connections of the old key move to the new one;
//   "x" is the new id sealed with the session secret, see session/claim_token.hpp)
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

#include "status/result.hpp"

namespace switchboard::routing {

// kIgnored: a well-formed envelope of an internal type this version does not
// know ("_something"), to be dropped silently (forward compatibility).
// kDisconnect: close the named connections (socketIds) or every connection of
// the named users, on every server ({"t":"_disconnect",…}, docs/http-api.md).
enum class Target { kAll, kChannel, kUser, kSocket, kSession, kDisconnect, kIgnored };

struct Envelope {
  Target target = Target::kAll;
  std::string event;                 // not for kSession
  std::string params_json;           // the "p" array, serialized once ("[]" if absent)
  std::vector<std::string> targets;  // channels, users or the one socketId; no duplicates
  // kSession: the full binding of one session after a change.
  std::string session_key;
  std::optional<std::string> user;
  std::vector<std::string> channels;
  std::string nonce;  // may be empty
  // kSession, a rotation only (else both empty): the session's new routing key
  // and its new id, sealed.
  std::string new_session_key;
  std::string sealed_id;
  // kDisconnect: targets are user ids ("users"), else socketIds ("socketIds"); may
  // the clients reconnect ("reconnect", default true).
  bool by_user = false;
  bool reconnect = true;
};

struct DecodeLimits {
  size_t max_bytes = 1 << 20;
  unsigned max_depth = 32;
  size_t channel_name_bytes = 1024;
  size_t user_id_bytes = 256;
  // Most names one message may list in "channels" / "users" (before de-duplication):
  // the work one message costs every server is linear in it.
  size_t max_targets = 1024;
};

// The envelope, or kInvalid with a message naming what is wrong (too many
// targets — limits.max_targets — and a non-finite number in "p" included). An
// internal type this version does not know decodes with target kIgnored.
Result<Envelope> decode_envelope(std::string_view bytes, const DecodeLimits& limits);

std::string encode_publish(Target target, const std::vector<std::string>& targets,
                           std::string_view event, const boost::json::array& params);
std::string encode_session_sync(std::string_view session_key, const std::optional<std::string>& user,
                                const std::vector<std::string>& channels,
                                std::string_view nonce = {});
// A rotation: the session known as old_key is now new_key (sealed_id: its new id,
// sealed), with this binding.
std::string encode_session_rotate(std::string_view old_key, std::string_view new_key,
                                  std::string_view sealed_id, const std::optional<std::string>& user,
                                  const std::vector<std::string>& channels, std::string_view nonce);

// {"t":"_disconnect","users"|"socketIds":[…],"reconnect":bool}
std::string encode_disconnect(bool by_user, const std::vector<std::string>& targets, bool reconnect);

// A channel name: non-empty, at most max_bytes (UTF-8 validity is checked by the
// JSON layer that carried it).
bool valid_channel_name(std::string_view name, size_t max_bytes);

}  // namespace switchboard::routing
