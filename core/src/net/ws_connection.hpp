// One WebSocket connection (one browser tab), owned by one event loop.
//
// Outbound: a bounded queue of shared immutable frames (each event encoded once
// for all its recipients). The loop's flush pass (event_loop.hpp) writes
// everything queued in one write: a single frame as is, several copied into one
// batch frame ("[f1,f2,...]", docs/protocol.md). A connection whose queue would pass
// limits.send_queue_bytes is cut off (close 1013, counted), never buffered further.
// Inbound: RPC frames, rate-limited, dispatched to the router; replies come back
// to this loop and go through the same queue.
//
// Every member runs on the owning loop's thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "net/event_loop.hpp"
#include "net/net_context.hpp"
#include "routing/index.hpp"
#include "rpc/rate_limiter.hpp"
#include "session/session_ops.hpp"

namespace switchboard::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

class WsConnection final : public routing::Subscriber,
                           public std::enable_shared_from_this<WsConnection> {
 public:
  WsConnection(NetContext& ctx, EventLoop& loop, beast::tcp_stream&& stream,
               std::shared_ptr<ConnectionLimiter::Ticket> ticket, session::OpenedSession session);
  ~WsConnection() override;

  // Completes the upgrade (adding Set-Cookie when the session is new), binds the
  // connection in the index, sends ready and starts reading.
  void start(http::request<http::string_body> req);

  void send_frame(const routing::Frame& frame) override;
  // Writes everything queued (the loop's flush pass calls this).
  void flush();
  void session_synced(const std::optional<std::string>& user,
                      const std::vector<std::string>& channels) override;
  // Graceful shutdown: close 1001 once the current write (if any) is done.
  void close_going_away();

 private:
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle_message(std::string_view text);
  void send_reply(uint64_t id, const Outcome& outcome);
  void want_flush();
  void on_write(beast::error_code ec, std::size_t bytes);
  void begin_close(websocket::close_code code, const char* reason);
  void cut_off();  // slow reader: drop the socket
  void finish();   // leaves the index; runs once
  void schedule_refresh();  // keeps the session's sliding TTL alive while connected

  NetContext& ctx_;
  EventLoop& loop_;
  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<ConnectionLimiter::Ticket> ticket_;
  session::OpenedSession opened_;
  std::shared_ptr<detail::SessionOps> session_;
  beast::flat_buffer in_;
  rpc::TokenBucket bucket_;
  boost::asio::steady_timer refresh_;

  std::vector<routing::Frame> queue_;  // not yet written, oldest first
  size_t queued_bytes_ = 0;             // queue_ + in flight
  size_t in_flight_bytes_ = 0;
  routing::Frame single_;               // in flight: one frame as it is
  std::string batch_;                   // in flight: several as one batch frame
  boost::asio::const_buffer out_;
  bool open_ = false;     // accepted and not closing
  bool writing_ = false;
  bool flush_requested_ = false;
  bool closing_ = false;  // no more frames are queued
  bool close_started_ = false;
  std::optional<websocket::close_code> close_after_write_;
  bool finished_ = false;
};

}  // namespace switchboard::net
