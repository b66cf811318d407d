#include "net/ws_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "protocol/client_frames.hpp"
#include "observe/log.hpp"
#include "routing/finite_numbers.hpp"
#include "rpc/request_access.hpp"
#include "rpc/rpc_frame.hpp"
#include "session/ids.hpp"
#include "net/ws_handshake.hpp"

namespace switchboard::net {
namespace json = boost::json;
namespace asio = boost::asio;
using error_code = boost::system::error_code;
using protocol::error_frame;
using protocol::error_reply_frame;
using protocol::ready_frame;
using protocol::reply_frame;

namespace {
constexpr size_t kMaxPendingControl = 1024;

std::chrono::milliseconds refresh_period(const config::Settings& s) {
  return std::max<std::chrono::milliseconds>(s.session.ttl / 2, std::chrono::seconds(1));
}

// The loop's sweep period: a quarter of the idle timeout and of the session TTL,
// never more often than once a second.
std::chrono::milliseconds sweep_period(const config::Settings& s) {
  auto p = s.session.ttl / 4;
  if (s.server.idle_timeout.count() > 0) p = std::min(p, s.server.idle_timeout / 4);
  return std::max<std::chrono::milliseconds>(p, std::chrono::seconds(1));
}

}  // namespace

WsConnection::WsConnection(NetContext& ctx, EventLoop& loop, asio::ip::tcp::socket&& socket,
                           std::shared_ptr<ConnectionLimiter::Ticket> ticket,
                           session::OpenedSession session, Clock::time_point token_deadline)
    : ctx_(ctx),
      loop_(loop),
      socket_(std::move(socket)),
      ticket_(std::move(ticket)),
      opened_(std::make_unique<session::OpenedSession>(std::move(session))),
      bucket_(ctx.settings.limits.rpc_per_second),
      out_(ctx.settings.limits.send_queue_bytes),
      token_(opened_->token),
      token_deadline_(token_deadline) {
  socket_id_ = session::new_socket_id();
  session_key_ = opened_->key;
  session_ = std::make_shared<detail::SessionOps>(ctx_.sessions, opened_->id, opened_->key,
                                                  opened_->record, opened_->token);
}

WsConnection::WsConnection(NetContext& ctx, EventLoop& loop, std::unique_ptr<TlsStream> tls,
                           std::shared_ptr<TlsContext::Context> tls_ctx,
                           std::shared_ptr<ConnectionLimiter::Ticket> ticket,
                           session::OpenedSession session, Clock::time_point token_deadline)
    : WsConnection(ctx, loop, asio::ip::tcp::socket(loop.ioc()), std::move(ticket),
                   std::move(session), token_deadline) {
  tls_ctx_ = std::move(tls_ctx);
  tls_ = std::move(tls);
}

WsConnection::~WsConnection() { loop_.detach(this); }

asio::ip::tcp::socket& WsConnection::tcp() { return tls_ ? tls_->next_layer().socket() : socket_; }

template <class Buffers, class Handler>
void WsConnection::write(const Buffers& bufs, Handler&& handler) {
  if (tls_) asio::async_write(*tls_, bufs, std::forward<Handler>(handler));
  else asio::async_write(socket_, bufs, std::forward<Handler>(handler));
}

void WsConnection::start(http::request<http::string_body> req, std::string early) {
  stamp_ = Clock::now();
  loop_.attach(this, sweep_period(ctx_.settings));
  // HttpSession checked the request (check_upgrade_request) before the session
  // was opened.
  std::string& out = control_out_;  // nothing else is written before the upgrade
  out = switching_protocols_head(req);
  if (opened_->issued) {
    out += "Set-Cookie: ";
    out += ctx_.sessions.set_cookie_header(opened_->id);
    out += "\r\n";
  }
  out += "\r\n";
  backlog_ = std::move(early);  // read_backlog() takes it after the upgrade
  write_ = Write::kControl;
  write(asio::buffer(out), [self = shared_from_this()](error_code ec, std::size_t) {
    self->write_ = Write::kNone;
    std::string().swap(self->control_out_);
    self->on_handshake(ec);
  });
}

void WsConnection::on_handshake(error_code ec) {
  if (ec || phase_ == Phase::kEnded) {
    close_socket();
    return;
  }
  if (tls_) {
    tls_in_ = std::make_unique<char[]>(kTlsReadBytes);
  } else {
    error_code nb;
    socket_.non_blocking(true, nb);
    if (nb) {
      close_socket();
      return;
    }
  }
  phase_ = Phase::kOpen;
  stamp_ = Clock::now();
  next_refresh_ = stamp_ + refresh_period(ctx_.settings);
  ctx_.open.opened();
  observe::bump(ctx_.metrics.connections_total);
  loop_.shard().add(this, opened_->record.user_id, opened_->record.channels);
  opened_.reset();  // the index and the session ops hold what is still needed
  // A sign-in on this connection rotated the session id: the client gets a claim
  // token for the new cookie. Sent from the thread that completes the rotation
  // before the RPC's reply is, and through the same hop, so it arrives first.
  session_->on_claim([weak = weak_from_this()](const std::string& token) {
    auto self = weak.lock();
    if (!self) return;
    json::object o;
    o["t"] = "session";
    o["claim"] = token;
    auto frame = std::make_shared<const std::string>(json::serialize(o));
    if (self->loop_.in_loop()) self->send_frame(frame);
    else asio::post(self->loop_.ioc(), [self, frame] { self->send_frame(frame); });
  });
  send_frame(std::make_shared<const std::string>(ready_frame(socket_id_)));
  if (ctx_.shutting_down) {
    close_going_away();
  }
  if (!backlog_.empty()) {
    // Frames that came with the upgrade request; read_backlog() goes on to the socket.
    asio::post(loop_.ioc(), [self = shared_from_this()] { self->read_backlog(); });
    return;
  }
  wait_read();  // also while closing: the peer's close (or EOF) ends the connection
}

void WsConnection::sweep(Clock::time_point now) {
  const auto& s = ctx_.settings.server;
  if (phase_ == Phase::kUpgrading || phase_ == Phase::kClosing) {
    // Upgrade not done yet, or closing: bounded by the handshake timeout.
    if (now - stamp_ >= s.handshake_timeout) close_socket();
    return;
  }
  if (now >= token_deadline_) {
    close_when_written(ws::close_code::kTokenExpired, "token expired");
    return;
  }
  if (s.idle_timeout.count() > 0) {
    auto idle = now - stamp_;
    if (idle >= s.idle_timeout && ping_sent_) {
      if (observe::log_enabled(observe::Level::kDebug))
        observe::log(observe::Level::kDebug, "ws", "connection " + socket_id_ + " ended: idle timeout");
      close_socket();
      return;
    }
    if (idle >= s.idle_timeout / 2 && !ping_sent_) {
      ping_sent_ = true;
      queue_control(ws::kPing, {});
    }
  }
  if (now >= next_refresh_) {
    // Every store operation refreshes the TTL; an open connection that makes none
    // still keeps its session (and its user's index) alive every half TTL.
    next_refresh_ = now + refresh_period(ctx_.settings);
    session_->keep_alive();
  }
}

void WsConnection::wait_read() {
  if (tls_) return read_tls();  // a read is the wait under TLS
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](error_code ec) {
                       if (ec) {
                         self->close_socket();
                         return;
                       }
                       self->read_socket();
                     });
}

void WsConnection::read_socket() {
  if (phase_ == Phase::kEnded) return;
  if (tls_) return read_tls();
  int budget = kMessagesPerEvent;
  char* buf = loop_.scratch();
  for (;;) {
    error_code ec;
    size_t n = socket_.read_some(asio::buffer(buf, EventLoop::kScratchBytes), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      wait_read();
      return;
    }
    if (ec) {
      // EOF, reset: the peer is gone (or it answered our close by closing).
      if (ec != asio::error::eof && observe::log_enabled(observe::Level::kDebug))
        observe::log(observe::Level::kDebug, "ws", "connection " + socket_id_ + " ended: " + ec.message());
      close_socket();
      return;
    }
    if (!on_bytes(buf, n, budget)) return;
    if (n < EventLoop::kScratchBytes) {
      wait_read();  // most likely drained: the wait reports readiness if not
      return;
    }
  }
}

void WsConnection::read_tls() {
  tls_->async_read_some(asio::buffer(tls_in_.get(), kTlsReadBytes),
                        [self = shared_from_this()](error_code ec, std::size_t n) {
                          if (self->phase_ == Phase::kEnded) return;
                          if (ec) {
                            // EOF, reset, a TLS error: the peer is gone.
                            if (observe::log_enabled(observe::Level::kDebug))
                              observe::log(observe::Level::kDebug, "ws",
                                           "connection " + self->socket_id_ + " ended: " + ec.message());
                            self->close_socket();
                            return;
                          }
                          int budget = kMessagesPerEvent;
                          if (self->on_bytes(self->tls_in_.get(), n, budget)) self->read_tls();
                        });
}

bool WsConnection::on_bytes(char* buf, size_t n, int& budget) {
  if (phase_ < Phase::kClosing) {
    stamp_ = Clock::now();
    ping_sent_ = false;
  }
  size_t pos = 0;
  if (!consume(buf, n, pos, budget)) return false;
  if (pos < n) {
    // Fairness: the rest waits behind the loop's other work.
    backlog_.assign(buf + pos, n - pos);
    asio::post(loop_.ioc(), [self = shared_from_this()] { self->read_backlog(); });
    return false;
  }
  return true;
}

void WsConnection::read_backlog() {
  if (phase_ == Phase::kEnded) {
    std::string().swap(backlog_);
    return;
  }
  int budget = kMessagesPerEvent;
  size_t pos = 0;
  if (!consume(backlog_.data(), backlog_.size(), pos, budget)) {
    std::string().swap(backlog_);
    return;
  }
  if (pos < backlog_.size()) {
    backlog_.erase(0, pos);
    asio::post(loop_.ioc(), [self = shared_from_this()] { self->read_backlog(); });
    return;
  }
  std::string().swap(backlog_);
  read_socket();
}

bool WsConnection::consume(char* data, size_t size, size_t& pos, int& budget) {
  const uint64_t max = ctx_.settings.limits.max_message_bytes;
  while (budget > 0) {
    auto ev = parser_.next(data, size, pos, max);
    if (ev.kind != ws::FrameParser::Event::kNeedMore) --budget;  // control frames count too
    switch (ev.kind) {
      case ws::FrameParser::Event::kNeedMore:
        return true;
      case ws::FrameParser::Event::kMessage:
        if (phase_ != Phase::kOpen) break;  // closing: nothing more is answered
        if (!ev.text) {
          observe::bump(ctx_.metrics.bad_frames);
          send_frame(std::make_shared<const std::string>(
              error_frame("bad_request", "binary frames are not part of the protocol")));
        } else {
          handle_message(ev.payload);
        }
        break;
      case ws::FrameParser::Event::kPing:
        // Pongs waiting behind a stuck write are bounded: a flood of pings from a
        // peer that does not read gets its later pings unanswered (RFC 6455 5.5.3
        // allows answering only the most recent).
        if (phase_ < Phase::kClosing && control_.size() < kMaxPendingControl)
          queue_control(ws::kPong, ev.payload);
        break;
      case ws::FrameParser::Event::kPong:
        break;
      case ws::FrameParser::Event::kClose:
        close_received_ = true;
        if (close_frame_ == CloseFrame::kSent) {
          close_socket();
        } else if (phase_ < Phase::kClosing) {
          begin_close(ev.code, "");  // echo the peer's code
        }
        break;
      case ws::FrameParser::Event::kError:
        if (observe::log_enabled(observe::Level::kDebug))
          observe::log(observe::Level::kDebug, "ws",
                       "connection " + socket_id_ + ": " + ev.reason + " (close " +
                           std::to_string(ev.code) + ")");
        begin_close(ev.code, ev.reason);
        break;
    }
    if (phase_ == Phase::kEnded) return false;
  }
  return true;
}

void WsConnection::handle_message(std::string_view text) {
  std::optional<uint64_t> id;
  Result<rpc::RpcFrame> decoded = rpc::decode_rpc_frame(text, ctx_.settings.limits.json_max_depth, id);
  if (!decoded) {
    Error bad{"bad_request", decoded.status().message()};
    if (!id) {  // no call to answer
      observe::bump(ctx_.metrics.bad_frames);
      send_frame(std::make_shared<const std::string>(error_frame(bad.code, bad.message)));
      return;
    }
    observe::bump(ctx_.metrics.rpc_calls);
    send_reply(*id, Outcome(std::move(bad)));
    return;
  }
  rpc::RpcFrame& call = decoded.value();
  observe::bump(ctx_.metrics.rpc_calls);
  const uint64_t rid = call.id;
  if (!bucket_.take()) {
    observe::bump(ctx_.metrics.rpc_rate_limited);
    const auto limit = std::to_string(ctx_.settings.limits.rpc_per_second);
    send_reply(rid, Outcome(Error{"rate_limited", "more than " + limit + " calls per second"}));
    return;
  }

  Request req = detail::RequestAccess::make(std::move(call.method), std::move(call.params),
                                            socket_id_, Session(session_), ctx_.publisher);
  Future f = ctx_.rpc.call(req);
  // The outcome may arrive on any thread: hop back to this loop to reply.
  f.on_complete([self = shared_from_this(), rid](const Outcome& out) {
    if (self->loop_.in_loop()) {
      self->send_reply(rid, out);
    } else {
      boost::asio::post(self->loop_.ioc(), [self, rid, out] { self->send_reply(rid, out); });
    }
  });
}

void WsConnection::send_reply(uint64_t id, const Outcome& outcome) {
  std::string frame;
  if (const auto* e = std::get_if<Error>(&outcome)) {
    observe::bump(ctx_.metrics.rpc_errors);
    frame = error_reply_frame(id, e->code, e->message);
  } else if (const Json& result = std::get<Json>(outcome); !routing::all_numbers_finite(result)) {
    // Serialized, it would be `NaN` / `Infinity`: not JSON, and the client would
    // drop the whole batch it arrives in.
    static observe::ThrottledLog non_finite_log{std::chrono::seconds(10)};
    observe::bump(ctx_.metrics.rpc_errors);
    non_finite_log.warn("rpc", "a handler's result was replaced by a handler_error reply: it " +
                                   std::string(routing::kNonFiniteNumber));
    frame = error_reply_frame(id, "handler_error",
                              std::string("the result ") + routing::kNonFiniteNumber);
  } else {
    frame = reply_frame(id, result);
  }
  send_frame(std::make_shared<const std::string>(std::move(frame)));
}

void WsConnection::send_frame(const routing::Frame& frame) {
  if (phase_ != Phase::kOpen) return;
  if (!out_.push(frame)) {
    // Never re-enter the index from here (we may be inside its fan-out loop).
    phase_ = Phase::kCutOff;
    observe::bump(ctx_.metrics.slow_client_disconnects);
    asio::post(loop_.ioc(), [self = shared_from_this()] { self->cut_off(); });
    return;
  }
  want_flush();
}

void WsConnection::want_flush() {
  if (write_ != Write::kNone || flush_requested_) return;
  flush_requested_ = true;
  loop_.request_flush(shared_from_this());
}

void WsConnection::session_synced(const std::optional<std::string>& user,
                                  const std::vector<std::string>& channels) {
  session_->sync_binding(user, channels);
}

void WsConnection::session_rekeyed(const std::string& sealed_id) {
  // The index moved us to the new key already; the session ops need the new id
  // for the store. The connection that rotated knows it already (same result).
  if (auto id = ctx_.sessions.unseal_rotated_id(sealed_id, session_key_)) {
    session_->rekey(std::move(*id), session_key_);
    return;
  }
  // Not sealed with our secret: its store calls will fail with session_expired.
  observe::log(observe::Level::kWarn, "session",
               "a session-id rotation on the bus could not be opened (session.secret differs?)");
}

void WsConnection::flush() {
  flush_requested_ = false;
  if (write_ != Write::kNone || out_.empty() || phase_ >= Phase::kClosing) return;
  std::string_view payload = out_.take();
  write_ = Write::kEvents;
  out_header_len_ = static_cast<uint8_t>(ws::encode_header(out_header_, ws::kText, payload.size()));
  start_write(asio::const_buffer(payload.data(), payload.size()));
}

void WsConnection::start_write(asio::const_buffer payload) {
  std::array<asio::const_buffer, 2> bufs{asio::const_buffer(out_header_, out_header_len_), payload};
  write(bufs, [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
}

void WsConnection::queue_control(uint8_t opcode, std::string_view payload) {
  if (phase_ >= Phase::kClosing) return;
  ws::append_control(control_, opcode, payload);
  if (write_ == Write::kNone) write_control();
}

void WsConnection::write_control() {
  write_ = Write::kControl;
  if (close_frame_ == CloseFrame::kQueued) close_frame_ = CloseFrame::kInFlight;
  control_out_.assign(control_);
  std::string().swap(control_);
  out_header_len_ = 0;
  start_write(asio::const_buffer(control_out_.data(), control_out_.size()));
}

void WsConnection::on_write(error_code ec) {
  const Write done = write_;
  write_ = Write::kNone;
  if (done == Write::kControl) {
    // Control frames are few and small: their buffer is not kept.
    std::string().swap(control_out_);
  } else {
    out_.written();
  }
  if (ec || phase_ == Phase::kEnded) {
    close_socket();
    return;
  }
  if (close_frame_ == CloseFrame::kInFlight) {
    close_frame_ = CloseFrame::kSent;
    if (close_received_) {  // the handshake is complete
      close_socket();
      return;
    }
    // Wait for the peer's close (or EOF); the sweep bounds the wait.
    error_code ignored;
    tcp().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    return;
  }
  if (!control_.empty()) {
    write_control();
    return;
  }
  if (close_after_write_ && out_.empty()) {
    auto code = close_after_write_;
    close_after_write_ = 0;
    begin_close(code, close_after_write_reason_);
    return;
  }
  if (!out_.empty()) want_flush();
}

void WsConnection::close_going_away() {
  close_when_written(ws::close_code::kGoingAway, "server going away");
}

void WsConnection::close_requested(bool reconnect) {
  close_when_written(reconnect ? ws::close_code::kDisconnected : ws::close_code::kPolicyError,
                     "disconnected by the server");
}

void WsConnection::close_when_written(uint16_t code, const char* reason) {
  if (phase_ != Phase::kOpen) return;
  if (write_ != Write::kNone || !out_.empty()) {
    close_after_write_ = code;
    close_after_write_reason_ = reason;
    return;
  }
  begin_close(code, reason);
}

void WsConnection::begin_close(uint16_t code, const char* reason) {
  if (phase_ >= Phase::kClosing) return;
  phase_ = Phase::kClosing;
  stamp_ = Clock::now();
  out_.drop_waiting();  // undelivered frames go with the connection
  ws::append_close(control_, code, reason);
  close_frame_ = CloseFrame::kQueued;
  if (write_ == Write::kNone) write_control();
}

void WsConnection::cut_off() {
  if (phase_ == Phase::kEnded) return;
  if (write_ == Write::kNone) {
    // Nothing stuck in the kernel: a close frame can still go out.
    begin_close(ws::close_code::kTryAgainLater, "send queue overflow (slow reader)");
    return;
  }
  // A write is stuck behind a full socket buffer: drop the socket.
  error_code ignored;
  tcp().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  close_socket();
}

void WsConnection::close_socket() {
  error_code ignored;
  tcp().close(ignored);
  finish();
}

void WsConnection::finish() {
  if (phase_ == Phase::kEnded) return;
  const bool upgraded = phase_ != Phase::kUpgrading;
  phase_ = Phase::kEnded;
  if (upgraded) {
    ctx_.open.closed();
    loop_.shard().remove(this);
  }
  loop_.detach(this);
  if (token_) ctx_.sessions.end_token_session(session_->id(), session_->user_id());
  out_.release();
  std::string().swap(control_);
  ticket_.reset();
}

}  // namespace switchboard::net
