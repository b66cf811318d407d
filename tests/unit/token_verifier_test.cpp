// The token verifier (core/src/auth): every way a token can be wrong is refused
// with the right kind (invalid: 4401, expired: 4402), and only the keys and
// algorithms configured verify. Tokens are made here: HS256 with OpenSSL's HMAC,
// RS256 / ES256 with keys generated per run.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/token_verifier.hpp"
#include "config/validate.hpp"
#include "support/jwt.hpp"

using namespace switchboard;
using auth::TokenClaims;
using auth::TokenError;
using auth::TokenVerifier;
using test::b64url;
namespace json = boost::json;

namespace {

const std::string kSecret = "unit-test-secret-0123456789abcdef";
constexpr int64_t kNow = 1'800'000'000;

std::string make(const json::object& header, const json::object& claims,
                 const std::function<std::string(const std::string&)>& sign) {
  return test::jwt(json::serialize(header), json::serialize(claims), sign);
}

std::string hs256(const json::object& claims, const std::string& key = kSecret) {
  return test::hs256_jwt(json::serialize(claims), key);
}

json::object claims(json::object extra = {}) {
  json::object c{{"sub", "alice"}, {"exp", kNow + 60}};
  for (auto& kv : extra) c[kv.key()] = kv.value();
  return c;
}

// A key pair generated for this run, its public half in a PEM file.
struct KeyPair {
  EVP_PKEY* key = nullptr;
  std::string pem_path;
  KeyPair(const char* type, const char* param, const std::string& name) {
    if (std::string(type) == "RSA") key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(std::atoi(param)));
    else key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param);
    REQUIRE(key != nullptr);
    pem_path = (std::filesystem::temp_directory_path() /
                ("sb-token-" + name + "-" + std::to_string(::getpid()) + ".pem"))
                   .string();
    FILE* f = std::fopen(pem_path.c_str(), "w");
    REQUIRE(f != nullptr);
    PEM_write_PUBKEY(f, key);
    std::fclose(f);
  }
  ~KeyPair() {
    EVP_PKEY_free(key);
    std::remove(pem_path.c_str());
  }
  // The signature over data: DER for RSA; R || S (32 bytes each) for ES256.
  std::string sign(const std::string& data, bool jws_ecdsa) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    if (!jws_ecdsa) return sig;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string out(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(out.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return out;
  }
};

config::Settings settings(const std::string& yaml) {
  return config::validate(Config::from_string(yaml, "test.yaml"), {});
}

std::string why(const std::variant<TokenClaims, TokenError>& v) {
  if (auto* e = std::get_if<TokenError>(&v)) return (e->expired ? "expired: " : "invalid: ") + e->why;
  return "ok";
}

}  // namespace

TEST_CASE("HS256: a valid token gives its user and its channels", "[token]") {
  auto s = settings("token: {hs256_secrets: [" + kSecret + "]}");
  TokenVerifier v(s);
  REQUIRE(v.enabled());
  auto r = v.verify(hs256(claims({{"channels", json::array{"b", "a", "b"}}})), kNow);
  REQUIRE(why(r) == "ok");
  auto& c = std::get<TokenClaims>(r);
  CHECK(c.user == "alice");
  CHECK(c.channels == std::vector<std::string>{"a", "b"});
  CHECK(c.expires_s == kNow + 60);
}

TEST_CASE("HS256: any configured secret verifies (rotation)", "[token]") {
  auto s = settings("token: {hs256_secrets: [old-secret-0123456789abcdef-0123456, " + kSecret + "]}");
  TokenVerifier v(s);
  CHECK(why(v.verify(hs256(claims()), kNow)) == "ok");
  CHECK(why(v.verify(hs256(claims(), "old-secret-0123456789abcdef-0123456"), kNow)) == "ok");
  CHECK(why(v.verify(hs256(claims(), "another-secret-0123456789abcdef-01"), kNow)) == "invalid: bad signature");
}

TEST_CASE("malformed tokens and refused algorithms", "[token]") {
  auto s = settings("token: {hs256_secrets: [" + kSecret + "]}");
  TokenVerifier v(s);
  const std::string good = hs256(claims());
  CHECK(why(v.verify("", kNow)) == "invalid: empty token");
  CHECK(why(v.verify("a.b", kNow)).find("three base64url parts") != std::string::npos);
  CHECK(why(v.verify(good + ".x", kNow)).find("three base64url parts") != std::string::npos);
  CHECK(why(v.verify(good + "=", kNow)).find("three base64url parts") != std::string::npos);
  CHECK(why(v.verify("e30+.e30.AA", kNow)).find("three base64url parts") != std::string::npos);
  CHECK(why(v.verify(std::string(auth::kMaxTokenBytes + 1, 'a'), kNow)).find("longer than") != std::string::npos);
  CHECK(why(v.verify(b64url("[1]") + ".e30.AA", kNow)) == "invalid: the header is not a JSON object");
  auto none = make({{"alg", "none"}}, claims(), [](const std::string&) { return std::string(); });
  CHECK(why(v.verify(none, kNow)) == "invalid: alg is not one of HS256, RS256, ES256");
  auto hs512 = make({{"alg", "HS512"}}, claims(), [](const std::string& d) { return test::hmac_sha256(kSecret, d); });
  CHECK(why(v.verify(hs512, kNow)) == "invalid: alg is not one of HS256, RS256, ES256");
  auto crit = make({{"alg", "HS256"}, {"crit", json::array{"b64"}}}, claims(),
                   [](const std::string& d) { return test::hmac_sha256(kSecret, d); });
  CHECK(why(v.verify(crit, kNow)) == "invalid: the header has crit extensions");
  // A changed payload under the old signature.
  auto dot = good.rfind('.');
  auto other = hs256(claims({{"sub", "mallory"}}));
  auto forged = other.substr(0, other.rfind('.')) + good.substr(dot);
  CHECK(why(v.verify(forged, kNow)) == "invalid: bad signature");
  // RS256 without public keys: refused (no HMAC over a public key either).
  auto rs = make({{"alg", "RS256"}}, claims(), [](const std::string& d) { return test::hmac_sha256(kSecret, d); });
  CHECK(why(v.verify(rs, kNow)) == "invalid: bad signature");
}

TEST_CASE("claims: exp, nbf, iat, sub, iss, aud, channels", "[token]") {
  auto s = settings("token: {hs256_secrets: [" + kSecret + "], leeway: 10s, issuer: me, audience: app}\n"
                    "limits: {channels_per_session: 2}");
  TokenVerifier v(s);
  auto ok = [&](json::object extra) {
    if (!extra.contains("iss")) extra["iss"] = "me";
    if (!extra.contains("aud")) extra["aud"] = "app";
    return why(v.verify(hs256(claims(std::move(extra))), kNow));
  };
  CHECK(ok({}) == "ok");
  CHECK(ok({{"exp", kNow - 10}}) == "ok");  // within the leeway
  CHECK(ok({{"exp", kNow - 11}}) == "expired: token expired");
  CHECK(ok({{"exp", static_cast<double>(kNow) + 0.5}}) == "ok");
  CHECK(ok({{"exp", "tomorrow"}}) == "invalid: exp is not a NumericDate");
  CHECK(ok({{"exp", 1e300}}) == "invalid: exp is not a NumericDate");
  CHECK(ok({{"nbf", kNow + 10}}) == "ok");
  CHECK(ok({{"nbf", kNow + 11}}) == "invalid: token not valid yet (nbf)");
  CHECK(ok({{"iat", "x"}}) == "invalid: iat is not a NumericDate");
  CHECK(ok({{"sub", 42}}) == "invalid: no sub claim (the user id)");
  CHECK(ok({{"sub", ""}}).find("sub is not a valid user id") != std::string::npos);
  CHECK(ok({{"sub", std::string(257, 'u')}}).find("sub is not a valid user id") != std::string::npos);
  CHECK(ok({{"iss", "you"}}) == "invalid: wrong issuer (iss)");
  CHECK(ok({{"aud", json::array{"x", "app"}}}) == "ok");
  CHECK(ok({{"aud", json::array{"x"}}}) == "invalid: wrong audience (aud)");
  CHECK(ok({{"channels", json::array{"a", "b"}}}) == "ok");
  CHECK(ok({{"channels", json::array{}}}) == "ok");
  CHECK(ok({{"channels", json::array{"a", "b", "c"}}}).find("over limits.channels_per_session") != std::string::npos);
  CHECK(ok({{"channels", json::array{""}}}).find("channels: channel names must be") != std::string::npos);
  CHECK(ok({{"channels", "a"}}) == "invalid: channels is not a list of strings");
  CHECK(ok({{"channels", json::array{1}}}) == "invalid: channels is not a list of strings");
  json::object no_exp{{"sub", "alice"}, {"iss", "me"}, {"aud", "app"}};
  CHECK(why(v.verify(hs256(no_exp), kNow)) == "invalid: no exp claim (tokens must expire)");
}

TEST_CASE("RS256 and ES256 verify against the configured public keys only", "[token]") {
  KeyPair rsa("RSA", "2048", "rsa");
  KeyPair ec("EC", "P-256", "ec");
  KeyPair stranger("EC", "P-256", "stranger");
  auto s = settings("token: {public_keys: [" + rsa.pem_path + ", " + ec.pem_path + "]}");
  TokenVerifier v(s);
  REQUIRE(v.enabled());
  auto rs = make({{"alg", "RS256"}}, claims(), [&](const std::string& d) { return rsa.sign(d, false); });
  auto es = make({{"alg", "ES256"}}, claims(), [&](const std::string& d) { return ec.sign(d, true); });
  CHECK(why(v.verify(rs, kNow)) == "ok");
  CHECK(why(v.verify(es, kNow)) == "ok");
  auto es_other = make({{"alg", "ES256"}}, claims(), [&](const std::string& d) { return stranger.sign(d, true); });
  CHECK(why(v.verify(es_other, kNow)) == "invalid: bad signature");
  // Algorithm confusion: an RSA signature presented as ES256, an HS256 token
  // keyed with the public key's PEM text.
  auto mixed = make({{"alg", "ES256"}}, claims(), [&](const std::string& d) { return rsa.sign(d, false); });
  CHECK(why(v.verify(mixed, kNow)) == "invalid: bad signature");
  std::ifstream in(rsa.pem_path);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(why(v.verify(hs256(claims(), pem), kNow)) == "invalid: bad signature");
}

TEST_CASE("token config: bad keys fail the start with the file named", "[token][config]") {
  auto error_of = [](const std::string& yaml) -> std::string {
    try {
      auto s = settings(yaml);
      TokenVerifier v(s);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of("token: {hs256_secrets: [short]}").find("at least 32 bytes") != std::string::npos);
  CHECK(error_of("token: {leeway: 6m}").find("at most 5m") != std::string::npos);
  CHECK(error_of("token: {public_keys: [/nonexistent/key.pem]}").find("/nonexistent/key.pem: cannot be read") !=
        std::string::npos);
  KeyPair small("RSA", "1024", "small");
  CHECK(error_of("token: {public_keys: [" + small.pem_path + "]}").find("at least 2048 bits") != std::string::npos);
  KeyPair p384("EC", "P-384", "p384");
  CHECK(error_of("token: {public_keys: [" + p384.pem_path + "]}").find("P-256") != std::string::npos);
  {
    std::ofstream junk(small.pem_path);
    junk << "not a key\n";
  }
  CHECK(error_of("token: {public_keys: [" + small.pem_path + "]}").find("not a PEM public key") != std::string::npos);
  // Off by default: every token is refused.
  auto off = settings("");
  TokenVerifier v(off);
  CHECK_FALSE(v.enabled());
  CHECK(why(v.verify(hs256(claims()), kNow)).find("not enabled") != std::string::npos);
}
