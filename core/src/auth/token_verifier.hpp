// Token authentication (docs/protocol.md "Token authentication"): verifies the
// signed token (a JWS compact JWT) a client without the session cookie passes at
// connect, and reads who it is from it.
//
// Accepted: `alg` HS256 (config token.hs256_secrets), RS256 and ES256
// (token.public_keys); anything else, `none` included, is refused. Claims: `sub`
// (the user id, required), `exp` (required), `nbf`, `iat`, `iss` and `aud`
// (checked when configured), `channels` (optional initial channels). Every
// failure is a TokenError naming the reason; none throws.
// Thread-safe: verify() is const and the keys are immutable after construction.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.hpp"

namespace switchboard::auth {

// The longest token accepted, in bytes (query parameter or header alike).
constexpr size_t kMaxTokenBytes = 8192;

struct TokenClaims {
  std::string user;                   // `sub`
  std::vector<std::string> channels;  // `channels` (may be empty)
  int64_t expires_s = 0;              // `exp`, seconds since the epoch
};

struct TokenError {
  bool expired = false;  // `exp` (+ leeway) has passed: close 4402; otherwise 4401
  std::string why;       // for the close reason: short, no token bytes
};

class TokenVerifier {
 public:
  // Reads the public keys' PEM files; throws ConfigError naming the file
  // and the problem (unreadable, not a public key, an RSA key under 2048 bits, an
  // EC key not on P-256).
  explicit TokenVerifier(const config::Settings& settings);
  ~TokenVerifier();
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  bool enabled() const { return settings_.token.enabled(); }
  // Verifies token at now_s (seconds since the epoch).
  std::variant<TokenClaims, TokenError> verify(std::string_view token, int64_t now_s) const;

 private:
  struct Key;
  bool signature_ok(std::string_view alg, std::string_view signed_part,
                    const std::string& signature) const;

  const config::Settings& settings_;
  std::vector<std::unique_ptr<Key>> keys_;  // public keys
};

}  // namespace switchboard::auth
