#include "auth/token_verifier.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "session/base64url.hpp"
#include "session/session_checks.hpp"
#include "switchboard/config.hpp"

namespace switchboard::auth {
namespace json = boost::json;

namespace {

std::optional<json::object> parse_object(const std::string& text, uint32_t max_depth) {
  json::parse_options opts;
  opts.max_depth = max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, json::storage_ptr(), opts);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A NumericDate (RFC 7519 §2): seconds, integer or not, within ±2^53.
std::optional<int64_t> numeric_date(const json::value& v) {
  constexpr double kMax = 9007199254740992.0;
  double d = 0;
  if (v.is_int64()) d = static_cast<double>(v.as_int64());
  else if (v.is_uint64()) d = static_cast<double>(v.as_uint64());
  else if (v.is_double()) d = v.as_double();
  else return std::nullopt;
  if (!std::isfinite(d) || d > kMax || d < -kMax) return std::nullopt;
  return static_cast<int64_t>(std::floor(d));
}

TokenError invalid(std::string why) { return TokenError{false, std::move(why)}; }

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

struct TokenVerifier::Key {
  std::string alg;  // "RS256" or "ES256"
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey;
};

TokenVerifier::TokenVerifier(const config::Settings& settings) : settings_(settings) {
  for (const auto& path : settings.token.public_keys) {
    auto fail = [&](const std::string& what) {
      throw ConfigError("key 'token.public_keys': " + path + ": " + what);
    };
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) fail("cannot be read");
    EVP_PKEY* raw = PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!raw) fail("not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    auto key = std::make_unique<Key>();
    key->pkey.reset(raw);
    if (EVP_PKEY_is_a(raw, "RSA")) {
      if (EVP_PKEY_get_bits(raw) < 2048) fail("an RSA key must have at least 2048 bits");
      key->alg = "RS256";
    } else if (EVP_PKEY_is_a(raw, "EC")) {
      char group[64] = {0};
      size_t len = 0;
      if (!EVP_PKEY_get_utf8_string_param(raw, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) ||
          std::string_view(group, len) != "prime256v1")
        fail("an EC key must be on P-256 (ES256)");
      key->alg = "ES256";
    } else {
      fail("neither an RSA nor an EC key");
    }
    keys_.push_back(std::move(key));
  }
}

TokenVerifier::~TokenVerifier() = default;

bool TokenVerifier::signature_ok(std::string_view alg, std::string_view signed_part,
                                 const std::string& signature) const {
  if (alg == "HS256") {
    if (signature.size() != 32) return false;
    for (const auto& secret : settings_.token.hs256_secrets) {
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &len);
      if (len == 32 && CRYPTO_memcmp(mac, signature.data(), 32) == 0) return true;
    }
    return false;
  }
  std::string der;  // what EVP_DigestVerify takes
  if (alg == "ES256") {
    // JWS carries R || S, 32 bytes each (RFC 7518 §3.4); OpenSSL wants DER.
    if (signature.size() != 64) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    if (!sig) return false;
    auto* bytes = reinterpret_cast<const unsigned char*>(signature.data());
    BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
    BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
    if (!r || !s || !ECDSA_SIG_set0(sig, r, s)) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(sig);
      return false;
    }
    unsigned char* out = nullptr;
    int n = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    if (n <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    OPENSSL_free(out);
  } else {
    der = signature;
  }
  for (const auto& key : keys_) {
    if (key->alg != alg) continue;
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->pkey.get()) != 1)
      continue;
    if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                         reinterpret_cast<const unsigned char*>(signed_part.data()),
                         signed_part.size()) == 1)
      return true;
  }
  return false;
}

std::variant<TokenClaims, TokenError> TokenVerifier::verify(std::string_view token,
                                                            int64_t now_s) const {
  const auto& cfg = settings_.token;
  if (!enabled()) return invalid("token authentication is not enabled on this server");
  if (token.empty()) return invalid("empty token");
  if (token.size() > kMaxTokenBytes)
    return invalid("token longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return invalid("not a signed JWT (three base64url parts)");
  auto header_text = session::unbase64url(token.substr(0, dot1));
  auto payload_text = session::unbase64url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = session::unbase64url(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature)
    return invalid("not a signed JWT (three base64url parts)");
  const uint32_t depth = settings_.limits.json_max_depth;
  auto header = parse_object(*header_text, depth);
  if (!header) return invalid("the header is not a JSON object");
  const json::value* alg = header->if_contains("alg");
  if (!alg || !alg->is_string()) return invalid("the header has no alg");
  const std::string_view a = alg->as_string();
  if (a != "HS256" && a != "RS256" && a != "ES256")
    return invalid("alg is not one of HS256, RS256, ES256");
  if (header->contains("crit")) return invalid("the header has crit extensions");
  if (!signature_ok(a, token.substr(0, dot2), *signature)) return invalid("bad signature");

  // Signed by a key of ours from here on; the claims are still checked.
  auto payload = parse_object(*payload_text, depth);
  if (!payload) return invalid("the payload is not a JSON object");
  const auto& p = *payload;
  const int64_t leeway = cfg.leeway.count() / 1000;
  TokenClaims claims;
  const json::value* exp = p.if_contains("exp");
  if (!exp) return invalid("no exp claim (tokens must expire)");
  auto exp_s = numeric_date(*exp);
  if (!exp_s) return invalid("exp is not a NumericDate");
  if (now_s > *exp_s + leeway) return TokenError{true, "token expired"};
  claims.expires_s = *exp_s;
  if (const json::value* nbf = p.if_contains("nbf")) {
    auto nbf_s = numeric_date(*nbf);
    if (!nbf_s) return invalid("nbf is not a NumericDate");
    if (now_s + leeway < *nbf_s) return invalid("token not valid yet (nbf)");
  }
  if (const json::value* iat = p.if_contains("iat"); iat && !numeric_date(*iat))
    return invalid("iat is not a NumericDate");
  if (!cfg.issuer.empty()) {
    const json::value* iss = p.if_contains("iss");
    if (!iss || !iss->is_string() || iss->as_string() != cfg.issuer) return invalid("wrong issuer (iss)");
  }
  if (!cfg.audience.empty()) {
    const json::value* aud = p.if_contains("aud");
    bool ok = false;
    if (aud && aud->is_string()) ok = aud->as_string() == cfg.audience;
    if (aud && aud->is_array())
      for (const auto& e : aud->as_array()) ok = ok || (e.is_string() && e.as_string() == cfg.audience);
    if (!ok) return invalid("wrong audience (aud)");
  }
  const json::value* sub = p.if_contains("sub");
  if (!sub || !sub->is_string()) return invalid("no sub claim (the user id)");
  claims.user = std::string(sub->as_string());
  if (!session::valid_user_id(settings_, claims.user))
    return invalid("sub is not a valid user id (1.." + std::to_string(settings_.limits.user_id_bytes) +
                   " bytes)");
  if (const json::value* ch = p.if_contains("channels")) {
    if (!ch->is_array()) return invalid("channels is not a list of strings");
    for (const auto& e : ch->as_array()) {
      if (!e.is_string()) return invalid("channels is not a list of strings");
      claims.channels.emplace_back(e.as_string());
    }
    std::sort(claims.channels.begin(), claims.channels.end());
    claims.channels.erase(std::unique(claims.channels.begin(), claims.channels.end()),
                          claims.channels.end());
    if (!claims.channels.empty()) {
      if (auto bad = session::check_channel_names(settings_, claims.channels))
        return invalid("channels: " + bad->message);
    }
    if (claims.channels.size() > settings_.limits.channels_per_session ||
        session::channel_bytes(claims.channels) > settings_.limits.session_channel_bytes)
      return invalid("channels: over limits.channels_per_session or limits.session_channel_bytes");
  }
  return claims;
}

}  // namespace switchboard::auth
