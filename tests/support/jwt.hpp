// Signed tokens for the tests of token authentication (docs/protocol.md "Token
// authentication"): base64url and the JWS compact form, HS256 with OpenSSL's
// HMAC. Header-only; RS256 / ES256 signers live with the tests that make keys.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace switchboard::test {

// base64url without padding (RFC 7515 §2).
inline std::string b64url(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

inline std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// header.payload.signature, the signature being sign(header.payload).
inline std::string jwt(std::string_view header_json, std::string_view claims_json,
                       const std::function<std::string(const std::string&)>& sign) {
  std::string signed_part = b64url(header_json) + "." + b64url(claims_json);
  return signed_part + "." + b64url(sign(signed_part));
}

inline std::string hs256_jwt(std::string_view claims_json, const std::string& secret) {
  return jwt(R"({"alg":"HS256","typ":"JWT"})", claims_json,
             [&](const std::string& d) { return hmac_sha256(secret, d); });
}

}  // namespace switchboard::test
