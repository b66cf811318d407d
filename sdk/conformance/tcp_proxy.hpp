// TcpProxy: a loopback TCP forwarder the conformance kit runs in-process between
// a plugin and its broker, so outage cases (T4 transport, S4 store) can take the
// broker "away" (cut) and bring it "back" (restore) without shell commands. The
// plugin's config points at port(); the proxy forwards to the real broker.
//
// Bounds: listens on 127.0.0.1 only; one io_context on one internal thread;
// per connection two 64 KiB buffers (one per direction, a direction reads again
// only after its write finished: TCP's own backpressure, bounded memory);
// upstream connects time out after 5 s; cut()/restore() wait at most 5 s for
// the internal thread. The upstream address is resolved once, at construction.
// A test tool: no TLS, no connection limit, no traffic shaping.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace switchboard::conformance {

class TcpProxy {
 public:
  // Forwards 127.0.0.1:<listen_port> (0 = pick a free port) to upstream_host:upstream_port.
  // Throws std::runtime_error with a clear message if it cannot listen or resolve.
  TcpProxy(std::string upstream_host, uint16_t upstream_port, uint16_t listen_port = 0);
  ~TcpProxy();  // stops: closes everything, joins its thread
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const;  // the port it listens on (stable across cut/restore)

  // Broker "gone": stops listening (new connects are refused: the listening
  // socket is closed) and closes every proxied connection on both sides
  // (shutdown + close, so the plugin sees EOF/RST at once). Returns when done.
  // Idempotent. Throws std::runtime_error if the internal thread does not answer in 5 s.
  void cut();
  // Broker "back": listens again on the same port (SO_REUSEADDR) and forwards
  // new connections. Returns when listening. Idempotent. Throws
  // std::runtime_error if the port cannot be re-bound (or on a 5 s timeout).
  void restore();
  bool is_cut() const;
  uint64_t connections_accepted() const;  // for tests/diagnostics

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::conformance
