// tests/support/http_client.hpp — one bounded HTTP/1.1 GET (for /healthz,
// /metrics and /switchboard.js) or POST (for the HTTP API). Never throws for HTTP-level failures: a request
// that got no response has status 0 and `error` set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/ws_client.hpp"

namespace switchboard::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  unsigned status = 0;
  Headers headers;  // in order received; names as sent by the server
  std::string body;
  std::string error;

  // First header with this name (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
  // Every header with this name (e.g. several Set-Cookie).
  std::vector<std::string> headers_named(std::string_view name) const;
};

HttpResponse http_get(uint16_t port, std::string_view target, const Headers& headers = {},
                      std::string_view host = "127.0.0.1", Millis timeout = kDefaultTimeout);

// POST body (Content-Length set; pass Content-Type and the like in headers).
HttpResponse http_post(uint16_t port, std::string_view target, std::string body,
                       const Headers& headers = {}, std::string_view host = "127.0.0.1",
                       Millis timeout = kDefaultTimeout);

}  // namespace switchboard::test
