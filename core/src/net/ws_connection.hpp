// One WebSocket connection (one browser tab), owned by one event loop.
//
// Outbound: a bounded queue of shared immutable frames (net/outbound_queue.hpp;
// each event encoded once for all its recipients). The loop's flush pass
// (event_loop.hpp) writes everything queued in one write: a single frame as is,
// several copied into one batch frame ("[f1,f2,...]", docs/protocol.md). A
// connection whose queue would pass limits.send_queue_bytes is cut off (close
// 1013, counted), never buffered further.
// Inbound: RPC frames, rate-limited, dispatched to the router; replies come back
// to this loop and go through the same queue.
//
// The WebSocket protocol is our own (ws_frame.hpp), straight on the TCP socket:
// an idle connection holds no read buffer and no pending read operation, only a
// readiness wait. Under TLS (server.tls_cert) it holds a pending read into a
// buffer of its own (4 KiB) and OpenSSL's state. Readable, it reads into its loop's scratch buffer and handles
// every complete frame in place (at most kMessagesPerEvent messages, then the
// rest waits in a copy behind the loop's other work). Idle pings, the idle
// timeout and the session TTL refresh are driven by the loop's sweep.
//
// Every member runs on the owning loop's thread.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "net/event_loop.hpp"
#include "net/net_context.hpp"
#include "net/outbound_queue.hpp"
#include "net/tls_context.hpp"
#include "net/ws_frame.hpp"
#include "routing/index.hpp"
#include "rpc/rate_limiter.hpp"
#include "session/session_ops.hpp"

namespace switchboard::net {

namespace http = boost::beast::http;

class WsConnection final : public routing::Connection,
                           public LoopMember,
                           public std::enable_shared_from_this<WsConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  // token_deadline: for a token connection, when its token expires (exp plus
  // token.leeway): the sweep closes it with 4402 from then on.
  WsConnection(NetContext& ctx, EventLoop& loop, boost::asio::ip::tcp::socket&& socket,
               std::shared_ptr<ConnectionLimiter::Ticket> ticket, session::OpenedSession session,
               Clock::time_point token_deadline = Clock::time_point::max());
  // On a TLS listener: the connection after its handshake, and the context it
  // started with (kept while the connection lives, whatever a reload does).
  WsConnection(NetContext& ctx, EventLoop& loop, std::unique_ptr<TlsStream> tls,
               std::shared_ptr<TlsContext::Context> tls_ctx,
               std::shared_ptr<ConnectionLimiter::Ticket> ticket, session::OpenedSession session,
               Clock::time_point token_deadline = Clock::time_point::max());
  ~WsConnection() override;

  // Answers a request that passed check_upgrade_request (net/ws_handshake.hpp)
  // with 101 (adding Set-Cookie when the session is new), binds the
  // connection in the index, sends ready and starts reading. `early`: bytes
  // the HTTP layer read past the request (frames sent in the same TCP write as
  // the upgrade), handled first once the upgrade is done.
  void start(http::request<http::string_body> req, std::string early = {});

  void send_frame(const routing::Frame& frame) override;
  // Writes everything queued (the loop's flush pass calls this).
  void flush() override;
  void session_synced(const std::optional<std::string>& user,
                      const std::vector<std::string>& channels) override;
  void session_rekeyed(const std::string& sealed_id) override;
  void close_going_away() override;
  void close_requested(bool reconnect) override;
  // The loop's sweep: deadlines, idle pings, session refresh.
  void sweep(Clock::time_point now) override;

 private:
  static constexpr int kMessagesPerEvent = 16;

  static constexpr size_t kTlsReadBytes = 4096;

  // The TCP socket, under TLS or not.
  boost::asio::ip::tcp::socket& tcp();
  // Writes bufs on the connection (through TLS when there is TLS).
  template <class Buffers, class Handler>
  void write(const Buffers& bufs, Handler&& handler);

  void on_handshake(boost::system::error_code ec);
  void wait_read();
  void read_socket();
  // TLS: one read into tls_in_ at a time (decryption needs a buffer that lives
  // as long as the read does); what arrives is handled as read_socket() does.
  void read_tls();
  // Handles n bytes read into buf; false when no further read may start now
  // (the connection ended, or the rest waits in the backlog).
  bool on_bytes(char* buf, size_t n, int& budget);
  void read_backlog();
  // Handles the events in data[pos, size); false when the connection ended.
  bool consume(char* data, size_t size, size_t& pos, int& budget);
  void handle_message(std::string_view text);
  void send_reply(uint64_t id, const Outcome& outcome);
  void want_flush();
  void start_write(boost::asio::const_buffer payload);
  void write_control();
  void queue_control(uint8_t opcode, std::string_view payload);
  void on_write(boost::system::error_code ec);
  void begin_close(uint16_t code, const char* reason);
  // begin_close once the frames already queued are written (reason: a literal).
  void close_when_written(uint16_t code, const char* reason);
  void cut_off();       // slow reader: drop the socket
  void close_socket();  // ends the connection now
  void finish();        // leaves the index and the sweep; runs once

  NetContext& ctx_;
  EventLoop& loop_;
  boost::asio::ip::tcp::socket socket_;  // plain (unused under TLS)
  std::shared_ptr<TlsContext::Context> tls_ctx_;
  std::unique_ptr<TlsStream> tls_;        // TLS: the connection
  std::unique_ptr<char[]> tls_in_;        // TLS: the read buffer (kTlsReadBytes)
  std::shared_ptr<ConnectionLimiter::Ticket> ticket_;
  std::unique_ptr<session::OpenedSession> opened_;  // until the upgrade is done
  std::shared_ptr<detail::SessionOps> session_;
  rpc::TokenBucket bucket_;
  ws::FrameParser parser_;
  std::string backlog_;  // read but not yet handled (fairness); empty when idle

  OutboundQueue out_;  // event frames: waiting, and the write in flight
  std::string control_out_;  // in flight: the 101 response, or control frames
  std::string control_;                 // control frames waiting for the write in flight

  // Open: the last read; before: the upgrade's start; closing: the close's start.
  Clock::time_point stamp_;
  Clock::time_point next_refresh_;
  const bool token_;                   // a token connection: its session ends with it
  const Clock::time_point token_deadline_;

  // The connection's life, in order (a later phase never goes back):
  enum class Phase : uint8_t {
    kUpgrading,  // the 101 response is being written
    kOpen,       // frames flow both ways
    kCutOff,     // a frame passed limits.send_queue_bytes: nothing more is queued,
                 // cut_off() is on its way (a close 1013, or the socket dropped)
    kClosing,    // our close frame is queued, in flight or sent: waiting for the
                 // peer's (bounded by the handshake timeout); nothing more is queued or answered
    kEnded,      // finish() ran: out of the index and the sweep, buffers freed
  };
  // What the one write in flight carries.
  enum class Write : uint8_t { kNone, kEvents, kControl /* the 101 response or control frames */ };
  // Our close frame.
  enum class CloseFrame : uint8_t { kNone, kQueued /* in control_ */, kInFlight, kSent };

  Phase phase_ = Phase::kUpgrading;
  Write write_ = Write::kNone;
  CloseFrame close_frame_ = CloseFrame::kNone;
  bool close_received_ = false;   // the peer's close frame arrived
  bool flush_requested_ = false;  // this connection is on its loop's flush list
  bool ping_sent_ = false;        // an idle ping is out, unanswered
  uint16_t close_after_write_ = 0;  // close code once the queue is written (0: none)
  const char* close_after_write_reason_ = "";  // its reason (a string literal)
  uint8_t out_header_[10];
  uint8_t out_header_len_ = 0;
};

}  // namespace switchboard::net
