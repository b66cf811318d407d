#include "net/http_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/static_files.hpp"
#include "net/ws_connection.hpp"
#include "session/ids.hpp"

namespace switchboard::net {

namespace {
constexpr size_t kMaxRequestBody = 16 * 1024;  // we take no uploads; bounds memory

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}
}  // namespace

HttpSession::HttpSession(NetContext& ctx, EventLoop& loop, boost::asio::ip::tcp::socket&& socket)
    : ctx_(ctx), loop_(loop), stream_(std::move(socket)) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  peer_ip_ = ec ? "?" : ep.address().to_string();
}

void HttpSession::run() { do_read(); }

void HttpSession::do_read() {
  parser_.emplace();
  parser_->body_limit(kMaxRequestBody);
  stream_.expires_after(ctx_.settings.server.handshake_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // Timeout, EOF or a malformed request: drop the connection.
    if (ec != http::error::end_of_stream && ec != beast::error::timeout && parser_ &&
        parser_->got_some()) {
      beast::error_code ignored;
      stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    }
    return;
  }
  handle(parser_->release());
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
    std::string body = ctx_.metrics.health_json(healthy);
    return respond(make(healthy ? http::status::ok : http::status::service_unavailable, req,
                        body + "\n", "application/json"),
                   req.keep_alive());
  }
  if (path == "/metrics")
    return respond(make(http::status::ok, req, ctx_.metrics.prometheus_text(),
                        "text/plain; version=0.0.4; charset=utf-8"),
                   req.keep_alive());

  std::optional<http::response<http::string_body>> res;
  if (path == "/switchboard.js") {
    res = make(http::status::ok, req, std::string(ctx_.client_js), "text/javascript; charset=utf-8");
    res->set(http::field::cache_control, "no-cache");
  } else if (auto file = read_static(ctx_.settings.server.static_dir, req.target())) {
    res = make(http::status::ok, req, std::move(file->body), file->content_type);
    res->set(http::field::cache_control, "no-cache");
  } else {
    return respond(make(http::status::not_found, req, "not found\n", "text/plain"), req.keep_alive());
  }
  // Pages get the session cookie (issued when absent or unknown), so every tab of
  // a browser shares one session from the first request on.
  auto cookie = session::cookie_value(req[http::field::cookie], ctx_.settings.session.cookie);
  bool keep = req.keep_alive();
  auto shared_res = std::make_shared<http::response<http::string_body>>(std::move(*res));
  ctx_.sessions.open(cookie, [self = shared_from_this(), shared_res, keep](Status s,
                                                                          session::OpenedSession o) {
    boost::asio::post(self->loop_.ioc(), [self, shared_res, keep, s, o = std::move(o)] {
      if (s.is_ok() && o.issued)
        shared_res->set(http::field::set_cookie, self->ctx_.sessions.set_cookie_header(o.id));
      self->respond(std::move(*shared_res), keep);
    });
  });
}

void HttpSession::upgrade(Request req) {
  auto refuse = [&](http::status st, std::string why) {
    observe::bump(ctx_.metrics.connections_refused);
    respond(make(st, req, why + "\n", "text/plain"), false);
  };
  if (ctx_.shutting_down) return refuse(http::status::service_unavailable, "server shutting down");
  if (!origin_allowed(req))
    return refuse(http::status::forbidden, "origin not allowed: " + std::string(req[http::field::origin]));
  std::string why;
  auto ticket = ctx_.limiter->acquire(peer_ip_, why);
  if (!ticket) return refuse(http::status::service_unavailable, why);

  auto cookie = session::cookie_value(req[http::field::cookie], ctx_.settings.session.cookie);
  auto shared_req = std::make_shared<Request>(std::move(req));
  ctx_.sessions.open(cookie, [self = shared_from_this(), shared_req, ticket](Status s,
                                                                            session::OpenedSession o) {
    boost::asio::post(self->loop_.ioc(), [self, shared_req, ticket, s, o = std::move(o)]() mutable {
      if (!s.is_ok()) {
        observe::bump(self->ctx_.metrics.connections_refused);
        return self->respond(self->make(http::status::service_unavailable, *shared_req,
                                        "session store unavailable: " + s.message() + "\n",
                                        "text/plain"),
                             false);
      }
      auto conn = std::make_shared<WsConnection>(self->ctx_, self->loop_, self->stream_.release_socket(),
                                                 ticket, std::move(o));
      conn->start(std::move(*shared_req));
    });
  });
}

void HttpSession::respond(http::response<http::string_body> res, bool keep_alive) {
  auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
  sp->keep_alive(keep_alive);
  stream_.expires_after(ctx_.settings.server.handshake_timeout);
  http::async_write(stream_, *sp,
                    [self = shared_from_this(), sp, keep_alive](beast::error_code ec, std::size_t) {
                      if (ec) return;
                      if (!keep_alive || self->ctx_.shutting_down) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send,
                                                        ignored);
                        return;
                      }
                      self->do_read();
                    });
}

}  // namespace switchboard::net
