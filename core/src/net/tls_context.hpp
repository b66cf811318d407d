// The listener's TLS settings (server.tls_cert / server.tls_key): an OpenSSL
// context with modern defaults, reloadable while connections are open.
//
// Defaults: TLS 1.2 and 1.3 only; for 1.2, ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305 (forward secrecy, AEAD), the server's order; no
// renegotiation, no compression; OpenSSL's TLS 1.3 suites.
// Reload (SIGHUP): a new context is built from the files; on success new
// connections use it, while every open connection keeps the one it started
// with (each holds a reference) until it closes. A failed reload changes nothing.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "config/settings.hpp"
#include "status/result.hpp"
#include "switchboard/status.hpp"
#include "sync/mutex.hpp"

namespace switchboard::net {

// A TLS connection: HTTP requests, then the WebSocket it may become.
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

class TlsContext {
 public:
  using Context = boost::asio::ssl::context;

  // Loads the files; throws ConfigError naming the file and the problem.
  explicit TlsContext(const config::Settings::Server& server);

  // The context for a new connection.
  std::shared_ptr<Context> current() const;
  // Reads the files again: ok, or the reason nothing changed.
  Status reload();

 private:
  // Builds a context from the files, or fails with the reason.
  static Result<std::shared_ptr<Context>> load(const std::string& cert, const std::string& key);

  const std::string cert_;
  const std::string key_;
  mutable sync::Mutex mu_;
  std::shared_ptr<Context> current_ SB_GUARDED_BY(mu_);
};

}  // namespace switchboard::net
