#include "session/claim_token.hpp"

#include "session/base64url.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace switchboard::session {
namespace {

constexpr size_t kIvBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr std::string_view kClaimAad = "claim";
std::string sha256_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kDigits[md[i] >> 4];
    out += kDigits[md[i] & 15];
  }
  return out;
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

}  // namespace

Sealer::Sealer(std::string_view secret, std::string_view purpose) {
  std::string label = "switchboard.seal.v1." + std::string(purpose);
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(label.data()), label.size(), key_.data(),
           &len) == nullptr ||
      len != key_.size())
    throw std::runtime_error("sealing key derivation failed");
}

std::string Sealer::seal(std::string_view plaintext, std::string_view aad) const {
  std::vector<unsigned char> buf(kIvBytes + plaintext.size() + kTagBytes);
  if (RAND_bytes(buf.data(), static_cast<int>(kIvBytes)) != 1) throw std::runtime_error("RAND_bytes failed");
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), buf.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), buf.data() + kIvBytes, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), buf.data() + kIvBytes + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                                buf.data() + kIvBytes + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-GCM sealing failed");
  return base64url(buf.data(), buf.size());
}

std::optional<std::string> Sealer::open(std::string_view token, std::string_view aad) const {
  if (token.size() > kMaxClaimTokenChars) return std::nullopt;
  auto raw = unbase64url(token);
  if (!raw || raw->size() < kIvBytes + kTagBytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw->data());
  const size_t n = raw->size() - kIvBytes - kTagBytes;
  std::string plain(n, '\0');
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), bytes) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                              bytes + kIvBytes, static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                                const_cast<unsigned char*>(bytes) + kIvBytes + n) == 1;
  // The tag check happens here: a forged or altered token fails.
  if (!ok || EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &len) != 1)
    return std::nullopt;
  return plain;
}

std::string make_claim_token(const Sealer& sealer, std::string_view new_id,
                             std::string_view old_id, int64_t expires_unix_ms) {
  std::string plain(new_id);
  plain += '.';
  plain += std::to_string(expires_unix_ms);
  plain += '.';
  plain += sha256_hex(old_id);
  return sealer.seal(plain, kClaimAad);
}

ClaimCheck check_claim_token(const Sealer& sealer, std::string_view token,
                             std::string_view presented_old_id, int64_t now_unix_ms) {
  ClaimCheck out;
  auto plain = sealer.open(token, kClaimAad);
  if (!plain) return out;  // kMalformed: not ours, altered or garbage
  auto dot1 = plain->find('.');
  auto dot2 = dot1 == std::string::npos ? std::string::npos : plain->find('.', dot1 + 1);
  if (dot2 == std::string::npos) return out;
  std::string_view p(*plain);
  std::string_view id = p.substr(0, dot1), expiry = p.substr(dot1 + 1, dot2 - dot1 - 1),
                   old_hash = p.substr(dot2 + 1);
  int64_t exp = 0;
  for (char c : expiry) {
    if (c < '0' || c > '9' || exp > (INT64_MAX - 9) / 10) return out;
    exp = exp * 10 + (c - '0');
  }
  if (id.empty() || expiry.empty()) return out;
  if (now_unix_ms >= exp) {
    out.result = ClaimCheck::Result::kExpired;
    return out;
  }
  std::string presented = sha256_hex(presented_old_id);
  if (presented.size() != old_hash.size() ||
      CRYPTO_memcmp(presented.data(), old_hash.data(), presented.size()) != 0) {
    out.result = ClaimCheck::Result::kWrongSession;
    return out;
  }
  out.result = ClaimCheck::Result::kOk;
  out.new_id = std::string(id);
  return out;
}

}  // namespace switchboard::session
