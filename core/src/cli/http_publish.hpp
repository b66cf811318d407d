// `switchboard publish --url URL ...`: the same one bus message sent to a
// server's HTTP publish API instead of the bus:
//
//   POST {URL}/api/publish
//   Content-Type: application/json
//   Authorization: Bearer KEY
//   <the message>
//
// answered 200 {"published":1}, or an error status with
// {"error":{"code":"…","message":"…"}} (400 bad body, 401 missing or wrong key,
// 404 API disabled, 413 body too large, 429 rate limited, 503 transport down).
// http or https (Boost.Beast; one connection per publish, one deadline for
// resolving, connecting, the TLS handshake, writing and reading). https checks
// the server's certificate: against the system's CAs and the URL's host name,
// or, for the server a config describes, against that config's own
// server.tls_cert (pinned: no name check, the config names the certificate).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "cli/outcome.hpp"
#include "config/settings.hpp"

namespace switchboard::cli {

struct HttpEndpoint {
  std::string host;       // without brackets for IPv6
  std::string port;       // "80" when the URL has none
  std::string base_path;  // "" or "/prefix" (no trailing slash)
  std::string host_header;  // host[:port] as the URL spelled it
  bool tls = false;         // https
  std::string pinned_cert;  // https: trust this PEM certificate (chain) only, no name check
  std::string target() const { return base_path + "/api/publish"; }
};

// http(s)://HOST[:PORT][/PATH] (default port 80 / 443). Throws UsageError for
// anything else (user info, a query or fragment, a bad port).
HttpEndpoint parse_http_url(std::string_view url);

// The server a config describes, reached from this machine: server.listen, a
// wildcard address (empty, 0.0.0.0, ::) as loopback; https pinned to
// server.tls_cert when the config has TLS. Throws UsageError for port 0.
HttpEndpoint local_endpoint(const config::Settings& settings);

using PublishRequest = boost::beast::http::request<boost::beast::http::string_body>;

// The request that carries `message` (the bus message, as the body).
PublishRequest build_publish_request(const HttpEndpoint& endpoint, std::string_view key,
                                     std::string message);

// The server's answer: kExitOk for 200 {"published":N}; else kExitFailed with a
// line that gives the status and the server's error code and message (or the
// start of a body that is not the error shape).
Outcome interpret_publish_response(unsigned status, std::string_view body);

// Sends the request and reads the answer within `timeout`. kExitFailed when it
// cannot connect or the server refused; kExitUnknown when the request was sent
// but no answer came in time.
Outcome publish_over_http(const HttpEndpoint& endpoint, std::string_view key,
                          std::string message, std::chrono::milliseconds timeout);

}  // namespace switchboard::cli
