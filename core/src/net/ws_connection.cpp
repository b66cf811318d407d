#include "net/ws_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "net/client_frames.hpp"
#include "observe/log.hpp"
#include "session/ids.hpp"

namespace switchboard::net {
namespace json = boost::json;

namespace {
// Outbound buffers kept between writes up to these sizes (larger ones are freed).
constexpr size_t kKeepQueueSlots = 16;
constexpr size_t kKeepBatchBytes = 4096;
}  // namespace

WsConnection::WsConnection(NetContext& ctx, EventLoop& loop, beast::tcp_stream&& stream,
                           std::shared_ptr<ConnectionLimiter::Ticket> ticket,
                           session::OpenedSession session)
    : ctx_(ctx),
      loop_(loop),
      ws_(std::move(stream)),
      ticket_(std::move(ticket)),
      opened_(std::move(session)),
      bucket_(ctx.settings.limits.rpc_per_second),
      refresh_(loop.ioc()) {
  socket_id_ = session::new_socket_id();
  session_key_ = opened_.key;
  session_ = std::make_shared<detail::SessionOps>(ctx_.sessions, opened_.id, opened_.key,
                                                  opened_.record);
}

WsConnection::~WsConnection() = default;

void WsConnection::start(http::request<http::string_body> req) {
  const auto& s = ctx_.settings;
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = s.server.handshake_timeout;
  t.idle_timeout = s.server.idle_timeout;
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.read_message_max(s.limits.max_message_bytes);
  ws_.auto_fragment(false);
  std::optional<std::string> cookie;
  if (opened_.issued) cookie = ctx_.sessions.set_cookie_header(opened_.id);
  ws_.set_option(websocket::stream_base::decorator([cookie](websocket::response_type& res) {
    res.set(http::field::server, "switchboard");
    if (cookie) res.set(http::field::set_cookie, *cookie);
  }));
  ws_.async_accept(req, beast::bind_front_handler(&WsConnection::on_accept, shared_from_this()));
}

void WsConnection::on_accept(beast::error_code ec) {
  if (ec) {
    finish();
    return;
  }
  open_ = true;
  ctx_.metrics.connections.fetch_add(1);
  observe::bump(ctx_.metrics.connections_total);
  loop_.shard().add(this, opened_.record.user_id, opened_.record.channels);
  ws_.text(true);
  send_frame(std::make_shared<const std::string>(ready_frame(socket_id_)));
  if (ctx_.shutting_down) {
    close_going_away();
    return;
  }
  schedule_refresh();
  do_read();
}

void WsConnection::schedule_refresh() {
  // Every store operation refreshes the TTL; an open connection that makes none
  // still keeps its session alive by reading it every half TTL.
  refresh_.expires_after(std::max<std::chrono::milliseconds>(ctx_.settings.session.ttl / 2,
                                                             std::chrono::seconds(1)));
  refresh_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_) return;
    self->session_->list();
    self->schedule_refresh();
  });
}

void WsConnection::do_read() {
  ws_.async_read(in_, beast::bind_front_handler(&WsConnection::on_read, shared_from_this()));
}

void WsConnection::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // closed by the peer, too big (Beast sent 1009), idle timeout, or we closed.
    if (ec != websocket::error::closed && ec != boost::asio::error::operation_aborted &&
        observe::log_enabled(observe::Level::kDebug))
      observe::log(observe::Level::kDebug, "ws", "connection " + socket_id_ + " ended: " + ec.message());
    finish();
    return;
  }
  if (!ws_.got_text()) {
    observe::bump(ctx_.metrics.bad_frames);
    send_frame(std::make_shared<const std::string>(
        error_frame("bad_request", "binary frames are not part of the protocol")));
  } else {
    auto data = in_.cdata();
    handle_message({static_cast<const char*>(data.data()), data.size()});
  }
  in_.consume(in_.size());
  do_read();  // also while closing: the read ends with the socket and calls finish()
}

void WsConnection::handle_message(std::string_view text) {
  auto bad = [this](std::string msg) {
    observe::bump(ctx_.metrics.bad_frames);
    send_frame(std::make_shared<const std::string>(error_frame("bad_request", msg)));
  };
  json::parse_options opt;
  opt.max_depth = ctx_.settings.limits.json_max_depth;
  std::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opt);
  if (ec) return bad("not valid JSON: " + ec.message());
  if (!v.is_object()) return bad("a frame must be a JSON object");
  auto& o = v.get_object();
  const json::value* t = o.if_contains("t");
  const json::value* id = o.if_contains("id");
  if (t == nullptr || !t->is_string() || t->get_string() != "rpc")
    return bad("unknown frame type (expected \"t\":\"rpc\")");
  uint64_t rid = 0;
  if (id != nullptr && id->is_uint64()) rid = id->get_uint64();
  else if (id != nullptr && id->is_int64() && id->get_int64() >= 0) rid = static_cast<uint64_t>(id->get_int64());
  else return bad("\"id\" must be a non-negative integer");
  if (rid > (uint64_t{1} << 53) - 1) return bad("\"id\" must be at most 2^53-1");

  observe::bump(ctx_.metrics.rpc_calls);
  auto reply_error = [&](const char* code, std::string msg) {
    send_reply(rid, Outcome(Error{code, std::move(msg)}));
  };
  const json::value* m = o.if_contains("m");
  if (m == nullptr || !m->is_string() || m->get_string().empty() || m->get_string().size() > 256)
    return reply_error("bad_request", "\"m\" must be a method name of 1..256 bytes");
  const json::value* p = o.if_contains("p");
  if (p != nullptr && !p->is_array()) return reply_error("bad_request", "\"p\" must be an array");
  if (!bucket_.take()) {
    observe::bump(ctx_.metrics.rpc_rate_limited);
    return reply_error("rate_limited", "more than " +
                                           std::to_string(ctx_.settings.limits.rpc_per_second) +
                                           " calls per second");
  }

  auto data = std::make_shared<Request::Data>(Request::Data{
      std::string(m->get_string()), p ? p->get_array() : json::array{}, socket_id_,
      Session(session_), &ctx_.publisher});
  Request req(std::move(data));
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
  } else {
    frame = reply_frame(id, std::get<Json>(outcome));
  }
  send_frame(std::make_shared<const std::string>(std::move(frame)));
}

void WsConnection::send_frame(const routing::Frame& frame) {
  if (!open_ || closing_) return;
  if (queued_bytes_ + frame->size() > ctx_.settings.limits.send_queue_bytes) {
    // Never re-enter the index from here (we may be inside its fan-out loop).
    closing_ = true;
    observe::bump(ctx_.metrics.slow_client_disconnects);
    boost::asio::post(loop_.ioc(), [self = shared_from_this()] { self->cut_off(); });
    return;
  }
  queue_.push_back(frame);
  queued_bytes_ += frame->size();
  want_flush();
}

void WsConnection::want_flush() {
  if (writing_ || flush_requested_) return;
  flush_requested_ = true;
  loop_.request_flush(shared_from_this());
}

void WsConnection::session_synced(const std::optional<std::string>& user,
                                  const std::vector<std::string>& channels) {
  session_->sync_binding(user, channels);
}

void WsConnection::flush() {
  flush_requested_ = false;
  if (writing_ || queue_.empty() || finished_) return;
  // One frame goes out as it is (shared, no copy); several are copied into one
  // batch frame, so the whole burst is a single contiguous write whatever its
  // length (a gather list would be cut into 16-buffer writes by the socket layer).
  if (queue_.size() == 1) {
    single_ = std::move(queue_.front());
    in_flight_bytes_ = single_->size();
    out_ = boost::asio::const_buffer(single_->data(), single_->size());
  } else {
    in_flight_bytes_ = 0;
    for (const auto& f : queue_) in_flight_bytes_ += f->size();
    batch_.clear();
    batch_.reserve(in_flight_bytes_ + queue_.size() + 1);
    batch_ += '[';
    for (size_t i = 0; i < queue_.size(); ++i) {
      if (i) batch_ += ',';
      batch_ += *queue_[i];
    }
    batch_ += ']';
    out_ = boost::asio::const_buffer(batch_.data(), batch_.size());
  }
  queue_.clear();
  if (queue_.capacity() > kKeepQueueSlots) std::vector<routing::Frame>().swap(queue_);
  writing_ = true;
  ws_.async_write(out_, beast::bind_front_handler(&WsConnection::on_write, shared_from_this()));
}

void WsConnection::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  queued_bytes_ -= in_flight_bytes_;
  in_flight_bytes_ = 0;
  single_.reset();
  // A burst's buffer is not kept: idle connections hold no write memory.
  if (batch_.capacity() > kKeepBatchBytes) std::string().swap(batch_);
  if (ec) {
    closing_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    return;  // the read side ends and calls finish()
  }
  if (close_after_write_ && queue_.empty()) {
    auto code = *close_after_write_;
    close_after_write_.reset();
    begin_close(code, "server going away");
    return;
  }
  if (!queue_.empty()) want_flush();
}

void WsConnection::close_going_away() {
  if (!open_ || closing_) return;
  if (writing_ || !queue_.empty()) {
    close_after_write_ = websocket::close_code::going_away;
    return;
  }
  begin_close(websocket::close_code::going_away, "server going away");
}

void WsConnection::begin_close(websocket::close_code code, const char* reason) {
  if (close_started_) return;
  close_started_ = true;
  closing_ = true;
  ws_.async_close(websocket::close_reason(code, reason),
                  [self = shared_from_this()](beast::error_code) {
                    beast::error_code ignored;
                    beast::get_lowest_layer(self->ws_).socket().close(ignored);
                  });
}

void WsConnection::cut_off() {
  if (!writing_) {
    // Nothing stuck in the kernel: a close frame can still go out.
    begin_close(websocket::close_code::try_again_later, "send queue overflow (slow reader)");
    return;
  }
  // A write is stuck behind a full socket buffer: drop the socket.
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(ws_).socket().close(ignored);
}

void WsConnection::finish() {
  if (finished_) return;
  finished_ = true;
  if (open_) {
    open_ = false;
    ctx_.metrics.connections.fetch_sub(1);
  }
  closing_ = true;
  loop_.shard().remove(this);
  refresh_.cancel();
  queue_.clear();
  ticket_.reset();
}

}  // namespace switchboard::net

namespace switchboard::net {

void EventLoop::request_flush(std::shared_ptr<WsConnection> c) {
  dirty_.push_back(std::move(c));
  if (!flush_posted_) schedule_flush();
}

void EventLoop::schedule_flush() {
  flush_posted_ = true;
  auto due = last_pass_ + write_interval_;
  if (write_interval_.count() == 0 || std::chrono::steady_clock::now() >= due) {
    boost::asio::post(ioc_, [this] { flush_pass(); });
    return;
  }
  flush_timer_.expires_at(due);
  flush_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) flush_pass();
  });
}

void EventLoop::flush_pass() {
  if (flush_at_ == flushing_.size()) {  // a new pass: take every connection that asked
    flushing_.clear();
    flush_at_ = 0;
    flushing_.swap(dirty_);
    last_pass_ = std::chrono::steady_clock::now();
  }
  size_t end = std::min(flushing_.size(), flush_at_ + kFlushChunk);
  for (; flush_at_ < end; ++flush_at_) flushing_[flush_at_]->flush();
  if (flush_at_ < flushing_.size()) {
    // Yield between chunks: reads (RPCs among them) and deliveries queued behind
    // this pass run before its next chunk.
    boost::asio::post(ioc_, [this] { flush_pass(); });
    return;
  }
  flushing_.clear();
  flush_at_ = 0;
  flush_posted_ = false;
  if (!dirty_.empty()) schedule_flush();
}

}  // namespace switchboard::net
