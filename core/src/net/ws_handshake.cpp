#include "net/ws_handshake.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include "net/ws_frame.hpp"

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

std::string switching_protocols_head(const http::request<http::string_body>& req) {
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out += ws::accept_key(req[http::field::sec_websocket_key]);
  out += "\r\nServer: switchboard\r\n";
  return out;
}

std::optional<std::string_view> query_param(std::string_view target, std::string_view name) {
  std::optional<std::string_view> found;
  auto q = target.find('?');
  if (q == std::string_view::npos) return found;
  std::string_view rest = target.substr(q + 1);
  rest = rest.substr(0, rest.find('#'));
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view param = rest.substr(0, amp);
    if (param.size() > name.size() && param.substr(0, name.size()) == name &&
        param[name.size()] == '=')
      found = param.substr(name.size() + 1);
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return found;
}

ConnectToken connect_token(const http::request<http::string_body>& req) {
  ConnectToken t;
  t.value = query_param(req.target(), "token");
  auto auth = req.find(http::field::authorization);
  if (auth == req.end()) return t;
  // Only a Bearer token counts: a proxy's Basic credentials pass through unseen.
  std::string_view v = auth->value();
  constexpr std::string_view kBearer = "bearer ";
  if (v.size() < kBearer.size() || !boost::beast::iequals(v.substr(0, kBearer.size()), kBearer))
    return t;
  if (t.value) {
    t.twice = true;
    return t;
  }
  t.value = v.substr(kBearer.size());
  return t;
}

}  // namespace switchboard::net
