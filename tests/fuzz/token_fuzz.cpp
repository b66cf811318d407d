// Fuzz target: the signed-token verifier (auth::TokenVerifier, token
// authentication at connect). Oracle: no crash or sanitizer report; claims come
// back only for a token whose HS256 signature is right (checked here with
// OpenSSL's HMAC, independently), with a user id of 1..user_id_bytes, channels
// sorted, unique, within the limits and each 1..channel_name_bytes bytes, and an
// exp not past now + leeway; every refusal has a reason.
//
// Input: byte 0 picks the mode. Even: the rest is the token as sent (malformed
// tokens, forged signatures). Odd: the rest is "header JSON \0 payload JSON",
// which the harness encodes and signs with the configured secret, so the claim
// checks behind the signature get fuzzed too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/token_verifier.hpp"
#include "session/base64url.hpp"

using namespace switchboard;

namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "fuzz-secret-0123456789abcdef-0123456789";

[[noreturn]] void finding(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "token oracle: %s %s\n", what, detail.c_str());
  std::abort();
}

std::string b64(const std::string& s) {
  return session::base64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

std::string hmac(const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

const config::Settings& settings() {
  static const config::Settings s = [] {
    config::Settings st;
    st.token.hs256_secrets = {kSecret};
    st.token.leeway = std::chrono::seconds(30);
    st.limits.user_id_bytes = 64;
    st.limits.channel_name_bytes = 32;
    st.limits.channels_per_session = 8;
    st.limits.session_channel_bytes = 128;
    st.limits.json_max_depth = 16;
    return st;
  }();
  return s;
}

// Whether token's signature is the right HS256 one (the oracle's own check).
bool signed_by_us(const std::string& token) {
  auto dot = token.rfind('.');
  if (dot == std::string::npos) return false;
  auto sig = session::unbase64url(std::string_view(token).substr(dot + 1));
  if (!sig || sig->size() != 32) return false;
  std::string mac = hmac(token.substr(0, dot));
  return CRYPTO_memcmp(mac.data(), sig->data(), 32) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const auth::TokenVerifier verifier(settings());
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string token;
  if (data[0] % 2 == 0) {
    token = rest;
  } else {
    auto nul = rest.find('\0');
    std::string header = nul == std::string::npos ? rest : rest.substr(0, nul);
    std::string payload = nul == std::string::npos ? std::string() : rest.substr(nul + 1);
    std::string signed_part = b64(header) + "." + b64(payload);
    token = signed_part + "." + b64(hmac(signed_part));
  }
  auto verdict = verifier.verify(token, kNow);
  if (auto* e = std::get_if<auth::TokenError>(&verdict)) {
    if (e->why.empty()) finding("a refusal without a reason");
    if (e->why.size() > 123) finding("a reason longer than a close frame holds", e->why);
    return 0;
  }
  const auto& c = std::get<auth::TokenClaims>(verdict);
  const auto& l = settings().limits;
  if (!signed_by_us(token)) finding("claims from a token we did not sign", token);
  if (c.user.empty() || c.user.size() > l.user_id_bytes) finding("a user id out of bounds", c.user);
  if (c.expires_s + 30 < kNow) finding("an expired token accepted");
  if (c.channels.size() > l.channels_per_session) finding("too many channels");
  size_t bytes = 0;
  for (size_t i = 0; i < c.channels.size(); ++i) {
    const auto& ch = c.channels[i];
    if (ch.empty() || ch.size() > l.channel_name_bytes) finding("a channel name out of bounds", ch);
    if (i > 0 && !(c.channels[i - 1] < ch)) finding("channels not sorted and unique");
    bytes += ch.size();
  }
  if (bytes > l.session_channel_bytes) finding("channel bytes over the bound");
  return 0;
}
