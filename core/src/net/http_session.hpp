// One accepted TCP connection before (or instead of) a WebSocket: reads HTTP
// requests under a deadline and answers them — /healthz, /metrics,
// /switchboard.js, static files — or upgrades /ws after the origin check, the
// connection caps and the session lookup. Runs on its loop's thread.
#pragma once

#include <memory>
#include <optional>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/event_loop.hpp"
#include "net/net_context.hpp"

namespace switchboard::net {

namespace beast = boost::beast;
namespace http = beast::http;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(NetContext& ctx, EventLoop& loop, boost::asio::ip::tcp::socket&& socket);
  void run();

 private:
  using Request = http::request<http::string_body>;
  void do_read();
  void on_read(beast::error_code ec, std::size_t);
  void handle(Request req);
  void upgrade(Request req);
  void respond(http::response<http::string_body> res, bool keep_alive);
  http::response<http::string_body> make(http::status status, const Request& req,
                                         std::string body, std::string_view type);
  bool origin_allowed(const Request& req) const;

  NetContext& ctx_;
  EventLoop& loop_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_ip_;
};

}  // namespace switchboard::net
