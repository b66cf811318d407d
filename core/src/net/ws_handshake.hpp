// The WebSocket opening handshake's request checks (RFC 6455 4.2.1), made before
// anything is spent on the upgrade (a session record, a connection object).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>

namespace switchboard::net {

struct UpgradeProblem {
  const char* why = nullptr;  // nullptr: the request is a valid upgrade
  bool bad_version = false;   // answer 426 with Sec-WebSocket-Version: 13, not 400
  explicit operator bool() const { return why != nullptr; }
};

// What is wrong with a request already known to ask for an upgrade, if anything.
UpgradeProblem check_upgrade_request(const boost::beast::http::request<boost::beast::http::string_body>& req);

// RFC 6455 4.2.1: the key is base64 of 16 bytes, i.e. 22 alphabet characters (the
// last one with its 4 unused bits zero, as every encoder writes it) and "==".
bool valid_ws_key(boost::beast::string_view key);

// The 101 response's status line and headers for a checked request, without the
// blank line that ends them (a caller may add Set-Cookie first).
std::string switching_protocols_head(const boost::beast::http::request<boost::beast::http::string_body>& req);

// The value of the query parameter `name` in a request target, as sent (not
// percent-decoded); nullopt when absent. The last one wins.
std::optional<std::string_view> query_param(std::string_view target, std::string_view name);

// The token a client passed at connect (docs/protocol.md "Token
// authentication"): `?token=` in the target or `Authorization: Bearer` (other
// schemes are not tokens). value nullopt: none, a cookie session; twice: both
// were sent (refused).
struct ConnectToken {
  std::optional<std::string_view> value;
  bool twice = false;
};
ConnectToken connect_token(const boost::beast::http::request<boost::beast::http::string_body>& req);

}  // namespace switchboard::net
