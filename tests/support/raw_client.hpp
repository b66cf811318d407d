// tests/support/raw_client.hpp — a raw TCP client for tests that must misbehave
// below the WebSocket layer: send half an HTTP request, or upgrade by hand and then
// never answer the server's pings (Beast always answers them).
//
// Every call is bounded by its timeout. Server frames are parsed minimally
// (RFC 6455 §5.2, unmasked); nothing is ever written back unless asked.
//
// Thread-safety: none; one client, one thread at a time (a client may be moved to
// another thread between calls).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "support/ws_client.hpp"

namespace switchboard::test {

struct RawFrame {
  bool fin = true;
  uint8_t opcode = 0;  // 1 text, 2 binary, 8 close, 9 ping, 10 pong
  std::string payload;

  bool is_close() const { return opcode == 8; }
  bool is_ping() const { return opcode == 9; }
  // Close code from a close frame's payload (1005 when absent).
  uint16_t close_code() const;
};

class RawClient {
 public:
  RawClient();
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connect(const std::string& host, uint16_t port, Millis timeout = kDefaultTimeout);
  bool send(std::string_view bytes, Millis timeout = kDefaultTimeout);

  // Sends a complete WebSocket upgrade request for `path` (extra_headers: raw
  // "Name: value\r\n" lines) and reads the response head. Returns the HTTP status
  // (101 when upgraded), 0 when no response head arrived.
  unsigned upgrade(const std::string& host, uint16_t port, std::string_view path = "/ws",
                   std::string_view extra_headers = {}, Millis timeout = kDefaultTimeout);
  // The response head of the last upgrade() (status line and headers).
  const std::string& response_head() const { return head_; }

  // The next WebSocket frame from the server; nullopt on EOF, error or timeout
  // (see closed()).
  std::optional<RawFrame> read_frame(Millis timeout = kDefaultTimeout);

  // Reads until pending() contains `marker` (kept in pending()); false on EOF,
  // error or timeout. For line protocols (a NATS server's INFO / PONG lines).
  bool read_until(std::string_view marker, Millis timeout = kDefaultTimeout);

  // Reads and discards until the server closes the TCP connection (EOF or reset)
  // or the deadline. Returns true when it closed.
  bool wait_eof(Millis timeout = kDefaultTimeout);
  bool closed() const { return eof_; }
  // Everything received that no frame parse consumed.
  const std::string& pending() const { return buffer_; }

 private:
  struct Impl;
  // Reads more bytes into buffer_; false on EOF/error (sets eof_) or timeout.
  bool read_more(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<Impl> impl_;
  std::string buffer_;
  std::string head_;
  bool eof_ = false;
};

}  // namespace switchboard::test
