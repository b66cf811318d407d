#include "support/ws_client.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "support/http_client.hpp"

namespace switchboard::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

// Server frames can be large (the slow-reader test floods); the client is not
// what is under test, so it accepts anything a test could reasonably provoke.
constexpr std::size_t kClientReadMessageMax = 256u * 1024u * 1024u;
// Bound for draining handlers after a hard close (they complete at once).
constexpr Millis kDrainTimeout{2000};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The completion state of one async operation, shared with its handler so that a
// handler running after a timed-out wait never touches a dead stack frame.
struct OpState {
  bool done = false;
  error_code ec;
};

}  // namespace

std::optional<std::string> cookie_value(std::string_view set_cookie, std::string_view name) {
  auto first = set_cookie.substr(0, set_cookie.find(';'));
  auto eq = first.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  if (trim(first.substr(0, eq)) != name) return std::nullopt;
  auto value = trim(first.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  return std::string(value);
}

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};  // destroyed before ioc
  beast::flat_buffer rbuf;
  websocket::response_type upgrade_response;
  bool open = false;     // upgraded and not yet closed
  bool reading = false;  // an async_read is outstanding
  CloseResult close;

  void hard_close() {
    error_code ignored;
    beast::get_lowest_layer(ws).close(ignored);
    open = false;
    close.closed = true;
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}

WsClient::~WsClient() {
  error_code ignored;
  beast::get_lowest_layer(impl_->ws).close(ignored);
  // Let aborted handlers run while `this` is still alive.
  impl_->ioc.restart();
  impl_->ioc.run_for(kDrainTimeout);
}

template <class Pred>
bool WsClient::run_until(Pred pred, Clock::time_point deadline) {
  auto& ioc = impl_->ioc;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    if (ioc.stopped()) ioc.restart();
    if (ioc.run_one_until(deadline) == 0 && ioc.stopped()) return pred();  // out of work
  }
  return true;
}

UpgradeResult WsClient::connect(const std::string& host, uint16_t port,
                                const ConnectOptions& opts) {
  upgrade_ = UpgradeResult{};
  host_ = host;
  port_ = port;
  auto_claim_ = opts.auto_claim;
  auto deadline = Clock::now() + opts.timeout;
  auto& sock = beast::get_lowest_layer(impl_->ws);
  error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    upgrade_.error = "bad host address " + host + ": " + ec.message();
    return upgrade_;
  }
  tcp::endpoint endpoint(address, port);
  sock.open(endpoint.protocol(), ec);
  if (!ec && opts.receive_buffer_bytes > 0)
    sock.set_option(net::socket_base::receive_buffer_size(opts.receive_buffer_bytes), ec);
  if (!ec && !opts.bind_address.empty()) {
    auto local = net::ip::make_address(opts.bind_address, ec);
    if (!ec) sock.bind(tcp::endpoint(local, 0), ec);
  }
  if (ec) {
    upgrade_.error = "socket setup: " + ec.message();
    return upgrade_;
  }

  auto op = std::make_shared<OpState>();
  sock.async_connect(endpoint, [op](error_code e) {
    op->done = true;
    op->ec = e;
  });
  if (!run_until([&] { return op->done; }, deadline)) {
    impl_->hard_close();
    run_until([&] { return op->done; }, Clock::now() + kDrainTimeout);
    upgrade_.error = "TCP connect timed out";
    return upgrade_;
  }
  if (op->ec) {
    upgrade_.error = "TCP connect: " + op->ec.message();
    return upgrade_;
  }

  auto& ws = impl_->ws;
  ws.read_message_max(kClientReadMessageMax);
  ws.auto_fragment(false);  // one send_text = one frame; fragments only on request
  std::string cookie = opts.cookie_header;
  if (cookie.empty() && !opts.session.empty())
    cookie = std::string(kSessionCookie) + "=" + opts.session;
  std::string origin = opts.origin;
  ws.set_option(websocket::stream_base::decorator([cookie, origin](websocket::request_type& req) {
    req.set(http::field::user_agent, "switchboard-test-client");
    if (!cookie.empty()) req.set(http::field::cookie, cookie);
    if (!origin.empty()) req.set(http::field::origin, origin);
  }));

  op = std::make_shared<OpState>();
  std::string host_header = host + ":" + std::to_string(port);
  ws.async_handshake(impl_->upgrade_response, host_header, opts.path, [op](error_code e) {
    op->done = true;
    op->ec = e;
  });
  if (!run_until([&] { return op->done; }, deadline)) {
    impl_->hard_close();
    run_until([&] { return op->done; }, Clock::now() + kDrainTimeout);
    upgrade_.error = "upgrade timed out";
    return upgrade_;
  }

  const auto& res = impl_->upgrade_response;
  upgrade_.status = res.result_int();
  for (const auto& field : res) {
    if (field.name() != http::field::set_cookie) continue;
    if (auto v = cookie_value(field.value(), kSessionCookie)) {
      upgrade_.set_cookie = std::string(field.value());
      upgrade_.session = *v;
    }
  }
  if (op->ec) {
    upgrade_.error = "upgrade refused: " + op->ec.message();
    impl_->hard_close();
    return upgrade_;
  }
  upgrade_.upgraded = true;
  impl_->open = true;
  session_ = upgrade_.session;
  if (session_.empty() && !opts.session.empty()) session_ = opts.session;
  if (session_.empty() && !opts.cookie_header.empty()) {
    // "a=1; sb.sid=XYZ; b=2": the value presented for the session cookie.
    std::string_view rest = opts.cookie_header;
    while (!rest.empty() && session_.empty()) {
      auto part = rest.substr(0, rest.find(';'));
      if (auto v = cookie_value(part, kSessionCookie)) session_ = *v;
      rest = part.size() < rest.size() ? rest.substr(part.size() + 1) : std::string_view{};
    }
  }

  if (opts.wait_ready) {
    upgrade_.ready = ready(std::chrono::duration_cast<Millis>(deadline - Clock::now())).has_value();
    if (!upgrade_.ready) upgrade_.error = "no ready frame before the deadline";
  }
  return upgrade_;
}

bool WsClient::is_open() const {
  return impl_->open && !impl_->close.closed;
}

void WsClient::start_read() {
  if (impl_->reading || !is_open()) return;
  impl_->reading = true;
  impl_->ws.async_read(impl_->rbuf, [this](error_code ec, std::size_t) {
    impl_->reading = false;
    if (ec) {
      auto& close = impl_->close;
      if (!close.closed) {
        close.closed = true;
        // A close frame may have arrived even when the read then failed in the
        // TCP teardown (e.g. the server had already reset the socket).
        const auto& received = impl_->ws.reason();
        if (received.code != websocket::close_code::none) {
          close.code = static_cast<uint16_t>(received.code);
          close.reason = std::string(received.reason.data(), received.reason.size());
        }
        if (ec != websocket::error::closed) close.error = ec;
      }
      impl_->open = false;
      return;
    }
    raw_.push_back({beast::buffers_to_string(impl_->rbuf.data()), !impl_->ws.got_text()});
    impl_->rbuf.consume(impl_->rbuf.size());
  });
}

void WsClient::parse_pending() {
  while (!raw_.empty()) {
    Inbound in = std::move(raw_.front());
    raw_.pop_front();
    if (in.binary) {
      violations_.push_back("binary frame of " + std::to_string(in.text.size()) + " bytes");
      continue;
    }
    error_code ec;
    json::value v = json::parse(in.text, ec);
    if (ec) {
      violations_.push_back("not JSON: " + in.text.substr(0, 200));
      continue;
    }
    absorb(std::move(v));
  }
}

void WsClient::absorb(json::value v) {
  if (v.is_array()) {  // a batch: each element as if it had arrived alone
    for (auto& element : v.as_array()) {
      if (element.is_array()) {
        violations_.push_back("nested batch: " + json::serialize(element).substr(0, 200));
        continue;
      }
      absorb(std::move(element));
    }
    return;
  }
  if (!v.is_object()) {
    violations_.push_back("frame is not an object: " + json::serialize(v).substr(0, 200));
    return;
  }
  auto& obj = v.as_object();
  const auto* t = obj.if_contains("t");
  if (t && t->is_string() && t->as_string() == "ready") {
    if (const auto* sid = obj.if_contains("socketId"); sid && sid->is_string())
      socket_id_ = std::string(sid->as_string());
    ready_ = std::move(obj);
    return;
  }
  if (t && t->is_string() && t->as_string() == "session") {
    const auto* claim = obj.if_contains("claim");
    if (!claim || !claim->is_string()) {
      violations_.push_back("session frame without a claim: " + json::serialize(obj).substr(0, 200));
      return;
    }
    claims_.emplace_back(claim->as_string());
    if (!auto_claim_) return;
    // What the JS client does: redeem the token with the cookie we hold, keep the
    // cookie the answer sets. The claim precedes the reply that a caller awaits,
    // so the new cookie is held by the time rpc() returns.
    Headers headers;
    if (!session_.empty()) headers.emplace_back("Cookie", std::string(kSessionCookie) + "=" + session_);
    auto res = http_get(port_, "/switchboard/session?claim=" + claims_.back(), headers, host_);
    last_claim_status_ = res.status;
    for (const auto& v : res.headers_named("Set-Cookie"))
      if (auto value = cookie_value(v, kSessionCookie)) session_ = *value;
    return;
  }
  frames_.push_back(std::move(obj));
}

std::optional<json::object> WsClient::take_first(std::string_view type) {
  for (auto it = frames_.begin(); it != frames_.end(); ++it) {
    const auto* t = it->if_contains("t");
    if (type.empty() || (t && t->is_string() && t->as_string() == type)) {
      json::object out = std::move(*it);
      frames_.erase(it);
      return out;
    }
  }
  return std::nullopt;
}

std::optional<json::object> WsClient::wait_frame(std::string_view type, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    parse_pending();
    if (auto f = take_first(type)) return f;
    if (!is_open()) return std::nullopt;
    start_read();
    if (!run_until([&] { return !impl_->reading || !is_open(); }, deadline)) {
      parse_pending();
      return take_first(type);
    }
  }
}

std::optional<json::object> WsClient::ready(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    parse_pending();
    if (ready_) return ready_;
    if (!is_open()) return std::nullopt;
    start_read();
    if (!run_until([&] { return !impl_->reading || !is_open(); }, deadline)) {
      parse_pending();
      return ready_;
    }
  }
}

uint64_t WsClient::send_rpc(std::string_view method, json::array args) {
  uint64_t id = next_id_++;
  json::object frame;
  frame["t"] = "rpc";
  frame["id"] = id;
  frame["m"] = method;
  frame["p"] = std::move(args);
  send_text(json::serialize(frame));
  return id;
}

json::object WsClient::wait_reply(uint64_t id, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  auto take = [&]() -> std::optional<json::object> {
    parse_pending();
    for (auto it = frames_.begin(); it != frames_.end(); ++it) {
      const auto* t = it->if_contains("t");
      const auto* rid = it->if_contains("id");
      if (!t || !t->is_string() || t->as_string() != "reply" || !rid || !rid->is_number()) continue;
      error_code ec;
      if (rid->to_number<uint64_t>(ec) == id && !ec) {
        json::object out = std::move(*it);
        frames_.erase(it);
        return out;
      }
    }
    return std::nullopt;
  };
  for (;;) {
    if (auto r = take()) return *r;
    if (!is_open())
      throw TimeoutError("connection closed before the reply to rpc id " + std::to_string(id));
    start_read();
    if (!run_until([&] { return !impl_->reading || !is_open(); }, deadline)) {
      if (auto r = take()) return *r;
      throw TimeoutError("no reply to rpc id " + std::to_string(id) + " within " +
                         std::to_string(timeout.count()) + " ms");
    }
  }
}

json::object WsClient::rpc(std::string_view method, json::array args, Millis timeout) {
  return wait_reply(send_rpc(method, std::move(args)), timeout);
}

std::optional<json::object> WsClient::next_event(Millis timeout) {
  return wait_frame("event", timeout);
}

std::optional<json::object> WsClient::next_error(Millis timeout) {
  return wait_frame("error", timeout);
}

std::optional<json::object> WsClient::next_frame(Millis timeout) {
  return wait_frame("", timeout);
}

std::optional<std::string> WsClient::read_frame(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!raw_.empty()) {
      std::string text = std::move(raw_.front().text);
      raw_.pop_front();
      return text;
    }
    if (!is_open()) return std::nullopt;
    start_read();
    if (!run_until([&] { return !impl_->reading || !is_open(); }, deadline) && raw_.empty())
      return std::nullopt;
  }
}

void WsClient::poll(Millis duration) {
  auto deadline = Clock::now() + duration;
  while (is_open() && Clock::now() < deadline) {
    start_read();
    run_until([&] { return !impl_->reading || !is_open(); }, deadline);
  }
}

void WsClient::write(std::string_view data, bool binary, Millis timeout) {
  if (!is_open()) throw std::runtime_error("write on a closed connection");
  auto deadline = Clock::now() + timeout;
  auto buf = std::make_shared<std::string>(data);
  auto op = std::make_shared<OpState>();
  impl_->ws.binary(binary);
  impl_->ws.async_write(net::buffer(*buf), [op, buf](error_code ec, std::size_t) {
    op->done = true;
    op->ec = ec;
  });
  if (!run_until([&] { return op->done; }, deadline)) {
    impl_->hard_close();
    run_until([&] { return op->done; }, Clock::now() + kDrainTimeout);
    throw TimeoutError("write did not complete within " + std::to_string(timeout.count()) + " ms");
  }
  if (op->ec) throw std::runtime_error("write failed: " + op->ec.message());
}

void WsClient::send_text(std::string_view text, Millis timeout) {
  write(text, false, timeout);
}

void WsClient::send_binary(std::string_view bytes, Millis timeout) {
  write(bytes, true, timeout);
}

bool WsClient::send_fragment(std::string_view text, bool fin, Millis timeout) {
  if (!is_open()) return false;
  auto deadline = Clock::now() + timeout;
  auto buf = std::make_shared<std::string>(text);
  auto op = std::make_shared<OpState>();
  impl_->ws.text(true);
  impl_->ws.async_write_some(fin, net::buffer(*buf), [op, buf](error_code ec, std::size_t) {
    op->done = true;
    op->ec = ec;
  });
  if (!run_until([&] { return op->done; }, deadline)) {
    impl_->hard_close();
    run_until([&] { return op->done; }, Clock::now() + kDrainTimeout);
    return false;
  }
  return !op->ec;
}

void WsClient::close(uint16_t code, Millis timeout) {
  if (!is_open()) return;
  auto deadline = Clock::now() + timeout;
  auto op = std::make_shared<OpState>();
  impl_->ws.async_close(websocket::close_reason(code), [op](error_code ec) {
    op->done = true;
    op->ec = ec;
  });
  if (!run_until([&] { return op->done; }, deadline)) {
    impl_->hard_close();
    run_until([&] { return op->done && !impl_->reading; }, Clock::now() + kDrainTimeout);
    return;
  }
  impl_->open = false;
  impl_->close.closed = true;
  if (!impl_->close.code && impl_->ws.reason().code != websocket::close_code::none)
    impl_->close.code = static_cast<uint16_t>(impl_->ws.reason().code);
}

CloseResult WsClient::wait_closed(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (is_open()) {
    start_read();
    if (!run_until([&] { return !impl_->reading || !is_open(); }, deadline)) break;
  }
  return impl_->close;
}

}  // namespace switchboard::test
