#include "connection.hpp"

#include <chrono>
#include <optional>
#include <type_traits>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

namespace switchboard::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {
constexpr auto kConnectTimeout = std::chrono::seconds(30);
constexpr size_t kReadMessageMax = 64u << 20;

// The client side of every TLS connection of this process. The certificate is
// not verified: the benchmark measures the cost of the encryption against a
// server it started itself with a throwaway certificate.
ssl::context& client_tls() {
  static ssl::context ctx = [] {
    ssl::context c(ssl::context::tls_client);
    c.set_verify_mode(ssl::verify_none);
    return c;
  }();
  return ctx;
}

// A Connection over `Next`: beast::tcp_stream (ws://) or
// beast::ssl_stream<beast::tcp_stream> (wss://).
template <class Next>
class StreamConnection final : public Connection {
 public:
  static constexpr bool kTls = !std::is_same_v<Next, beast::tcp_stream>;

  StreamConnection(net::io_context& ioc, const Endpoint& ep, const Protocol& proto,
                   ConnectionEvents& events, size_t index, std::vector<SetupStep> setup)
      : Connection(ioc, ep, proto, events, index, std::move(setup)) {}

  void start() override {
    reset();
    if constexpr (kTls) ws_.emplace(ioc_, client_tls());
    else ws_.emplace(ioc_);
    ws_->read_message_max(kReadMessageMax);
    ws_->binary(proto_.binary());
    ws_->auto_fragment(false);
    ws_->set_option(websocket::stream_base::decorator([cookie = cookie_](websocket::request_type& r) {
      r.set(http::field::user_agent, "switchboard-bench");
      if (!cookie.empty()) r.set(http::field::cookie, cookie);
    }));
    // Covers the connect and, under TLS, its handshake.
    beast::get_lowest_layer(*ws_).expires_after(kConnectTimeout);
    ++pending_;
    beast::get_lowest_layer(*ws_).async_connect(
        tcp::endpoint(net::ip::make_address(ep_.host), ep_.port),
        [self = shared()](beast::error_code ec) { self->on_connect(ec); });
  }

 private:
  std::shared_ptr<StreamConnection> shared() {
    return std::static_pointer_cast<StreamConnection>(shared_from_this());
  }

  void on_connect(beast::error_code ec) {
    --pending_;
    if (ec || state_ == State::failed) return fail("connect: " + ec.message()), op_done();
    beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true));
    if constexpr (kTls) {
      ++pending_;
      ws_->next_layer().async_handshake(ssl::stream_base::client,
                                        [self = shared()](beast::error_code e) {
                                          --self->pending_;
                                          if (e || self->state_ == State::failed)
                                            return self->fail("TLS handshake: " + e.message()),
                                                   self->op_done();
                                          self->upgrade();
                                        });
    } else {
      upgrade();
    }
  }

  void upgrade() {
    beast::get_lowest_layer(*ws_).expires_never();
    ws_->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ++pending_;
    ws_->async_handshake(upgrade_, ep_.host + ":" + std::to_string(ep_.port), proto_.target(),
                         [self = shared()](beast::error_code e) {
                           --self->pending_;
                           if (e || self->state_ == State::failed)
                             return self->fail("upgrade: " + e.message()), self->op_done();
                           self->on_upgraded();
                           self->read();
                         });
  }

  void read() {
    ++pending_;
    ws_->async_read(in_, [self = shared()](beast::error_code ec, size_t n) {
      --self->pending_;
      if (ec || self->state_ == State::failed) return self->on_read_error(ec);
      self->on_frame(n);
      if (self->state_ != State::failed) self->read();
      self->op_done();
    });
  }

  void write() override {
    writing_ = true;
    ++pending_;
    ws_->async_write(net::buffer(out_.front()),
                     [self = shared()](beast::error_code ec, size_t) { self->on_written(ec); });
  }

  void close_socket() override {
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  }

  uint16_t close_code() const override { return ws_->reason().code; }

  std::optional<websocket::stream<Next>> ws_;
};

}  // namespace

std::shared_ptr<Connection> Connection::make(net::io_context& ioc, const Endpoint& ep,
                                             const Protocol& proto, ConnectionEvents& events,
                                             size_t index, std::vector<SetupStep> setup) {
  if (ep.tls)
    return std::make_shared<StreamConnection<beast::ssl_stream<beast::tcp_stream>>>(
        ioc, ep, proto, events, index, std::move(setup));
  return std::make_shared<StreamConnection<beast::tcp_stream>>(ioc, ep, proto, events, index,
                                                               std::move(setup));
}

Connection::Connection(net::io_context& ioc, const Endpoint& ep, const Protocol& proto,
                       ConnectionEvents& events, size_t index, std::vector<SetupStep> setup)
    : ioc_(ioc), ep_(ep), proto_(proto), events_(events), index_(index), setup_(std::move(setup)) {}

void Connection::reset() {
  // A reconnecting Switchboard client gets its channels and user back from its
  // session; the other protocols ask again.
  setup_at_ = restart_ && proto_.restores_subscriptions() ? setup_.size() : 0;
  in_.clear();
  out_.clear();
  writing_ = false;
  restart_ = false;
  reported_ = false;
  state_ = State::connecting;
}

void Connection::on_upgraded() {
  if (auto it = upgrade_.find(http::field::set_cookie); it != upgrade_.end()) {
    std::string_view v = it->value();
    cookie_ = std::string(v.substr(0, v.find(';')));
  }
  state_ = State::handshake;
  if (auto f = proto_.open_frame(); !f.empty()) send(std::move(f));
}

void Connection::on_read_error(beast::error_code ec) {
  if (ec == websocket::error::closed)
    fail("closed by the server with code " + std::to_string(close_code()));
  else
    fail("read: " + ec.message());
  op_done();
}

void Connection::on_frame(size_t n) {
  handle(std::string_view(static_cast<const char*>(in_.cdata().data()), n));
  in_.consume(n);
}

void Connection::handle(std::string_view f) {
  if (state_ == State::handshake) {
    auto h = proto_.handshake(f);
    if (!h.reply.empty()) send(std::move(h.reply));
    if (h.failed) return fail("handshake refused: " + std::string(f.substr(0, 200)));
    if (h.ready) {
      server_id_ = std::move(h.id);
      state_ = State::setup;
      next_setup();
    }
    return;
  }
  if (auto r = proto_.keepalive_reply(f); !r.empty()) send(std::move(r));
  if (state_ == State::setup) {
    switch (proto_.acks(f, setup_[setup_at_ - 1], next_id_ - 1)) {
      case Ack::none: break;
      case Ack::error: return fail("setup refused: " + std::string(f.substr(0, 200)));
      case Ack::ok: next_setup(); break;
    }
  }
  if (state_ == State::ready) events_.on_frame(*this, f);
  uint64_t now = 0;
  scan_markers(f, [&](const Marker& m) {
    if (!now) now = now_us();
    events_.on_marker(*this, m, now);
  });
}

void Connection::next_setup() {
  if (setup_at_ == setup_.size()) {
    state_ = State::ready;
    events_.on_ready(*this);
    return;
  }
  send(proto_.setup(setup_[setup_at_++], next_id_++));
}

void Connection::send(std::string frame) {
  if (state_ == State::failed || state_ == State::idle) return;
  out_.push_back(std::move(frame));
  if (!writing_) write();
}

void Connection::on_written(beast::error_code ec) {
  writing_ = false;
  --pending_;
  if (ec || state_ == State::failed) {
    fail("write: " + ec.message());
    return op_done();
  }
  out_.pop_front();
  if (!out_.empty()) write();
}

void Connection::drop_and_reconnect() {
  restart_ = true;
  if (state_ == State::idle) return start();
  fail("dropped");
  op_done();
}

void Connection::fail(const std::string& why) {
  if (state_ == State::failed) return;
  state_ = State::failed;
  fail_reason_ = why;
  close_socket();
}

void Connection::op_done() {
  if (state_ != State::failed || pending_ > 0) return;
  if (restart_) return start();
  if (reported_) return;
  reported_ = true;
  state_ = State::idle;
  events_.on_closed(*this, fail_reason_);
}

}  // namespace switchboard::bench
