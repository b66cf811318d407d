// `switchboard publish --url`: the URL, the request and the reading of the
// server's answer (core/src/cli/http_publish.hpp). The exchange with a real
// server is the HTTP publish API's integration test.
#include <catch2/catch.hpp>

#include <future>
#include <sstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>

#include "cli/http_publish.hpp"
#include "cli/options.hpp"

using namespace switchboard::cli;
namespace http = boost::beast::http;

namespace {

// A one-request HTTP server on a loopback port: reads the request, then sends
// `answer` (raw bytes) or, when it is empty, holds the connection without a word.
class FakeServer {
 public:
  explicit FakeServer(std::string answer) : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, answer = std::move(answer)] {
      boost::asio::ip::tcp::socket s(ioc_);
      acceptor_.accept(s);
      boost::beast::flat_buffer buf;
      http::request<http::string_body> req;
      boost::beast::error_code ec;
      http::read(s, buf, req, ec);
      request_.set_value(std::move(req));
      if (answer.empty()) {
        release_.get_future().wait();
        return;
      }
      boost::asio::write(s, boost::asio::buffer(answer), ec);
      s.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    });
  }
  ~FakeServer() {
    release_.set_value();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  http::request<http::string_body> request() {
    auto f = request_.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    return f.get();
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::promise<http::request<http::string_body>> request_;
  std::promise<void> release_;
  std::thread thread_;
};

std::string answer(unsigned status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

std::string url_error(std::string_view url) {
  try {
    parse_http_url(url);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("cli: --url forms", "[cli]") {
  auto e = parse_http_url("http://127.0.0.1:8080");
  CHECK(e.host == "127.0.0.1");
  CHECK(e.port == "8080");
  CHECK(e.host_header == "127.0.0.1:8080");
  CHECK(e.target() == "/api/publish");
  auto p = parse_http_url("http://sb.example:81/switchboard/");
  CHECK(p.host == "sb.example");
  CHECK(p.target() == "/switchboard/api/publish");
  auto d = parse_http_url("http://sb.example");
  CHECK(d.port == "80");
  CHECK(d.host_header == "sb.example");
  auto v6 = parse_http_url("http://[::1]:9000/");
  CHECK(v6.host == "::1");
  CHECK(v6.port == "9000");
  CHECK(v6.host_header == "[::1]:9000");
  CHECK(v6.target() == "/api/publish");
}

TEST_CASE("cli: https URLs default to port 443 and check the certificate by name", "[cli]") {
  auto e = parse_http_url("https://sb.example/x/");
  CHECK(e.tls);
  CHECK(e.port == "443");
  CHECK(e.host == "sb.example");
  CHECK(e.pinned_cert.empty());
  CHECK(e.target() == "/x/api/publish");
  CHECK_FALSE(parse_http_url("http://sb.example").tls);
}

TEST_CASE("cli: bad --url values are usage errors", "[cli]") {
  CHECK(url_error("127.0.0.1:8080") == "--url must start with http:// or https://");
  CHECK(url_error("ftp://h") == "--url must start with http:// or https://");
  CHECK(url_error("https://") == "--url has no host");
  CHECK(url_error("http://") == "--url has no host");
  CHECK(url_error("http://:80") == "--url has no host");
  CHECK(url_error("http://h:") == "--url: bad port ''");
  CHECK(url_error("http://h:0") == "--url: bad port '0'");
  CHECK(url_error("http://h:65536") == "--url: bad port '65536'");
  CHECK(url_error("http://h:8o") == "--url: bad port '8o'");
  CHECK(url_error("http://h/x?y=1") == "--url must not have a query or fragment");
  CHECK(url_error("http://u:p@h").rfind("--url must not hold user info", 0) == 0);
  CHECK(url_error("http://[::1").rfind("--url: unclosed '['", 0) == 0);
}

TEST_CASE("cli: the server a config describes, as this machine reaches it", "[cli]") {
  switchboard::config::Settings s;
  auto at = [&s](std::string host, uint16_t port) {
    s.server.listen_host = std::move(host);
    s.server.listen_port = port;
    return local_endpoint(s);
  };
  for (const char* wildcard : {"", "0.0.0.0"}) {
    auto e = at(wildcard, 3000);
    CHECK(e.host == "127.0.0.1");
    CHECK(e.port == "3000");
    CHECK(e.host_header == "127.0.0.1:3000");
  }
  CHECK(at("::", 80).host_header == "[::1]:80");
  CHECK(at("::", 80).host == "::1");
  CHECK(at("10.1.2.3", 8080).host_header == "10.1.2.3:8080");
  CHECK(at("fd00::5", 8080).host_header == "[fd00::5]:8080");
  CHECK(at("10.1.2.3", 8080).target() == "/api/publish");
  CHECK_THROWS_AS(at("127.0.0.1", 0), UsageError);
  CHECK_FALSE(at("127.0.0.1", 8080).tls);
  // A TLS server: https, pinned to the config's own certificate.
  s.server.tls_cert = "/etc/sb/cert.pem";
  s.server.tls_key = "/etc/sb/key.pem";
  auto tls = at("0.0.0.0", 8443);
  CHECK(tls.tls);
  CHECK(tls.pinned_cert == "/etc/sb/cert.pem");
  CHECK(tls.host_header == "127.0.0.1:8443");
}

TEST_CASE("cli: the publish request", "[cli]") {
  const std::string msg = R"({"t":"all","e":"flash","p":["hi"]})";
  auto req = build_publish_request(parse_http_url("http://127.0.0.1:8080/sb"), "k3y", msg);
  CHECK(req.method() == http::verb::post);
  CHECK(req.target() == "/sb/api/publish");
  CHECK(req.version() == 11);
  CHECK(req[http::field::host] == "127.0.0.1:8080");
  CHECK(req[http::field::content_type] == "application/json");
  CHECK(req[http::field::authorization] == "Bearer k3y");
  CHECK(req[http::field::content_length] == std::to_string(msg.size()));
  CHECK(req[http::field::user_agent].starts_with("switchboard/"));
  CHECK_FALSE(req.keep_alive());
  CHECK(req.body() == msg);
  // On the wire: one request, the body exactly the message.
  std::ostringstream wire;
  wire << req;
  std::string text = wire.str();
  CHECK(text.rfind("POST /sb/api/publish HTTP/1.1\r\n", 0) == 0);
  CHECK(text.substr(text.size() - msg.size()) == msg);
  CHECK(boost::json::parse(req.body()).at("t") == "all");
}

TEST_CASE("cli: the server's answers", "[cli]") {
  CHECK(interpret_publish_response(200, R"({"published":1})").ok());
  auto odd = interpret_publish_response(200, "<html>hello</html>");
  CHECK(odd.code == kExitFailed);
  CHECK(odd.error.find("without {\"published\":N}") != std::string::npos);

  auto bad = interpret_publish_response(
      400, R"({"error":{"code":"invalid_message","message":"\"e\": missing non-empty string"}})");
  CHECK(bad.code == kExitFailed);
  CHECK(bad.error ==
        "the server refused the publish: HTTP 400 invalid_message: \"e\": missing non-empty string");
  CHECK(interpret_publish_response(401, R"({"error":{"code":"unauthorized","message":"wrong API key"}})")
            .error == "the server refused the publish: HTTP 401 unauthorized: wrong API key");
  CHECK(interpret_publish_response(404, R"({"error":{"code":"not_found","message":"the publish API is disabled"}})")
            .error == "the server refused the publish: HTTP 404 not_found: the publish API is disabled");
  CHECK(interpret_publish_response(413, R"({"error":{"code":"too_large","message":"over 1048576 bytes"}})")
            .error.find("HTTP 413 too_large") != std::string::npos);
  CHECK(interpret_publish_response(429, R"({"error":{"code":"rate_limited","message":"slow down"}})")
            .code == kExitFailed);
  CHECK(interpret_publish_response(503, R"({"error":{"code":"transport_unavailable","message":"redis down"}})")
            .error == "the server refused the publish: HTTP 503 transport_unavailable: redis down");
  // Not the API's shape (a proxy, an older server): status, reason, the body's start.
  auto proxy = interpret_publish_response(502, "upstream\ndown");
  CHECK(proxy.error == "the server refused the publish: HTTP 502 Bad Gateway: 'upstream\\ndown'");
  auto old = interpret_publish_response(404, "");
  CHECK(old.error == "the server refused the publish: HTTP 404 Not Found (is --url a Switchboard "
                     "server with the HTTP publish API?)");
}

TEST_CASE("cli: a server that is not there is a clear failure", "[cli]") {
  // Port 1 on loopback: nothing listens (connection refused at once).
  auto out = publish_over_http(parse_http_url("http://127.0.0.1:1"), "k", "{}",
                               std::chrono::milliseconds(2000));
  CHECK(out.code == kExitFailed);
  CHECK(out.error.rfind("cannot connect to http://127.0.0.1:1: ", 0) == 0);
}

TEST_CASE("cli: a publish over HTTP against a stand-in server", "[cli]") {
  const std::string msg = R"({"t":"user","users":["fred"],"e":"offer","p":[1]})";
  const std::chrono::milliseconds timeout(3000);
  SECTION("200 published") {
    FakeServer server(answer(200, R"({"published":1})"));
    auto out = publish_over_http(parse_http_url(server.url() + "/"), "k3y", msg, timeout);
    CHECK(out.ok());
    auto req = server.request();
    CHECK(req.method() == http::verb::post);
    CHECK(req.target() == "/api/publish");
    CHECK(req[http::field::authorization] == "Bearer k3y");
    CHECK(req[http::field::content_type] == "application/json");
    CHECK(req.body() == msg);
  }
  SECTION("an error answer: its code and message") {
    FakeServer server(answer(401, R"({"error":{"code":"unauthorized","message":"wrong API key"}})"));
    auto out = publish_over_http(parse_http_url(server.url()), "bad", msg, timeout);
    CHECK(out.code == kExitFailed);
    CHECK(out.error == "the server refused the publish: HTTP 401 unauthorized: wrong API key");
  }
  SECTION("no answer: unknown, within the timeout") {
    FakeServer server("");
    auto t0 = std::chrono::steady_clock::now();
    auto out = publish_over_http(parse_http_url(server.url()), "k", msg, std::chrono::milliseconds(500));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
    CHECK(out.code == kExitUnknown);
    CHECK(out.error.find("got no answer (timed out)") != std::string::npos);
    CHECK(server.request().body() == msg);
  }
}
