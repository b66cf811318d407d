// Regression tests for the security review (issue 9): see docs/security.md.
// Session creation (records only on first use, creation caps), the signed
// cookie and its flags, and the per-session size bounds (docs/operations.md
// "Sessions: creation, caps and size").
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "fixture.hpp"

using namespace switchboard::test;
using Strings = std::vector<std::string>;

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// The shape of the session cookie: a 32-hex id, a dot, a 32-hex signature.
bool signed_shape(const std::string& v) {
  static const std::regex kShape("^[0-9a-f]{32}\\.[0-9a-f]{32}$");
  return std::regex_match(v, kShape);
}

// The sb.sid value of a response's Set-Cookie, if any.
std::optional<std::string> set_session(const HttpResponse& res) {
  for (const auto& h : res.headers_named("set-cookie"))
    if (auto v = cookie_value(h, kSessionCookie)) return v;
  return std::nullopt;
}

// A folder with an index.html, served as server.static_dir.
std::string make_static_dir() {
  char tmpl[] = "/tmp/sb-session-sec-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  REQUIRE(dir != nullptr);
  std::ofstream(std::string(dir) + "/index.html") << "<!doctype html><p>hi</p>\n";
  return dir;
}

// Sends `count` requests over keep-alive connections (reconnecting only when the
// server closes one), calling check(target, response) for each. Every step is
// bounded by a deadline.
void keep_alive_requests(uint16_t port, int count,
                         const std::function<void(const std::string&, http::verb,
                                                  const http::response<http::string_body>&)>& check) {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  const char* targets[] = {"/", "/switchboard.js"};
  for (int i = 0; i < count; ++i) {
    if (!stream) {
      stream.emplace(ioc);
      stream->expires_after(kDefaultTimeout);
      stream->connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
      buffer.clear();
    }
    const std::string target = targets[i % 2];
    const http::verb verb = (i / 2) % 2 ? http::verb::get : http::verb::head;
    http::request<http::empty_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    stream->expires_after(kDefaultTimeout);
    http::write(*stream, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    if (verb == http::verb::head) parser.skip(true);
    http::read(*stream, buffer, parser);
    auto res = parser.release();
    check(target, verb, res);
    if (!res.keep_alive()) stream.reset();
  }
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

double created(TestServer& srv) { return metric_value(srv.metrics(), "switchboard_sessions_created_total"); }

// n names of exactly `bytes` bytes each, every byte a control character (the
// worst case for the JSON announcement: 6 bytes each), distinct by a prefix.
Strings control_names(int n, size_t bytes, char tag) {
  Strings out;
  for (int i = 0; i < n; ++i) {
    std::string s(bytes, '\x01');
    s[0] = tag;
    s[1] = static_cast<char>('A' + i / 26);
    s[2] = static_cast<char>('a' + i % 26);
    out.push_back(s);
  }
  return out;
}
}  // namespace

TEST_CASE("cookieless page and /switchboard.js requests get a signed cookie but create no session",
          "[integration][session_security]") {
  const std::string dir = make_static_dir();
  ServerSettings settings;
  settings.set("server.static_dir", "\"" + dir + "\"");
  TestServer srv(settings);
  REQUIRE(created(srv) == 0);
  const long rss_before = rss_kib(srv.process().pid());

  std::set<std::string> cookies;
  int answered = 0;
  keep_alive_requests(srv.port(), 2000, [&](const std::string& target, http::verb verb,
                                            const http::response<http::string_body>& res) {
    INFO(verb << " " << target);
    REQUIRE(res.result_int() == 200);
    auto v = cookie_value(std::string(res[http::field::set_cookie]), kSessionCookie);
    REQUIRE(v.has_value());
    REQUIRE(signed_shape(*v));
    cookies.insert(*v);
    ++answered;
  });
  CHECK(answered == 2000);
  CHECK(cookies.size() == 2000);  // a fresh id each time: none was stored to be found again
  CHECK(created(srv) == 0);
  const long rss_after = rss_kib(srv.process().pid());
  // Reported, not asserted (allocator noise): docs/security.md quotes the figure.
  WARN("server RSS before " << rss_before << " KiB, after 2000 cookieless requests "
                            << rss_after << " KiB");

  // A request that carries a valid cookie gets none back.
  const std::string page_cookie = *cookies.begin();
  auto again = srv.get("/", {{"Cookie", std::string(kSessionCookie) + "=" + page_cookie}});
  REQUIRE(again.status == 200);
  CHECK_FALSE(set_session(again).has_value());

  // The page's WebSocket creates the record on first use, under the page's id.
  ConnectOptions opts;
  opts.session = page_cookie;
  auto c = srv.connect(opts);
  CHECK(c->upgrade().session.empty());  // no new cookie: the page's one is kept
  CHECK(c->session() == page_cookie);
  CHECK(eventually([&] { return created(srv) == 1; }));
  std::remove((dir + "/index.html").c_str());
  std::remove(dir.c_str());
}

// Issue 13 review: an upgrade the handshake refuses (400/426) must not cost a
// store write or leave an orphan record, with or without a page's cookie.
TEST_CASE("a refused WebSocket upgrade creates no session record", "[integration][session_security]") {
  TestServer srv;
  auto page = srv.get("/switchboard.js");
  const auto cookie = set_session(page);
  REQUIRE(cookie.has_value());
  const Headers base = {{"Connection", "Upgrade"}, {"Upgrade", "websocket"}};
  struct Bad {
    const char* what;
    Headers headers;
    unsigned status;
  };
  const std::vector<Bad> bad = {
      {"no key", {{"Sec-WebSocket-Version", "13"}}, 400},
      {"a key of the wrong length", {{"Sec-WebSocket-Key", "c2hvcnQ="}, {"Sec-WebSocket-Version", "13"}}, 400},
      {"no version", {{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}}, 400},
      {"version 8", {{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}, {"Sec-WebSocket-Version", "8"}}, 426},
  };
  for (const auto& b : bad) {
    for (bool with_cookie : {false, true}) {
      INFO(b.what << (with_cookie ? ", with the page's cookie" : ", no cookie"));
      Headers h = base;
      h.insert(h.end(), b.headers.begin(), b.headers.end());
      if (with_cookie) h.emplace_back("Cookie", std::string(kSessionCookie) + "=" + *cookie);
      auto res = srv.get("/ws", h);
      CHECK(res.status == b.status);
      CHECK_FALSE(set_session(res).has_value());
    }
  }
  CHECK(created(srv) == 0);
  // The same cookie on a valid upgrade: the one record, under the page's id.
  ConnectOptions opts;
  opts.session = *cookie;
  auto c = srv.connect(opts);
  CHECK(c->session() == *cookie);
  CHECK(eventually([&] { return created(srv) == 1; }));
}

TEST_CASE("tabs opened at the same moment with the page's cookie share one session",
          "[integration][session_security]") {
  TestServer srv;
  auto publisher = srv.connect();
  for (int round = 0; round < 10; ++round) {
    INFO("round " << round);
    auto page = srv.get("/switchboard.js");
    REQUIRE(page.status == 200);
    auto cookie = set_session(page);
    REQUIRE(cookie.has_value());

    // Both tabs upgrade concurrently: both find no record, both create it.
    WsClient tab1, tab2;
    ConnectOptions opts;
    opts.session = *cookie;
    UpgradeResult r1, r2;
    std::thread t1([&] { r1 = srv.try_connect(tab1, opts); });
    std::thread t2([&] { r2 = srv.try_connect(tab2, opts); });
    t1.join();
    t2.join();
    REQUIRE(r1.ok());
    REQUIRE(r2.ok());
    CHECK(r1.session.empty());
    CHECK(r2.session.empty());

    const std::string channel = "room" + std::to_string(round);
    call(tab1, "t.sub", {channel});
    CHECK(sorted_strings(call(tab2, "t.list")) == Strings{channel});
    call(*publisher, "t.channel", {channel, "hello"});
    CHECK(expect_event(tab1, "hello").at("c") == json::value(channel));
    CHECK(expect_event(tab2, "hello").at("c") == json::value(channel));
  }
}

TEST_CASE("session creations beyond new_sessions_per_ip get 429 with Retry-After",
          "[integration][session_security]") {
  ServerSettings settings;
  settings.set("limits.new_sessions_per_ip", "3");  // one token per 20 s: none refills here
  TestServer srv(settings);
  std::vector<std::unique_ptr<WsClient>> held;
  for (int i = 0; i < 3; ++i) held.push_back(srv.connect());

  RawClient raw;
  REQUIRE(raw.connect(srv.host(), srv.port()));
  CHECK(raw.upgrade(srv.host(), srv.port()) == 429);
  INFO(raw.response_head());
  CHECK(std::regex_search(raw.response_head(), std::regex("\r\nRetry-After: [1-9][0-9]*\r\n",
                                                          std::regex::icase)));
  WsClient refused;
  ConnectOptions no_wait;
  no_wait.wait_ready = false;
  auto r = srv.try_connect(refused, no_wait);
  CHECK(r.status == 429);
  CHECK_FALSE(r.upgraded);
  CHECK(metric_value(srv.metrics(), "switchboard_sessions_refused_total") >= 2);

  // The cap is on creating records: existing sessions still connect.
  auto tab = srv.connect_same_session(*held[0]);
  CHECK(tab->is_open());
  // And a page still gets its cookie (no record, so no cap).
  auto page = srv.get("/switchboard.js");
  CHECK(page.status == 200);
  CHECK(set_session(page).has_value());
}

TEST_CASE("an unsigned, forged or foreign session cookie is replaced",
          "[integration][session_security]") {
  ServerSettings settings;
  settings.set("session.secret", "\"first-secret\"");
  TestServer srv(settings);
  auto owner = srv.connect();
  REQUIRE(signed_shape(owner->session()));
  call(*owner, "t.sub", {"private"});
  const std::string id = owner->session().substr(0, 32);

  std::string presented;
  SECTION("an old unsigned id (even a live one)") { presented = id; }
  SECTION("the id with a made-up signature") { presented = id + "." + std::string(32, '0'); }
  SECTION("another id with this session's signature") {
    presented = std::string(32, 'a') + owner->session().substr(32);
  }
  SECTION("a cookie signed by a server with another secret") {
    ServerSettings other_settings;
    other_settings.set("session.secret", "\"second-secret\"");
    TestServer other(other_settings);
    auto page = other.get("/switchboard.js");
    REQUIRE(set_session(page).has_value());
    presented = *set_session(page);
  }
  INFO("presented " << presented);

  auto page = srv.get("/switchboard.js", {{"Cookie", std::string(kSessionCookie) + "=" + presented}});
  auto replaced = set_session(page);
  REQUIRE(replaced.has_value());
  CHECK(signed_shape(*replaced));
  CHECK(*replaced != presented);

  ConnectOptions opts;
  opts.session = presented;
  auto c = srv.connect(opts);
  REQUIRE(!c->upgrade().session.empty());  // the 101 carries a new cookie
  CHECK(signed_shape(c->upgrade().session));
  CHECK(c->upgrade().session.substr(0, 32) != id);
  CHECK(sorted_strings(call(*c, "t.list")) == Strings{});  // not the owner's session
}

TEST_CASE("the session cookie carries Secure and Max-Age when configured",
          "[integration][session_security]") {
  SECTION("defaults: neither") {
    TestServer srv;
    auto page = srv.get("/switchboard.js");
    auto h = page.headers_named("set-cookie");
    REQUIRE(h.size() == 1);
    CHECK(h[0].find("HttpOnly") != std::string::npos);
    CHECK(h[0].find("SameSite=Lax") != std::string::npos);
    CHECK(h[0].find("Secure") == std::string::npos);
    CHECK(h[0].find("Max-Age") == std::string::npos);
  }
  SECTION("cookie_secure and cookie_max_age") {
    ServerSettings settings;
    settings.set("session.cookie_secure", "true").set("session.cookie_max_age", "30d");
    TestServer srv(settings);
    auto page = srv.get("/switchboard.js");
    auto h = page.headers_named("set-cookie");
    REQUIRE(h.size() == 1);
    CHECK(h[0].find("; Secure") != std::string::npos);
    CHECK(h[0].find("; Max-Age=2592000") != std::string::npos);
    // The 101 of a cookieless upgrade too.
    auto c = srv.connect();
    CHECK(c->upgrade().set_cookie.find("; Secure") != std::string::npos);
    CHECK(c->upgrade().set_cookie.find("; Max-Age=2592000") != std::string::npos);
  }
}

TEST_CASE("with the default limits a session fills up to session_channel_bytes without "
          "transport_unavailable, and one byte more is limit_exceeded",
          "[integration][session_security]") {
  TestServer srv;  // default limits: 65536 channel bytes, names up to 1024 bytes
  auto c = srv.connect();
  auto tab = srv.connect_same_session(*c);
  auto publisher = srv.connect();

  // 64 names x 1024 control bytes: exactly the bound, and the largest announcement
  // (each byte a 6-byte JSON escape: ~390 KB, under the 1 MiB bus limit).
  const Strings names = control_names(64, 1024, 'n');
  for (size_t i = 0; i < names.size(); i += 8) {
    json::array batch;
    for (size_t j = i; j < i + 8; ++j) batch.emplace_back(names[j]);
    auto reply = c->rpc("t.sub", {batch});
    INFO("batch " << i / 8);
    REQUIRE(ok(reply).as_array().size() == i + 8);
  }
  // One more byte of names: refused at once (not after a bus timeout).
  auto over = c->rpc("t.sub", {"x"}, Millis(2000));
  CHECK(err_code(over) == "limit_exceeded");
  CHECK(err_code(tab->rpc("t.sub", {"y"})) == "limit_exceeded");

  Strings expected = names;
  std::sort(expected.begin(), expected.end());
  CHECK(sorted_strings(call(*tab, "t.list")) == expected);
  // The other connection holds exactly the stored channels.
  call(*publisher, "t.channel", {"x", "refused"});
  expect_quiet(*publisher, *tab);
  call(*publisher, "t.channel", {names.back(), "held"});
  expect_event(*tab, "held");
  expect_event(*c, "held");

  // Unsubscribing makes room again.
  call(*c, "t.unsub", {names.front()});
  CHECK(ok(c->rpc("t.sub", {"x"})).as_array().size() == 64);
}

TEST_CASE("session data beyond session_data_bytes is limit_exceeded",
          "[integration][session_security]") {
  ServerSettings settings;
  settings.set("limits.session_data_bytes", "1000");
  TestServer srv(settings);
  auto c = srv.connect();
  // key "a" + JSON "\"xxx...\"" (600 + 2 bytes)
  call(*c, "t.setData", {"a", std::string(600, 'x')});
  CHECK(err_code(c->rpc("t.setData", {"b", std::string(400, 'y')})) == "limit_exceeded");
  CHECK(call(*c, "t.getData", {"b"}).is_null());
  // Replacing a value counts the new size only; deleting always works.
  call(*c, "t.setData", {"a", std::string(100, 'x')});
  call(*c, "t.setData", {"b", std::string(400, 'y')});
  call(*c, "t.setData", {"a", nullptr});
  CHECK(call(*c, "t.getData", {"b"}) == json::value(std::string(400, 'y')));
}

TEST_CASE("a config whose full session announcement exceeds max_bus_message_bytes is refused",
          "[integration][session_security]") {
  std::string path = write_temp_file(
      "server:\n  listen: \"127.0.0.1:0\"\nlimits:\n  max_bus_message_bytes: 100000\n");
  auto run = run_process(test_server_spec({"--config", path}), Millis(30000));
  std::remove(path.c_str());
  INFO("output:\n" << run.output);
  REQUIRE(run.status.has_value());
  CHECK_FALSE(run.status->success());
  CHECK(run.status->exited);
  CHECK(run.output.find("limits.max_bus_message_bytes") != std::string::npos);
  CHECK(run.output.find("limits.session_channel_bytes") != std::string::npos);
  CHECK(run.output.find("switchboard listening") == std::string::npos);
}
