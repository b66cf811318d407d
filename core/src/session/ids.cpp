#include "session/ids.hpp"

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace switchboard::session {
namespace {
std::string to_hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}
}  // namespace

std::string random_hex(size_t n) {
  std::vector<unsigned char> buf(n);
  if (RAND_bytes(buf.data(), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return to_hex(buf.data(), n);
}

bool well_formed_session_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string routing_key(std::string_view secret, std::string_view session_id) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(session_id.data()), session_id.size(), mac, &len);
  return to_hex(mac, 16);
}

namespace {
// The first 128 bits of HMAC-SHA256(secret, label + text) in hex: labels keep
// each use's values distinct from the others' and from routing_key().
std::string labelled_mac(std::string_view secret, std::string_view label, std::string_view text) {
  std::string msg(label);
  msg.append(text);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  return to_hex(mac, 16);
}

// The cookie signature of an id (32 hex characters).
std::string cookie_signature(std::string_view secret, std::string_view id) {
  return labelled_mac(secret, "sb.cookie:", id);
}
}  // namespace

std::string user_index_id(std::string_view secret, std::string_view user) {
  return "user-" + labelled_mac(secret, "sb.user:", user);
}

std::string sign_session_id(std::string_view secret, std::string_view id) {
  std::string out(id);
  out += '.';
  out += cookie_signature(secret, id);
  return out;
}

std::optional<std::string> verify_session_cookie(std::string_view secret, std::string_view value) {
  auto dot = value.find('.');
  if (dot != 32 || value.size() != 32 + 1 + 32) return std::nullopt;
  std::string_view id = value.substr(0, dot), sig = value.substr(dot + 1);
  if (!well_formed_session_id(id)) return std::nullopt;
  std::string expected = cookie_signature(secret, id);
  if (CRYPTO_memcmp(expected.data(), sig.data(), expected.size()) != 0) return std::nullopt;
  return std::string(id);
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = part.substr(0, eq), v = part.substr(eq + 1);
    while (!k.empty() && k.back() == ' ') k.remove_suffix(1);
    if (k != name) continue;
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

}  // namespace switchboard::session
