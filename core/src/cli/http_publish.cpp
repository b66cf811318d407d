#include "cli/http_publish.hpp"

#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>

#include "cli/options.hpp"
#include "observe/log.hpp"

namespace switchboard::cli {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Enough for any error answer; a larger body is not the API's.
constexpr size_t kMaxResponseBody = 64 * 1024;
// How much of a body that is not the API's JSON an error line shows.
constexpr size_t kShownBody = 200;

std::string one_line(std::string_view text, size_t max) {
  std::string s = observe::escape_log_text(text.substr(0, max));
  return text.size() > max ? s + "..." : s;
}

}  // namespace

HttpEndpoint local_endpoint(const config::Settings& settings) {
  const auto& s = settings.server;
  if (s.listen_port == 0)
    throw UsageError("server.listen has port 0 (any free port): give the server's address with --url");
  std::string host = s.listen_host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  else if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  HttpEndpoint e = parse_http_url(std::string(s.tls() ? "https://" : "http://") + host + ":" +
                                  std::to_string(s.listen_port));
  e.pinned_cert = s.tls_cert;
  return e;
}

HttpEndpoint parse_http_url(std::string_view url) {
  const bool tls = url.rfind("https://", 0) == 0;
  if (!tls && url.rfind("http://", 0) != 0) throw UsageError("--url must start with http:// or https://");
  std::string_view rest = url.substr(tls ? 8 : 7);
  if (rest.find_first_of("?#") != std::string_view::npos)
    throw UsageError("--url must not have a query or fragment");
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    throw UsageError("--url must not hold user info (give the key with --key or SWITCHBOARD_API_KEY)");
  HttpEndpoint e;
  e.tls = tls;
  e.host_header = std::string(authority);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) throw UsageError("--url: unclosed '[' in the host");
    e.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') throw UsageError("--url: bad host '" + e.host_header + "'");
    if (!after.empty()) port = after.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (e.host.empty()) throw UsageError("--url has no host");
  if (port.empty() && authority.find(':') == std::string_view::npos) {
    e.port = tls ? "443" : "80";
  } else {
    bool digits = !port.empty() && port.size() <= 5 &&
                  port.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535)
      throw UsageError("--url: bad port '" + std::string(port) + "'");
    e.port = std::string(port);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  e.base_path = std::string(path);
  return e;
}

PublishRequest build_publish_request(const HttpEndpoint& endpoint, std::string_view key,
                                     std::string message) {
  PublishRequest req{http::verb::post, endpoint.target(), 11};
  req.set(http::field::host, endpoint.host_header);
  req.set(http::field::user_agent, std::string("switchboard/") + SWITCHBOARD_VERSION);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json");
  req.set(http::field::authorization, "Bearer " + std::string(key));
  req.keep_alive(false);
  req.body() = std::move(message);
  req.prepare_payload();
  return req;
}

Outcome interpret_publish_response(unsigned status, std::string_view body) {
  namespace json = boost::json;
  std::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  const json::object* o = !ec && v.is_object() ? &v.get_object() : nullptr;
  if (status == 200) {
    if (o && o->contains("published") && o->at("published").is_number()) return {};
    return {kExitFailed, "the server answered 200 without {\"published\":N}: '" +
                             one_line(body, kShownBody) + "' (is --url a Switchboard server?)"};
  }
  std::string line = "the server refused the publish: HTTP " + std::to_string(status);
  const json::value* err = o ? o->if_contains("error") : nullptr;
  if (err && err->is_object()) {
    const auto& eo = err->get_object();
    if (const auto* c = eo.if_contains("code"); c && c->is_string())
      line += " " + one_line(c->get_string(), 64);
    if (const auto* m = eo.if_contains("message"); m && m->is_string())
      line += ": " + one_line(m->get_string(), 400);
    return {kExitFailed, line};
  }
  line += " " + std::string(http::obsolete_reason(static_cast<http::status>(status)));
  if (!body.empty()) line += ": '" + one_line(body, kShownBody) + "'";
  if (status == 404) line += " (is --url a Switchboard server with the HTTP publish API?)";
  return {kExitFailed, line};
}

Outcome publish_over_http(const HttpEndpoint& endpoint, std::string_view key,
                          std::string message, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string where = (endpoint.tls ? "https://" : "http://") + endpoint.host_header;
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  PublishRequest req = build_publish_request(endpoint, key, std::move(message));
  std::optional<Outcome> out;
  auto failed = [&](const std::string& what, beast::error_code ec) {
    out = Outcome{kExitFailed, what + " " + where + ": " +
                                   (ec == beast::error::timeout ? "timed out" : ec.message())};
  };

  // https: the server's certificate is checked (the header comment says how).
  asio::ssl::context tls_ctx(asio::ssl::context::tls_client);
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  std::optional<beast::tcp_stream> plain_stream;
  if (endpoint.tls) {
    beast::error_code ec;
    tls_ctx.set_verify_mode(asio::ssl::verify_peer);
    if (endpoint.pinned_cert.empty()) {
      tls_ctx.set_default_verify_paths(ec);
    } else {
      tls_ctx.load_verify_file(endpoint.pinned_cert, ec);
      // The pinned certificate is a trust anchor even when a CA issued it.
      X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(tls_ctx.native_handle()), X509_V_FLAG_PARTIAL_CHAIN);
    }
    if (ec) return Outcome{kExitFailed, "cannot load the certificates to check " + where + " with: " + ec.message()};
    tls_stream.emplace(ioc, tls_ctx);
    if (endpoint.pinned_cert.empty()) {
      tls_stream->set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
      SSL_set_tlsext_host_name(tls_stream->native_handle(), endpoint.host.c_str());  // SNI
    }
  } else {
    plain_stream.emplace(ioc);
  }
  beast::tcp_stream& tcp_layer = tls_stream ? tls_stream->next_layer() : *plain_stream;

  // The request and its answer, on either stream.
  auto exchange = [&](auto& stream) {
    http::async_write(stream, req, [&](beast::error_code ec, size_t) {
      if (ec) return failed("cannot send the request to", ec);
      http::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) {
        if (ec == http::error::body_limit) {
          out = interpret_publish_response(parser.get().result_int(), "");
        } else if (ec) {
          // The request went out: the server may have published it.
          out = Outcome{kExitUnknown, "sent the request to " + where + " but got no answer (" +
                                          (ec == beast::error::timeout ? "timed out" : ec.message()) +
                                          "): it may or may not have been published"};
        } else {
          out = interpret_publish_response(parser.get().result_int(), parser.get().body());
        }
      });
    });
  };

  resolver.async_resolve(endpoint.host, endpoint.port, [&](beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return failed("cannot resolve", ec);
    tcp_layer.expires_at(deadline);
    tcp_layer.async_connect(results, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return failed("cannot connect to", ec);
      if (!tls_stream) return exchange(*plain_stream);
      tls_stream->async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec) {
        if (ec) return failed("TLS handshake failed with", ec);
        exchange(*tls_stream);
      });
    });
  });
  // The stream's deadline bounds connect, handshake, write and read; this bounds resolving.
  ioc.run_until(deadline + std::chrono::milliseconds(100));
  if (!out) out = Outcome{kExitFailed, "cannot resolve " + where + ": timed out"};
  return *out;
}

}  // namespace switchboard::cli
