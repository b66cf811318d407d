// One load-generator WebSocket client: connect, upgrade, the protocol's
// handshake, its setup requests (subscribe, sign in) one after another, then
// every received message is scanned for payload markers. A connection can be
// dropped and started again (the reconnect storm); a Switchboard connection
// reconnects with the session cookie it was given.
//
// The protocol logic lives in Connection; the stream under the WebSocket (plain
// TCP, or TLS over TCP for --tls) is a template parameter of its one subclass in
// connection.cpp, so the plain path's reads run no TLS code and no extra
// indirection. Connection::make picks the stream from the endpoint.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "marker.hpp"
#include "protocol.hpp"

namespace switchboard::bench {

class Connection;

class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  virtual void on_ready(Connection& c) = 0;
  virtual void on_marker(Connection& c, const Marker& m, uint64_t now) = 0;
  // Every frame received once the connection is ready.
  virtual void on_frame(Connection&, std::string_view) {}
  // The connection failed or was closed by the server (not by drop()).
  virtual void on_closed(Connection& c, const std::string& why) = 0;
};

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool tls = false;  // wss: TLS without verifying the server's certificate
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  static std::shared_ptr<Connection> make(boost::asio::io_context& ioc, const Endpoint& ep,
                                          const Protocol& proto, ConnectionEvents& events,
                                          size_t index, std::vector<SetupStep> setup);
  virtual ~Connection() = default;

  // Connects (TLS handshake too when the endpoint asks for it) and upgrades.
  virtual void start() = 0;
  void send(std::string frame);
  // Closes the socket at once (no close handshake) and starts again once every
  // pending operation has finished.
  void drop_and_reconnect();

  size_t index() const { return index_; }
  bool ready() const { return state_ == State::ready; }
  const std::string& server_id() const { return server_id_; }

  // Receiver bookkeeping, kept by the worker.
  uint32_t cur_step = UINT32_MAX;
  std::array<int64_t, kMaxPublishers> last_seq{};  // per publisher, for cur_step
  uint64_t first_after_us = 0;  // first delivery after a storm's reconnect

 protected:
  enum class State { idle, connecting, handshake, setup, ready, failed };

  Connection(boost::asio::io_context& ioc, const Endpoint& ep, const Protocol& proto,
             ConnectionEvents& events, size_t index, std::vector<SetupStep> setup);

  // What the stream's subclass implements.
  virtual void write() = 0;         // out_.front(), then on_written
  virtual void close_socket() = 0;  // at once, no close handshake
  virtual uint16_t close_code() const = 0;

  // The shared steps the subclass calls.
  void reset();                  // before a new stream is opened
  void on_upgraded();            // the upgrade succeeded (then the subclass reads)
  void on_frame(size_t n);       // a whole message of n bytes is in in_
  void on_read_error(boost::beast::error_code ec);
  void on_written(boost::beast::error_code ec);
  void handle(std::string_view frame);
  void next_setup();
  void fail(const std::string& why);
  void op_done();

  boost::asio::io_context& ioc_;
  Endpoint ep_;
  const Protocol& proto_;
  ConnectionEvents& events_;
  size_t index_;
  std::vector<SetupStep> setup_;
  size_t setup_at_ = 0;
  uint64_t next_id_ = 2;

  boost::beast::websocket::response_type upgrade_;
  boost::beast::flat_buffer in_;
  std::deque<std::string> out_;
  bool writing_ = false;
  int pending_ = 0;  // asynchronous operations in flight on the stream
  State state_ = State::idle;
  bool restart_ = false;
  bool reported_ = false;
  std::string fail_reason_;
  std::string server_id_;
  std::string cookie_;  // "name=value" from the upgrade's Set-Cookie
};

}  // namespace switchboard::bench
