#include "net/tls_context.hpp"

#include <cstdio>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "switchboard/config.hpp"

namespace switchboard::net {
namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites: ECDHE (forward secrecy) with an AEAD cipher, strongest first.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's most recent error as text (and the queue cleared).
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

bool readable(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return false;
  std::fclose(f);
  return true;
}

}  // namespace

Result<std::shared_ptr<TlsContext::Context>> TlsContext::load(const std::string& cert,
                                                               const std::string& key) {
  auto fail = [](const std::string& what) { return Status(StatusCode::kError, what); };
  if (!readable(cert)) return fail("server.tls_cert: " + cert + ": cannot be read");
  if (!readable(key)) return fail("server.tls_key: " + key + ": cannot be read");
  auto ctx = std::make_shared<Context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    return fail("server.tls_cert: cannot set the cipher list: " + openssl_error());
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert.c_str()) != 1)
    return fail("server.tls_cert: " + cert + ": not a PEM certificate chain (" + openssl_error() + ")");
  FILE* f = std::fopen(key.c_str(), "r");
  EVP_PKEY* pkey = f ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr) : nullptr;
  if (f) std::fclose(f);
  if (!pkey)
    return fail("server.tls_key: " + key + ": not an unencrypted PEM private key (" +
                openssl_error() + ")");
  const bool matches = SSL_CTX_use_PrivateKey(native, pkey) == 1 && SSL_CTX_check_private_key(native) == 1;
  EVP_PKEY_free(pkey);
  if (!matches) {
    ERR_clear_error();
    return fail("server.tls_key: " + key + " is not the key of " + cert);
  }
  return ctx;
}

TlsContext::TlsContext(const config::Settings::Server& server)
    : cert_(server.tls_cert), key_(server.tls_key) {
  auto ctx = load(cert_, key_);
  if (!ctx) throw ConfigError(ctx.status().message());
  current_ = std::move(ctx.value());
}

std::shared_ptr<TlsContext::Context> TlsContext::current() const {
  sync::Lock lock(mu_);
  return current_;
}

Status TlsContext::reload() {
  auto ctx = load(cert_, key_);
  if (!ctx) return ctx.status();
  sync::Lock lock(mu_);
  current_ = std::move(ctx.value());
  return Status::ok();
}

}  // namespace switchboard::net
