// The WebSocket opening handshake's request checks (RFC 6455 4.2.1), made before
// anything is spent on the upgrade (a session record, a connection object).
#pragma once

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

}  // namespace switchboard::net
