// Regression tests for the security review (issue 9): see docs/security.md.
//
// HTTP connection hardening (docs/operations.md "HTTP connections"): every
// accepted connection counts against the connection caps, keep-alive
// connections are bounded in requests and idle time, malformed requests get a
// status before the close, the WebSocket key is checked, frames sent with the
// upgrade request are kept, and a shutting-down server answers 503.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fixture.hpp"

using namespace switchboard::test;
using namespace std::string_literals;

namespace {

using Clock = std::chrono::steady_clock;
constexpr Millis kLongWait{30000};

struct RawResponse {
  unsigned status = 0;  // 0: no complete response arrived
  std::string head;     // status line and headers
  std::string body;

  // A header's value (name case-insensitive); empty when absent.
  std::string header(std::string_view name) const {
    std::string lower_head = head;
    std::transform(lower_head.begin(), lower_head.end(), lower_head.begin(), ::tolower);
    std::string needle = "\r\n" + std::string(name) + ":";
    std::transform(needle.begin(), needle.end(), needle.begin(), ::tolower);
    auto at = lower_head.find(needle);
    if (at == std::string::npos) return {};
    auto start = at + needle.size();
    auto end = head.find("\r\n", start);
    std::string v = head.substr(start, end - start);
    v.erase(0, v.find_first_not_of(' '));
    return v;
  }
  bool says_close() const {
    std::string v = header("Connection");
    std::transform(v.begin(), v.end(), v.begin(), ::tolower);
    return v == "close";
  }
};

// A byte-exact HTTP/WebSocket client on a plain blocking socket; every read is
// bounded by poll() with a deadline. (RawClient has no raw response reads.)
class Conn {
 public:
  Conn() = default;
  ~Conn() { close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connect(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }

  // One write() call where it fits the socket buffer: "the same TCP write".
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // The next response (head and a Content-Length body).
  RawResponse read_response(Millis timeout = kDefaultTimeout) {
    auto deadline = Clock::now() + timeout;
    RawResponse r;
    size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos)
      if (!read_more(deadline)) return r;
    std::string head = in_.substr(0, end + 2);
    size_t length = 0;
    r.head = head;
    std::string cl = r.header("Content-Length");
    if (!cl.empty()) length = std::stoul(cl);
    while (in_.size() < end + 4 + length)
      if (!read_more(deadline)) return RawResponse{};
    r.body = in_.substr(end + 4, length);
    in_.erase(0, end + 4 + length);
    auto sp = head.find(' ');
    if (sp != std::string::npos) r.status = static_cast<unsigned>(std::strtoul(head.c_str() + sp + 1, nullptr, 10));
    return r;
  }

  // The next server WebSocket frame's payload (unmasked frames); nullopt on
  // EOF or timeout.
  std::optional<std::string> read_frame(Millis timeout = kDefaultTimeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      if (in_.size() >= 2) {
        uint64_t len = static_cast<uint8_t>(in_[1]) & 0x7f;
        size_t header = len == 126 ? 4 : len == 127 ? 10 : 2;
        if (in_.size() >= header) {
          if (len == 126) len = (uint64_t(uint8_t(in_[2])) << 8) | uint8_t(in_[3]);
          if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | uint8_t(in_[2 + i]);
          }
          if (in_.size() >= header + len) {
            std::string payload = in_.substr(header, len);
            in_.erase(0, header + len);
            return payload;
          }
        }
      }
      if (!read_more(deadline)) return std::nullopt;
    }
  }

  // True when the server closed the connection (EOF or reset) before the
  // deadline; whatever arrives meanwhile is discarded.
  bool wait_eof(Millis timeout = kDefaultTimeout) {
    auto deadline = Clock::now() + timeout;
    while (!eof_) {
      if (!read_more(deadline)) break;
      in_.clear();
    }
    return eof_;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool read_more(Clock::time_point deadline) {
    if (eof_ || fd_ < 0) return false;
    for (;;) {
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      char buf[16384];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      in_.append(buf, static_cast<size_t>(n));
      return true;
    }
  }

  int fd_ = -1;
  std::string in_;
  bool eof_ = false;
};

std::string get_request(std::string_view target, std::string_view extra = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(extra) +
         "\r\n";
}

std::string upgrade_request(std::string_view key) {
  return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         std::string(key) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// A masked client text frame.
std::string client_text_frame(std::string_view text) {
  std::string f;
  f += static_cast<char>(0x81);
  REQUIRE(text.size() < 126);
  f += static_cast<char>(0x80 | text.size());
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (size_t i = 0; i < text.size(); ++i) f += static_cast<char>(text[i] ^ mask[i % 4]);
  return f;
}

// Opens a connection and completes one keep-alive request on it, so the
// connection is established and counted by the server.
std::unique_ptr<Conn> kept_alive(TestServer& srv) {
  auto c = std::make_unique<Conn>();
  REQUIRE(c->connect(srv.port()));
  REQUIRE(c->send(get_request("/healthz")));
  auto r = c->read_response();
  INFO(r.head);
  REQUIRE(r.status == 200);
  REQUIRE_FALSE(r.says_close());
  return c;
}

}  // namespace

TEST_CASE("keep-alive HTTP connections count against the connection caps",
          "[integration][http_security]") {
  ServerSettings settings;
  std::string why;
  SECTION("per IP") {
    settings.set("limits.max_connections_per_ip", "3");
    why = "too many connections from this address";
  }
  SECTION("in total") {
    settings.set("limits.max_connections", "3");
    why = "the server is at its connection limit";
  }
  TestServer srv(settings);
  std::vector<std::unique_ptr<Conn>> held;
  for (int i = 0; i < 3; ++i) held.push_back(kept_alive(srv));

  // The next HTTP request gets 503 with the reason, then the connection closes.
  Conn over;
  REQUIRE(over.connect(srv.port()));
  REQUIRE(over.send(get_request("/healthz")));
  auto r = over.read_response();
  INFO(r.head << r.body);
  CHECK(r.status == 503);
  CHECK(r.body.find(why) != std::string::npos);
  CHECK(r.says_close());
  CHECK(over.wait_eof());

  // So does a WebSocket upgrade.
  WsClient ws;
  auto up = srv.try_connect(ws, {});
  CHECK_FALSE(up.upgraded);
  CHECK(up.status == 503);

  // Closing a held connection frees its slot (the server sees the close
  // asynchronously: poll with fresh connections).
  held.pop_back();
  CHECK(eventually([&] {
    Conn c;
    if (!c.connect(srv.port()) || !c.send(get_request("/healthz"))) return false;
    return c.read_response().status == 200;
  }));
  // A WebSocket holds its slot the same way: one held connection, the
  // WebSocket and one more HTTP connection fill the cap again.
  held.pop_back();
  std::unique_ptr<WsClient> client;
  REQUIRE(eventually([&] {
    client = std::make_unique<WsClient>();
    return srv.try_connect(*client, {}).upgraded;
  }));
  REQUIRE(client->ready().has_value());
  REQUIRE(eventually([&] {
    auto c = std::make_unique<Conn>();
    if (!c->connect(srv.port()) || !c->send(get_request("/healthz"))) return false;
    if (c->read_response().status != 200) return false;
    held.push_back(std::move(c));
    return true;
  }));
  Conn third;
  REQUIRE(third.connect(srv.port()));
  REQUIRE(third.send(get_request("/healthz")));
  CHECK(third.read_response().status == 503);
}

TEST_CASE("an HTTP connection is closed after server.keepalive_requests answers",
          "[integration][http_security]") {
  ServerSettings settings;
  settings.set("server.keepalive_requests", "3");
  TestServer srv(settings);
  Conn c;
  REQUIRE(c.connect(srv.port()));
  for (int i = 1; i <= 3; ++i) {
    REQUIRE(c.send(get_request("/healthz")));
    auto r = c.read_response();
    INFO("request " << i << "\n" << r.head);
    REQUIRE(r.status == 200);
    CHECK(r.says_close() == (i == 3));
  }
  CHECK(c.wait_eof());
}

TEST_CASE("an idle keep-alive HTTP connection is closed after server.keepalive_timeout",
          "[integration][http_security]") {
  ServerSettings settings;
  // Far apart, so only the keep-alive limit can close the connection within the wait.
  settings.set("server.keepalive_timeout", "300ms");
  settings.set("server.handshake_timeout", "120s");
  TestServer srv(settings);
  Conn c;
  REQUIRE(c.connect(srv.port()));
  REQUIRE(c.send(get_request("/healthz")));
  auto r = c.read_response();
  REQUIRE(r.status == 200);
  REQUIRE_FALSE(r.says_close());
  CHECK(c.wait_eof(kLongWait));
}

TEST_CASE("a malformed HTTP request gets 400/413/431 and the connection closes",
          "[integration][http_security]") {
  TestServer srv;
  struct Case {
    const char* name;
    std::string bytes;
    unsigned status;
  };
  const std::vector<Case> cases = {
      {"bad request line", "GARBAGE\r\n\r\n", 400},
      {"bad HTTP version", "GET / HTTP/9.x\r\nHost: 127.0.0.1\r\n\r\n", 400},
      {"header over 8 KiB",
       "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n",
       431},
      {"body over 16 KiB",
       "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 20000\r\n\r\n" +
           std::string(20000, 'b'),
       413},
      {"bad chunk",
       "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
       400},
      {"Content-Length with Transfer-Encoding",
       "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"Transfer-Encoding with Content-Length",
       "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
       400},
      {"Transfer-Encoding not ending in chunked",
       "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
       "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
       400},
      {"two different Content-Lengths",
       "POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       400},
      {"NUL in a header value",
       "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\0b\r\n\r\n"s, 400},
      {"NUL in the target", "GET /heal\0thz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"s, 400},
      {"LF-only line endings", "GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n", 400},
      {"HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\n\r\n", 400},
  };
  for (const auto& tc : cases) {
    INFO("case: " << tc.name);
    Conn c;
    REQUIRE(c.connect(srv.port()));
    REQUIRE(c.send(tc.bytes));
    auto r = c.read_response();
    INFO(r.head << r.body);
    CHECK(r.status == tc.status);
    CHECK(r.says_close());
    CHECK_FALSE(r.body.empty());
    CHECK(c.wait_eof());
  }
  // The server is fine afterwards.
  CHECK(srv.get("/healthz").status == 200);
}

TEST_CASE("a Sec-WebSocket-Key that is not base64 of 16 bytes gets 400",
          "[integration][http_security]") {
  TestServer srv;
  for (std::string key : {"not base64 at all!!!!!==", "AAAAAAAAAAAAAAAAAAAAAAAA",
                          "AAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAB==", "x"}) {
    INFO("key '" << key << "'");
    Conn c;
    REQUIRE(c.connect(srv.port()));
    REQUIRE(c.send(upgrade_request(key)));
    auto r = c.read_response();
    INFO(r.head << r.body);
    CHECK(r.status == 400);
    CHECK(r.body.find("Sec-WebSocket-Key") != std::string::npos);
    CHECK(c.wait_eof());
  }
  // A well-formed key is upgraded.
  Conn good;
  REQUIRE(good.connect(srv.port()));
  REQUIRE(good.send(upgrade_request("dGhlIHNhbXBsZSBub25jZQ==")));
  auto r = good.read_response();
  INFO(r.head);
  CHECK(r.status == 101);
  CHECK(r.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("an RPC frame sent in the same TCP write as the upgrade request is answered",
          "[integration][http_security]") {
  TestServer srv;
  Conn c;
  REQUIRE(c.connect(srv.port()));
  std::string rpc = R"({"t":"rpc","id":7,"m":"t.echo","p":["same write"]})";
  std::string rpc2 = R"({"t":"rpc","id":8,"m":"t.echo","p":["second"]})";
  REQUIRE(c.send(upgrade_request("dGhlIHNhbXBsZSBub25jZQ==") + client_text_frame(rpc) +
                 client_text_frame(rpc2)));
  auto head = c.read_response();
  INFO(head.head);
  REQUIRE(head.status == 101);

  // ready, then the replies, possibly batched ("[...]").
  std::vector<json::object> frames;
  auto has_reply = [&](uint64_t id) {
    return std::any_of(frames.begin(), frames.end(), [&](const json::object& o) {
      return o.at("t") == json::value("reply") && o.at("id") == json::value(id);
    });
  };
  while (!(has_reply(7) && has_reply(8))) {
    auto payload = c.read_frame();
    REQUIRE(payload.has_value());
    auto v = json::parse(*payload);
    if (v.is_array()) {
      for (auto& e : v.as_array()) frames.push_back(e.as_object());
    } else {
      frames.push_back(v.as_object());
    }
  }
  REQUIRE_FALSE(frames.empty());
  CHECK(frames.front().at("t") == json::value("ready"));
  for (const auto& o : frames)
    if (o.at("t") == json::value("reply") && o.at("id") == json::value(7))
      CHECK(o.at("r") == json::parse(R"(["same write"])"));
}

TEST_CASE("while shutting down the server answers new requests 503, then exits",
          "[integration][http_security]") {
  ServerSettings settings;
  // A client that never answers the close keeps the server in its graceful phase.
  settings.set("server.shutdown_timeout", "60s");
  settings.set("server.handshake_timeout", "60s");
  TestServer srv(settings);
  auto stubborn = std::make_unique<RawClient>();
  REQUIRE(stubborn->upgrade(srv.host(), srv.port()) == 101);
  auto ready = stubborn->read_frame();
  REQUIRE(ready.has_value());

  srv.process().signal(SIGTERM);
  // The 1001 close shows the graceful phase has begun.
  std::optional<RawFrame> f;
  do {
    f = stubborn->read_frame(kLongWait);
    REQUIRE(f.has_value());
  } while (!f->is_close());
  CHECK(f->close_code() == 1001);

  auto health = http_get(srv.port(), "/healthz");
  INFO("error: " << health.error << "\n" << health.body);
  CHECK(health.status == 503);
  CHECK(health.body.find("shutting down") != std::string::npos);

  WsClient late;
  auto up = srv.try_connect(late, {});
  INFO("error: " << up.error);
  CHECK_FALSE(up.upgraded);
  CHECK(up.status == 503);

  // Once the last client is gone the process exits.
  stubborn.reset();
  auto status = srv.process().wait_exit(kLongWait);
  REQUIRE(status.has_value());
  INFO(status->describe());
  CHECK(status->success());
}

// ---- the HTTP API (docs/http-api.md): what its head-first read does ----------

namespace {

constexpr const char* kApiKey = "integration-api-key-0123456789";

std::string api_request(std::string_view body, std::string_view key = kApiKey,
                        std::string_view extra = "", std::string_view path = "/api/publish") {
  return "POST " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
         std::string(key) + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

ServerSettings api_settings() {
  ServerSettings s;
  s.set("api.keys", std::string("[\"") + kApiKey + "\"]");
  s.set("api.max_body_bytes", "65536");
  return s;
}

}  // namespace

TEST_CASE("API requests keep the connection alive, their bodies may pass 16 KiB up to the "
          "API's limit, other requests' may not",
          "[integration][http_security][http_api]") {
  TestServer srv(api_settings());
  auto ws = srv.connect();
  Conn c;
  REQUIRE(c.connect(srv.port()));
  const std::string big_text(30000, 'x');  // over the 16 KiB of other requests
  REQUIRE(c.send(api_request(R"({"t":"all","e":"first","p":[")" + big_text + R"("]})")));
  auto r1 = c.read_response();
  INFO(r1.head << r1.body);
  REQUIRE(r1.status == 200);
  CHECK(r1.body == "{\"published\":1}\n");
  CHECK_FALSE(r1.says_close());
  REQUIRE(c.send(api_request(R"([{"t":"all","e":"second"}])")));
  CHECK(c.read_response().status == 200);
  REQUIRE(c.send(get_request("/healthz")));
  CHECK(c.read_response().status == 200);
  CHECK(expect_event(*ws, "first")["p"].as_array().at(0).as_string().size() == big_text.size());
  expect_event(*ws, "second");

  Conn other;
  REQUIRE(other.connect(srv.port()));
  REQUIRE(other.send("POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 20000\r\n\r\n" +
                     std::string(20000, 'b')));
  CHECK(other.read_response().status == 413);
}

TEST_CASE("an API request refused on its head is answered at once, its body unread, and the "
          "connection closes",
          "[integration][http_security][http_api]") {
  TestServer srv(api_settings());
  struct Case {
    const char* name;
    std::string head;
    unsigned status;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"wrong key",
       "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer nope-nope-nope-nope\r\n"
       "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
       401, "unauthorized"},
      {"declared length over api.max_body_bytes",
       "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
           std::string(kApiKey) + "\r\nContent-Type: application/json\r\nContent-Length: 65537\r\n\r\n",
       413, "payload_too_large"},
      {"not JSON", "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                       std::string(kApiKey) + "\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n",
       415, "unsupported_media_type"},
      {"GET", "GET /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405, "method_not_allowed"},
  };
  for (const auto& tc : cases) {
    INFO("case: " << tc.name);
    Conn c;
    REQUIRE(c.connect(srv.port()));
    REQUIRE(c.send(tc.head));  // the body is never sent: the answer must not wait for it
    auto r = c.read_response();
    INFO(r.head << r.body);
    CHECK(r.status == tc.status);
    CHECK(r.header("Content-Type") == "application/json");
    CHECK(r.body.find(std::string("\"code\":\"") + tc.code + "\"") != std::string::npos);
    CHECK(r.says_close());
    CHECK(c.wait_eof());
  }
}

TEST_CASE("Expect: 100-continue is answered once the API request's head is accepted",
          "[integration][http_security][http_api]") {
  TestServer srv(api_settings());
  Conn c;
  REQUIRE(c.connect(srv.port()));
  const std::string body = R"({"t":"all","e":"continued"})";
  const std::string request = api_request(body, kApiKey, "Expect: 100-continue\r\n");
  REQUIRE(c.send(request.substr(0, request.size() - body.size())));  // the head only
  auto interim = c.read_response();
  INFO(interim.head);
  REQUIRE(interim.status == 100);
  REQUIRE(c.send(body));
  auto r = c.read_response();
  INFO(r.head << r.body);
  CHECK(r.status == 200);
}

TEST_CASE("a chunked API body past api.max_body_bytes is 413 in the API's JSON shape",
          "[integration][http_security][http_api]") {
  TestServer srv(api_settings());
  Conn c;
  REQUIRE(c.connect(srv.port()));
  std::string head = "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                     std::string(kApiKey) +
                     "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string chunk(40000, ' ');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  REQUIRE(c.send(head));
  c.send(std::string(size) + "\r\n" + chunk + "\r\n" + size + "\r\n" + chunk + "\r\n0\r\n\r\n");
  auto r = c.read_response();
  INFO(r.head << r.body);
  CHECK(r.status == 413);
  CHECK(r.body.find("\"code\":\"payload_too_large\"") != std::string::npos);
  CHECK(r.says_close());
}

TEST_CASE("without api.keys every /api/ path is 404 and the rest of the server is unchanged",
          "[integration][http_security][http_api]") {
  TestServer srv;
  Conn c;
  REQUIRE(c.connect(srv.port()));
  REQUIRE(c.send(api_request(R"({"t":"all","e":"x"})")));
  auto r = c.read_response();
  CHECK(r.status == 404);
  CHECK(r.body.find("api.keys") != std::string::npos);
  CHECK(srv.get("/healthz").status == 200);
}

TEST_CASE("/api/disconnect closes every connection of a user, or one socket, on the server",
          "[integration][http_api]") {
  TestServer srv(api_settings());
  auto fred1 = srv.connect();
  call(*fred1, "t.signIn", {"fred"});
  auto fred2 = srv.connect_same_session(*fred1);
  auto other = srv.connect();
  auto tab = srv.connect();
  auto post = [&](std::string_view body) {
    Conn c;
    REQUIRE(c.connect(srv.port()));
    REQUIRE(c.send(api_request(body, kApiKey, "", "/api/disconnect")));
    auto r = c.read_response();
    INFO(r.head << r.body);
    CHECK(r.status == 200);
  };

  post(R"({"users":["fred"]})");
  for (auto* c : {fred1.get(), fred2.get()}) {
    auto closed = c->wait_closed();
    CHECK(closed.closed);
    CHECK(closed.code == std::optional<uint16_t>(4000));  // the JS client reconnects
    CHECK(closed.reason == "disconnected by the server");
  }
  post(json::serialize(json::object{{"socketIds", json::array{json::value(tab->socket_id())}},
                                    {"reconnect", false}}));
  auto closed = tab->wait_closed();
  CHECK(closed.code == std::optional<uint16_t>(1008));  // the JS client stops
  // Nobody else was touched.
  CHECK(ok(other->rpc("t.echo", {1})) == json::value(json::array{1}));
}
