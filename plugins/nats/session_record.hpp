// How the NATS store keeps a session in a JetStream KV bucket: the key, and the
// value (JSON). Pure functions, unit-tested (tests/unit/nats_record_test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchboard/session_store.hpp"

namespace nats_plugin {

// The KV key of a session id: "s." + the id with every byte outside
// [A-Za-z0-9-] written as '_' and two upper-case hex digits (KV keys allow only
// [A-Za-z0-9._/=-]); the empty id is "s.=". Distinct ids give distinct keys.
std::string session_key(std::string_view id);

// A stored session: the record and when it expires (wall clock, ms since the
// Unix epoch; the bucket has no per-key TTL, so every write carries its own).
struct StoredSession {
  switchboard::SessionRecord record;
  int64_t expires_ms = 0;
};

// {"e":<expires>,"u":"<user>","c":["<channel>",...],"d":{"<key>":"<JSON text>",...}}
// ("u" absent when signed out). Data values are kept as strings, byte-exact.
std::string encode_session(const StoredSession& s);
// nullopt when the bytes are not a value encode_session wrote.
std::optional<StoredSession> decode_session(std::string_view bytes);

}  // namespace nats_plugin
