#include "net/ws_handshake.hpp"

#include <boost/beast/http/rfc7230.hpp>

namespace switchboard::net {
namespace http = boost::beast::http;

namespace {
bool has_token(boost::beast::string_view list, boost::beast::string_view token) {
  return http::token_list{list}.exists(token);
}
}  // namespace

bool valid_ws_key(boost::beast::string_view key) {
  auto b64 = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
  };
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i)
    if (!b64(key[i])) return false;
  const char last = key[21];  // carries 2 bits of the 16th byte
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

UpgradeProblem check_upgrade_request(const http::request<http::string_body>& req) {
  if (req.version() != 11) return {"bad HTTP version"};
  if (req.method() != http::verb::get) return {"bad method"};
  if (req.find(http::field::host) == req.end()) return {"no Host"};
  if (!has_token(req[http::field::connection], "upgrade")) return {"no Connection: upgrade"};
  if (!has_token(req[http::field::upgrade], "websocket")) return {"no Upgrade: websocket"};
  if (req.find(http::field::sec_websocket_key) == req.end()) return {"no Sec-WebSocket-Key"};
  if (!valid_ws_key(req[http::field::sec_websocket_key]))
    return {"Sec-WebSocket-Key is not the base64 of 16 bytes"};
  if (req.find(http::field::sec_websocket_version) == req.end()) return {"no Sec-WebSocket-Version"};
  if (req[http::field::sec_websocket_version] != "13") return {"bad Sec-WebSocket-Version", true};
  return {};
}

}  // namespace switchboard::net
