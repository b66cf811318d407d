// base64url without padding (RFC 4648 §5, RFC 7515 §2): claim tokens and signed
// tokens (JWT) in URLs and headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::session {

std::string base64url(const unsigned char* bytes, size_t n);
// Strict: only the 64 URL-safe characters, no padding, no impossible length,
// unused trailing bits zero (one text per byte string); nullopt otherwise.
std::optional<std::string> unbase64url(std::string_view text);

}  // namespace switchboard::session
