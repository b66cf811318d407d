#include "net/http_session.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/http_limits.hpp"
#include "net/static_files.hpp"
#include "net/ws_connection.hpp"
#include "net/ws_handshake.hpp"
#include "observe/log.hpp"
#include "session/ids.hpp"

namespace switchboard::net {

namespace {
// The first read of a keep-alive connection's next request (more follows as needed).
constexpr size_t kFirstReadBytes = 4096;
// After a closing answer, input is drained this long (at most the handshake
// timeout) and this much before the socket is closed.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr size_t kLingerBytes = 64 * 1024;

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}
}  // namespace

HttpSession::HttpSession(NetContext& ctx, EventLoop& loop, boost::asio::ip::tcp::socket&& socket)
    : ctx_(ctx), loop_(loop), stream_(socket.get_executor()) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  peer_ip_ = ec ? "?" : ep.address().to_string();
  if (ctx_.tls) {
    tls_ctx_ = ctx_.tls->current();
    tls_ = std::make_unique<TlsStream>(std::move(socket), *tls_ctx_);
  } else {
    stream_.socket() = std::move(socket);
  }
}

beast::tcp_stream& HttpSession::tcp() { return tls_ ? tls_->next_layer() : stream_; }

void HttpSession::run() {
  // Every accepted connection holds a slot from here on, plain HTTP too: idle
  // keep-alive connections must not exhaust file descriptors past the caps.
  Result<std::shared_ptr<ConnectionLimiter::Ticket>> ticket = ctx_.limiter->acquire(peer_ip_);
  if (!ticket) {
    observe::bump(ctx_.metrics.connections_refused);
    // Under TLS the 503 would need the handshake the cap is there to save: the
    // connection just closes.
    if (tls_) return;
    return reject(http::status::service_unavailable, ticket.status().message());
  }
  ticket_ = std::move(ticket.value());
  if (!tls_) return do_read();
  // TLS: the handshake first, under the same deadline as a request's headers.
  tcp().expires_after(ctx_.settings.server.handshake_timeout);
  tls_->async_handshake(boost::asio::ssl::stream_base::server,
                        [self = shared_from_this()](beast::error_code ec) {
                          if (ec) {
                            observe::bump(self->ctx_.metrics.tls_handshake_failures);
                            if (observe::log_enabled(observe::Level::kDebug))
                              observe::log(observe::Level::kDebug, "tls",
                                           "handshake with " + self->peer_ip_ + " failed: " + ec.message());
                            return;  // the connection closes
                          }
                          self->do_read();
                        });
}

void HttpSession::do_read() {
  parser_.emplace();
  limit_request_parser(*parser_);
  // Beast checks a Content-Length against the body limit with the head, before
  // on_header knows whether the request is the API's (larger bodies, its own 413
  // answer): with the API on, on_header sets each request's limit and checks the
  // declared length itself.
  if (ctx_.api.enabled()) parser_->body_limit(boost::none);
  if (requests_ > 0 && buffer_.size() == 0) {
    // Between two requests the idle limit applies; once bytes arrive the request
    // gets the handshake timeout like the first one.
    tcp().expires_after(ctx_.settings.server.keepalive_timeout);
    with_stream([&](auto& s) {
      s.async_read_some(buffer_.prepare(kFirstReadBytes),
                        beast::bind_front_handler(&HttpSession::on_first_bytes, shared_from_this()));
    });
    return;
  }
  read_request();
}

void HttpSession::on_first_bytes(beast::error_code ec, std::size_t n) {
  if (ec) return;  // idle past keepalive_timeout, or the client closed: close
  buffer_.commit(n);
  read_request();
}

void HttpSession::read_request() {
  // The head first: what it says decides how much body may follow (the API's
  // bodies may be larger than any other request's, once its key is checked).
  api_request_ = false;
  tcp().expires_after(ctx_.settings.server.handshake_timeout);
  with_stream([&](auto& s) {
    http::async_read_header(s, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
  });
}

void HttpSession::on_header(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  ++requests_;
  const auto& req = parser_->get();
  // Beast lets these through; both make the body's end (and so where the next
  // request starts) ambiguous to a proxy in front (request smuggling, RFC 9112 6.3).
  if (req.find(http::field::transfer_encoding) != req.end() && !parser_->chunked())
    return reject(http::status::bad_request,
                  "malformed request: Transfer-Encoding must end with chunked");
  if (req.version() >= 11 && req.find(http::field::host) == req.end())
    return reject(http::status::bad_request, "malformed request: HTTP/1.1 without Host");
  if (ctx_.shutting_down) {
    // Still accepting while the graceful phase lasts: every request is answered
    // (docs/operations.md "Shutdown") instead of refused at the TCP level.
    if (beast::websocket::is_upgrade(req)) observe::bump(ctx_.metrics.connections_refused);
    return reject(http::status::service_unavailable, "server shutting down");
  }
  const std::string_view path = path_of(req.target());
  if (api::HttpApi::owns(path) && !beast::websocket::is_upgrade(req)) {
    api_request_ = true;
    std::optional<uint64_t> length;
    if (auto n = parser_->content_length()) length = *n;
    // Refused on its head (no key, over the rate, too long...): the body is not
    // read, so the connection closes after the answer.
    if (auto early = ctx_.api.admit(path, req.method_string(), req[http::field::authorization],
                                    req[http::field::content_type], length))
      return respond(api_response(*early, req.version()), false);
    parser_->body_limit(ctx_.api.max_body_bytes());
    if (beast::iequals(req[http::field::expect], "100-continue")) return send_continue();
    return read_body();
  }
  if (auto n = parser_->content_length(); n && *n > kMaxRequestBody) return reject_body_limit();
  parser_->body_limit(kMaxRequestBody);  // a chunked body is counted as it arrives
  read_body();
}

void HttpSession::reject_body_limit() {
  reject(http::status::payload_too_large,
         "request bodies are limited to " + std::to_string(kMaxRequestBody / 1024) + " KiB");
}

void HttpSession::send_continue() {
  auto res = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
  with_stream([&](auto& s) {
    http::async_write(s, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (!ec) self->read_body();
    });
  });
}

void HttpSession::read_body() {
  with_stream([&](auto& s) {
    http::async_read(s, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  });
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  handle(parser_->release());
}

void HttpSession::on_read_error(beast::error_code ec) {
  // EOF between requests, a timeout (slow headers or body) or a socket error:
  // nobody to answer, close. A malformed request gets its status, then the
  // connection closes (what follows it cannot be trusted to start a request).
  if (ec.category() != http::make_error_code(http::error::end_of_stream).category() ||
      ec == http::error::end_of_stream)
    return;
  if (ec == http::error::header_limit)
    return reject(http::status::request_header_fields_too_large,
                  "request headers are limited to " + std::to_string(kMaxRequestHeader / 1024) +
                      " KiB");
  if (ec == http::error::body_limit) {
    if (api_request_) return respond(api_response(ctx_.api.too_large(), 11), false);
    return reject_body_limit();
  }
  if (ec == http::error::partial_message)
    return reject(http::status::bad_request, "incomplete request");
  // Beast refuses a bad request line or version, bad header names or values
  // (NUL and other control characters, LF without CR), bad chunks, Content-Length
  // together with Transfer-Encoding and conflicting Content-Lengths.
  return reject(http::status::bad_request, "malformed request: " + ec.message());
}

void HttpSession::reject(http::status status, std::string why) {
  if (api_request_) {
    // An API client reads JSON errors only.
    const unsigned code = static_cast<unsigned>(status);
    const char* name = code == 503 ? "unavailable" : code == 431 ? "headers_too_large" : "bad_request";
    return respond(api_response(api::error_answer(code, name, why), 11), false);
  }
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, "text/plain");
  res.body() = std::move(why) + "\n";
  res.prepare_payload();
  respond(std::move(res), false);
}

http::response<http::string_body> HttpSession::api_response(const api::Answer& a,
                                                            unsigned version) {
  http::response<http::string_body> res{static_cast<http::status>(a.status), version};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  if (a.retry_after_s) res.set(http::field::retry_after, std::to_string(a.retry_after_s));
  if (a.challenge) res.set(http::field::www_authenticate, "Bearer");
  if (a.allow_post) res.set(http::field::allow, "POST");
  res.body() = a.body + "\n";
  res.prepare_payload();
  return res;
}

std::string HttpSession::take_buffered() {
  std::string bytes = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  return bytes;
}

http::response<http::string_body> HttpSession::make(http::status status, const Request& req,
                                                    std::string body, std::string_view type) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, type);
  res.keep_alive(req.keep_alive());
  res.body() = req.method() == http::verb::head ? std::string() : std::move(body);
  res.prepare_payload();
  return res;
}

bool HttpSession::origin_allowed(const Request& req) const {
  auto origin = req[http::field::origin];
  if (origin.empty()) return true;  // not a browser: nothing to protect with CORS-style rules
  for (const auto& a : ctx_.settings.server.allowed_origins)
    if (a == "*" || a == origin) return true;
  auto host = req[http::field::host];
  std::string o(origin);
  return !host.empty() && (o == "http://" + std::string(host) || o == "https://" + std::string(host));
}

void HttpSession::handle(Request req) {
  const std::string_view path = path_of(req.target());
  if (api_request_) {
    // Admitted on its head (HttpSession::on_header): key, rate, type, length.
    // A session operation answers from a store or bus thread: back to this loop.
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    return ctx_.api.answer(path, req.body(), [self = shared_from_this(), version, keep_alive](api::Answer a) {
      boost::asio::post(self->loop_.ioc(), [self, version, keep_alive, a = std::move(a)] {
        auto res = self->api_response(a, version);
        res.keep_alive(keep_alive);
        self->respond(std::move(res), keep_alive);
      });
    });
  }
  if (beast::websocket::is_upgrade(req)) {
    if (path == "/ws") return upgrade(std::move(req));
    return respond(make(http::status::not_found, req, "no WebSocket endpoint here; use /ws\n",
                        "text/plain"),
                   false);
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return respond(make(http::status::method_not_allowed, req, "GET or HEAD only\n", "text/plain"),
                   req.keep_alive());
  if (path == "/healthz") {
    bool healthy = false;
    std::string body = ctx_.metrics.health_json(ctx_.live_state(), healthy);
    return respond(make(healthy ? http::status::ok : http::status::service_unavailable, req,
                        body + "\n", "application/json"),
                   req.keep_alive());
  }
  if (path == "/metrics")
    return respond(make(http::status::ok, req, ctx_.metrics.prometheus_text(ctx_.live_state()),
                        "text/plain; version=0.0.4; charset=utf-8"),
                   req.keep_alive());

  if (path == "/switchboard/session") {
    // Redeems a claim token after a session-id rotation (docs/protocol.md
    // "Session id rotation"): the HttpOnly cookie can only be set by a response.
    auto answer = ctx_.sessions.redeem_claim(
        query_param(req.target(), "claim").value_or(""), session::cookie_value(req[http::field::cookie], ctx_.settings.session.cookie));
    auto res = make(static_cast<http::status>(answer.status), req, answer.message, "text/plain");
    res.set(http::field::cache_control, "no-store");
    if (!answer.set_cookie.empty()) res.set(http::field::set_cookie, answer.set_cookie);
    return respond(std::move(res), req.keep_alive());
  }

  // Pages get the session cookie (a fresh signed id when none valid was sent), so
  // every tab of a browser shares one session from the first request on. No
  // store record is made here: the first WebSocket upgrade creates it.
  if (path == "/switchboard.js") {
    auto res = make(http::status::ok, req, std::string(ctx_.client_js), "text/javascript; charset=utf-8");
    res.set(http::field::cache_control, "no-cache");
    if (auto set_cookie = page_cookie(req)) res.set(http::field::set_cookie, *set_cookie);
    return respond(std::move(res), req.keep_alive());
  }
  const auto& server = ctx_.settings.server;
  auto file = open_static(server.static_dir, req.target(), server.static_follow_symlinks);
  if (!file)
    return respond(make(http::status::not_found, req, "not found\n", "text/plain"), req.keep_alive());
  auto res = static_response(req, std::move(*file));
  if (auto set_cookie = page_cookie(req)) res.set(http::field::set_cookie, *set_cookie);
  send_file(std::move(res), req.keep_alive());
}

struct HttpSession::FileWrite {
  explicit FileWrite(FileResponse r) : res(std::move(r)) {}
  FileResponse res;
  http::response_serializer<FileBody> sr{res};
};

void HttpSession::send_file(FileResponse res, bool keep_alive) {
  keep_alive = keep_alive_after(keep_alive);
  res.keep_alive(keep_alive);
  write_file(std::make_shared<FileWrite>(std::move(res)), keep_alive);
}

void HttpSession::write_file(std::shared_ptr<FileWrite> w, bool keep_alive) {
  // A deadline per write, not per response: a large download goes on as long as
  // the client keeps taking bytes, and one that stalls is dropped.
  tcp().expires_after(ctx_.settings.server.handshake_timeout);
  auto& sr = w->sr;
  with_stream([&](auto& s) {
    http::async_write_some(s, sr, [self = shared_from_this(), w = std::move(w), keep_alive](
                                      beast::error_code ec, std::size_t) mutable {
      if (!ec && !w->sr.is_done()) return self->write_file(std::move(w), keep_alive);
      self->after_write(ec, keep_alive);
    });
  });
}

std::optional<std::string> HttpSession::page_cookie(const Request& req) const {
  return ctx_.sessions.page_cookie(
      session::cookie_value(req[http::field::cookie], ctx_.settings.session.cookie));
}

void HttpSession::upgrade(Request req) {
  auto refuse = [&](http::status st, std::string why) {
    observe::bump(ctx_.metrics.connections_refused);
    respond(make(st, req, why + "\n", "text/plain"), false);
  };
  if (ctx_.shutting_down) return refuse(http::status::service_unavailable, "server shutting down");
  // A token connection carries no cookie to ride on, so any origin may open one
  // (the origin check guards cookie sessions against cross-site WebSocket hijacking).
  const ConnectToken token = connect_token(req);
  if (!token.value && !origin_allowed(req))
    return refuse(http::status::forbidden, "origin not allowed: " + std::string(req[http::field::origin]));
  if (auto bad = check_upgrade_request(req)) {
    // Refused before a session record is made for it.
    observe::bump(ctx_.metrics.connections_refused);
    auto res = make(bad.bad_version ? http::status::upgrade_required : http::status::bad_request,
                    req, std::string(bad.why) + "\n", "text/plain");
    if (bad.bad_version) res.set(http::field::sec_websocket_version, "13");
    return respond(std::move(res), false);
  }
  // The slot taken when the connection was accepted moves to the WebSocket.
  auto ticket = std::move(ticket_);
  auto shared_req = std::make_shared<Request>(std::move(req));
  auto opened = [self = shared_from_this(), shared_req, ticket](
                    WsConnection::Clock::time_point token_deadline) {
    return [self, shared_req, ticket, token_deadline](Status s, session::OpenedSession o) {
      boost::asio::post(self->loop_.ioc(), [self, shared_req, ticket, token_deadline, s,
                                            o = std::move(o)]() mutable {
        self->start_websocket(shared_req, ticket, s, std::move(o), token_deadline);
      });
    };
  };
  if (!token.value) {
    auto cookie = session::cookie_value(shared_req->base()[http::field::cookie],
                                        ctx_.settings.session.cookie);
    return ctx_.sessions.open(cookie, peer_ip_, opened(WsConnection::Clock::time_point::max()));
  }
  // Token authentication (docs/protocol.md): verified here, on the loop; a
  // refusal is a close code, which a browser's WebSocket can read (an HTTP
  // status it cannot).
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  std::variant<auth::TokenClaims, auth::TokenError> verdict =
      token.twice ? auth::TokenError{false, "two tokens (query and Authorization)"}
                  : ctx_.tokens.verify(*token.value, now_s);
  if (auto* e = std::get_if<auth::TokenError>(&verdict)) {
    observe::bump(ctx_.metrics.connections_refused);
    if (observe::log_enabled(observe::Level::kDebug))
      observe::log(observe::Level::kDebug, "ws", "token refused from " + peer_ip_ + ": " + e->why);
    return close_after_upgrade(*shared_req,
                               e->expired ? ws::close_code::kTokenExpired : ws::close_code::kTokenInvalid,
                               e->why);
  }
  auto& claims = std::get<auth::TokenClaims>(verdict);
  // The connection closes with 4402 once exp (+ leeway) passes.
  const auto left = std::chrono::seconds(claims.expires_s - now_s) +
                    std::chrono::duration_cast<std::chrono::seconds>(ctx_.settings.token.leeway);
  const auto deadline = left > std::chrono::hours(24 * 366) ? WsConnection::Clock::time_point::max()
                                                              : WsConnection::Clock::now() + left;
  ctx_.sessions.open_token(claims.user, claims.channels, peer_ip_, opened(deadline));
}

void HttpSession::start_websocket(const std::shared_ptr<Request>& req,
                                  std::shared_ptr<ConnectionLimiter::Ticket> ticket, Status s,
                                  session::OpenedSession o,
                                  WsConnection::Clock::time_point token_deadline) {
  if (!s.is_ok()) {
    auto& m = ctx_.metrics;
    observe::bump(m.connections_refused);
    if (s.code() == StatusCode::kLimit) {
      // A creation cap (429, retry later) or a full store (503).
      observe::bump(m.sessions_refused);
      auto res = make(o.retry_after_s ? http::status::too_many_requests
                                      : http::status::service_unavailable,
                      *req, "cannot create a session: " + s.message() + "\n", "text/plain");
      if (o.retry_after_s) res.set(http::field::retry_after, std::to_string(o.retry_after_s));
      return respond(std::move(res), false);
    }
    return respond(make(http::status::service_unavailable, *req,
                        "session store unavailable: " + s.message() + "\n", "text/plain"),
                   false);
  }
  if (o.created) observe::bump(ctx_.metrics.sessions_created);
  std::shared_ptr<WsConnection> conn;
  if (tls_) {
    tcp().expires_never();  // the WebSocket keeps its own deadlines (its loop's sweep)
    conn = std::make_shared<WsConnection>(ctx_, loop_, std::move(tls_), std::move(tls_ctx_),
                                          std::move(ticket), std::move(o), token_deadline);
  } else {
    conn = std::make_shared<WsConnection>(ctx_, loop_, stream_.release_socket(), std::move(ticket),
                                          std::move(o), token_deadline);
  }
  // Bytes read past the upgrade request (a first frame sent in the same TCP
  // write) go with the socket.
  conn->start(std::move(*req), take_buffered());
}

void HttpSession::close_after_upgrade(const Request& req, uint16_t code, const std::string& reason) {
  auto out = std::make_shared<std::string>(switching_protocols_head(req) + "\r\n");
  ws::append_close(*out, code, reason);
  with_stream([&](auto& s) {
    boost::asio::async_write(s, boost::asio::buffer(*out),
                             [self = shared_from_this(), out](beast::error_code ec, std::size_t) {
                               if (!ec) self->linger_close();
                             });
  });
}

void HttpSession::respond(http::response<http::string_body> res, bool keep_alive) {
  keep_alive = keep_alive_after(keep_alive);
  auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
  sp->keep_alive(keep_alive);  // the last answer says Connection: close
  tcp().expires_after(ctx_.settings.server.handshake_timeout);
  with_stream([&](auto& s) {
    http::async_write(s, *sp,
                      [self = shared_from_this(), sp, keep_alive](beast::error_code ec, std::size_t) {
                        self->after_write(ec, keep_alive);
                      });
  });
}

bool HttpSession::keep_alive_after(bool wanted) const {
  return wanted && !ctx_.shutting_down && requests_ < ctx_.settings.server.keepalive_requests;
}

void HttpSession::after_write(beast::error_code ec, bool keep_alive) {
  if (ec) return;
  if (!keep_alive) return linger_close();
  do_read();
}

void HttpSession::linger_close() {
  beast::error_code ignored;
  tcp().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  tcp().expires_after(std::min<std::chrono::milliseconds>(
      kLingerTime, ctx_.settings.server.handshake_timeout));
  drain(kLingerBytes);
}

void HttpSession::drain(size_t budget) {
  // Reads into the buffer's spare space without committing: nothing is kept.
  // Below TLS, if any: what is discarded need not be decrypted.
  tcp().async_read_some(buffer_.prepare(kFirstReadBytes),
                        [self = shared_from_this(), budget](beast::error_code ec, std::size_t n) {
                          // EOF (the usual end), the deadline or the budget: the
                          // last reference goes and the socket closes.
                          if (ec || n >= budget) return;
                          self->drain(budget - n);
                        });
}

}  // namespace switchboard::net
