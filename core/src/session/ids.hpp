// Session and socket identifiers, the bus routing key, and cookie parsing.
// All functions are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::session {

// Wall-clock time in Unix ms: for values other servers read (claim tokens, the
// user index).
inline int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// n random bytes from the OS CSPRNG (OpenSSL RAND_bytes), as lower-case hex.
std::string random_hex(size_t n);

// A new session id: 128 random bits, 32 hex characters.
inline std::string new_session_id() { return random_hex(16); }
// A new socket id: 64 random bits, 16 hex characters.
inline std::string new_socket_id() { return random_hex(8); }

// The shape of an id this server issues (32 lower-case hex characters).
bool well_formed_session_id(std::string_view id);

// The key that names a session on the bus: HMAC-SHA256(secret, id), 128 bits in
// hex. The raw session id never travels on the bus.
std::string routing_key(std::string_view secret, std::string_view session_id);

// The session cookie's value: "<id>.<sig>", sig = the first 128 bits of
// HMAC-SHA256(secret, "sb.cookie:" + id) in hex. The label keeps the signature
// distinct from routing_key(), which travels on the bus. The signature lets a
// server tell an id it issued from one a client made up, without a store look-up.
std::string sign_session_id(std::string_view secret, std::string_view id);

// The id inside a signed cookie value, if its shape and signature are right
// (constant-time comparison). Old unsigned ids and forgeries give nullopt.
std::optional<std::string> verify_session_cookie(std::string_view secret, std::string_view value);

// The store id of a user's session index (session/user_index.hpp): "user-" and
// the first 128 bits of HMAC-SHA256(secret, "sb.user:" + user) in hex. Never a
// well-formed session id, so no cookie can name it.
std::string user_index_id(std::string_view secret, std::string_view user);

// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace switchboard::session
