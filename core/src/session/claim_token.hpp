// Sealed values for session-id rotation (docs/protocol.md "Session id rotation").
//
// When a sign-in rotates the session id, two things must cross a boundary
// without trusting it:
//  - the new id, to every server's connections of the session, over the bus
//    (which external publishers write to, and which must never carry a raw id);
//  - the new cookie, to the browser, through a claim token that the calling
//    connection receives and redeems at GET /switchboard/session?claim=TOKEN on
//    any server of the deployment.
// Both are AES-256-GCM sealed with a key derived from the shared session secret,
// so any server can open them and nobody without the secret can forge or read
// them. Thread-safe (const after construction).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::session {

// AES-256-GCM with a key of HMAC-SHA256(secret, "switchboard.seal.v1." + purpose):
// one purpose's sealed values never open under another's.
class Sealer {
 public:
  Sealer(std::string_view secret, std::string_view purpose);

  // base64url(iv[12] | ciphertext | tag[16]), no padding; aad is authenticated,
  // not stored.
  std::string seal(std::string_view plaintext, std::string_view aad) const;
  // The plaintext, or nullopt when the token is malformed, forged or sealed with
  // another key, purpose or aad.
  std::optional<std::string> open(std::string_view token, std::string_view aad) const;

 private:
  std::array<unsigned char, 32> key_{};
};

// Longest token accepted for decoding (a real one is about 140 characters).
inline constexpr size_t kMaxClaimTokenChars = 512;

// A claim token: the new session id, its expiry (Unix ms) and a hash of the old
// id (the redeemer must present the old session's cookie).
std::string make_claim_token(const Sealer& sealer, std::string_view new_id,
                             std::string_view old_id, int64_t expires_unix_ms);

struct ClaimCheck {
  enum class Result { kOk, kMalformed, kExpired, kWrongSession } result = Result::kMalformed;
  std::string new_id;  // kOk only
};

ClaimCheck check_claim_token(const Sealer& sealer, std::string_view token,
                             std::string_view presented_old_id, int64_t now_unix_ms);

}  // namespace switchboard::session
