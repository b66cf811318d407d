// One accepted TCP connection before (or instead of) a WebSocket: on a TLS
// listener (server.tls_cert) the TLS handshake first, under
// server.handshake_timeout; then reads HTTP
// requests under a deadline and answers them — /healthz, /metrics,
// /switchboard.js, the HTTP API (/api/…), static files — or upgrades /ws after the origin check, the
// connection caps and the session lookup. Runs on its loop's thread.
#pragma once

#include <memory>
#include <optional>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/event_loop.hpp"
#include "net/net_context.hpp"
#include "net/static_files.hpp"
#include "net/ws_connection.hpp"

namespace switchboard::net {

namespace beast = boost::beast;
namespace http = beast::http;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(NetContext& ctx, EventLoop& loop, boost::asio::ip::tcp::socket&& socket);
  // Takes a connection slot (ConnectionLimiter) first: over a cap the client
  // gets 503 and the connection closes.
  void run();

 private:
  using Request = http::request<http::string_body>;
  void do_read();
  void on_first_bytes(beast::error_code ec, std::size_t n);
  void read_request();
  // After the head: the checks that need no body (smuggling, Host, shutdown, the
  // API's admission), then the body.
  void on_header(beast::error_code ec, std::size_t);
  void send_continue();  // "Expect: 100-continue" on an admitted API request
  void read_body();
  void on_read(beast::error_code ec, std::size_t);
  void on_read_error(beast::error_code ec);
  // An api::Answer as a JSON response.
  static http::response<http::string_body> api_response(const api::Answer& a, unsigned version);
  // A request that cannot be served (malformed, over a limit, shutting down):
  // the status with a one-line reason, then the connection closes.
  void reject(http::status status, std::string why);
  void reject_body_limit();  // 413 for a body over kMaxRequestBody
  // Whether the connection may take another request after the current answer:
  // the client wants it, the server is not shutting down and
  // server.keepalive_requests is not used up.
  bool keep_alive_after(bool wanted) const;
  // After an answer was written: read the next request, or close.
  void after_write(beast::error_code ec, bool keep_alive);
  // Half-closes, then reads and discards (bounded in time) until the client
  // closes: closing with unread input would reset the connection and could
  // destroy the answer before the client reads it.
  void linger_close();
  void drain(size_t budget);
  // The bytes read past the current request (an upgrade's first frames).
  std::string take_buffered();
  void handle(Request req);
  // Checks an upgrade of /ws and opens its session: the cookie's, or a token's
  // (docs/protocol.md "Token authentication").
  void upgrade(Request req);
  // Hands the socket to a WebSocket for the opened session, or answers the
  // failure to open it (429/503).
  void start_websocket(const std::shared_ptr<Request>& req,
                       std::shared_ptr<ConnectionLimiter::Ticket> ticket, Status s,
                       session::OpenedSession o, WsConnection::Clock::time_point token_deadline);
  // Upgrades, then closes at once with code: how a refused token is told (a
  // browser's WebSocket sees close codes, not HTTP statuses).
  void close_after_upgrade(const Request& req, uint16_t code, const std::string& reason);
  void respond(http::response<http::string_body> res, bool keep_alive);
  // Streams a static file's response (FileBody: one chunk in memory at a time).
  struct FileWrite;
  void send_file(FileResponse res, bool keep_alive);
  void write_file(std::shared_ptr<FileWrite> w, bool keep_alive);
  http::response<http::string_body> make(http::status status, const Request& req,
                                         std::string body, std::string_view type);
  bool origin_allowed(const Request& req) const;
  // The Set-Cookie value a page or /switchboard.js response carries: a fresh
  // signed session id when the request has no valid one (no store call, so it
  // fits any response type); nullopt otherwise.
  std::optional<std::string> page_cookie(const Request& req) const;

  // The TCP stream under TLS, or the plain one.
  beast::tcp_stream& tcp();
  // Runs f with the stream requests are read from and answers written to.
  template <class F>
  void with_stream(F&& f) {
    if (tls_) f(*tls_);
    else f(stream_);
  }

  NetContext& ctx_;
  EventLoop& loop_;
  beast::tcp_stream stream_;  // plain HTTP (unused under TLS)
  std::shared_ptr<TlsContext::Context> tls_ctx_;  // TLS: the context it started with
  std::unique_ptr<TlsStream> tls_;                // TLS: the connection
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_ip_;
  std::shared_ptr<ConnectionLimiter::Ticket> ticket_;  // this connection's slot
  uint32_t requests_ = 0;                              // requests read so far
  bool api_request_ = false;                           // the current request is to /api/…
};

}  // namespace switchboard::net
