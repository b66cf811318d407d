#include "support/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>

namespace switchboard::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// /metrics and /switchboard.js are small; this only stops a runaway response.
constexpr std::uint64_t kBodyLimit = 64u * 1024u * 1024u;

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::vector<std::string> HttpResponse::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) out.push_back(v);
  return out;
}

namespace {
HttpResponse http_request(http::verb verb, uint16_t port, std::string_view target,
                          std::string body, const Headers& headers, std::string_view host,
                          Millis timeout) {
  HttpResponse out;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  error_code ec;
  auto address = net::ip::make_address(std::string(host), ec);
  if (ec) {
    out.error = "bad address: " + ec.message();
    return out;
  }

  http::request<http::string_body> req{verb, std::string(target), 11};
  req.set(http::field::host, std::string(host) + ":" + std::to_string(port));
  req.set(http::field::user_agent, "switchboard-test-client");
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (verb != http::verb::get) {
    req.body() = std::move(body);
    req.prepare_payload();
  }

  beast::flat_buffer buffer;
  auto parser = std::make_unique<http::response_parser<http::string_body>>();
  parser->body_limit(kBodyLimit);
  std::string failure;

  // tcp_stream's expiry bounds every step; run() returns once the chain is done.
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(address, port), [&](error_code e) {
    if (e) {
      failure = "connect: " + e.message();
      return;
    }
    http::async_write(stream, req, [&](error_code e2, std::size_t) {
      if (e2) {
        failure = "write: " + e2.message();
        return;
      }
      http::async_read(stream, buffer, *parser, [&](error_code e3, std::size_t) {
        if (e3) failure = "read: " + e3.message();
      });
    });
  });
  ioc.run();

  if (!failure.empty()) {
    out.error = failure;
    return out;
  }
  auto& res = parser->get();
  out.status = res.result_int();
  for (const auto& field : res)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(res.body());
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}
}  // namespace

HttpResponse http_get(uint16_t port, std::string_view target, const Headers& headers,
                      std::string_view host, Millis timeout) {
  return http_request(http::verb::get, port, target, {}, headers, host, timeout);
}

HttpResponse http_post(uint16_t port, std::string_view target, std::string body,
                       const Headers& headers, std::string_view host, Millis timeout) {
  return http_request(http::verb::post, port, target, std::move(body), headers, host, timeout);
}

}  // namespace switchboard::test
