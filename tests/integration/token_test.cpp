// Token authentication (docs/protocol.md "Token authentication") against a real
// server process: the session a token makes (its user, its channels, its place in
// the user's index, its end with the connection), the refusals as close codes
// with nothing created, the close once exp passes, and the origin rule. The JS
// client's side, RS256 and ES256 are in tests/e2e/token.test.mjs; every check of
// the verifier in unit/token_verifier_test.cpp.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <chrono>

#include "fixture.hpp"
#include "support/http_client.hpp"
#include "support/jwt.hpp"

using namespace switchboard::test;
namespace json = boost::json;

namespace {

constexpr const char* kSecret = "integration-token-secret-0123456789";
constexpr const char* kKey = "token-test-api-key-0123456789";

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string token(const std::string& user, int64_t exp_in_s = 600, json::array channels = {}) {
  json::object c{{"sub", user}, {"exp", now_s() + exp_in_s}};
  if (!channels.empty()) c["channels"] = std::move(channels);
  return hs256_jwt(json::serialize(c), kSecret);
}

ServerSettings token_settings() {
  ServerSettings s;
  s.set("token.hs256_secrets", std::string("[\"") + kSecret + "\"]");
  s.set("api.keys", std::string("[\"") + kKey + "\"]");
  return s;
}

ConnectOptions with_token(const std::string& t) {
  ConnectOptions o;
  o.path = "/ws?token=" + t;
  return o;
}

// POST /api/subscribe for user: the number of the user's sessions it reached.
int64_t sessions_of(TestServer& srv, const std::string& user) {
  json::object body{{"users", json::array{json::value(user)}}, {"channels", json::array{"probe"}}};
  auto r = http_post(srv.port(), "/api/subscribe", json::serialize(body),
                     {{"Authorization", std::string("Bearer ") + kKey},
                      {"Content-Type", "application/json"}});
  INFO(r.status << " " << r.error << " " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body).at("sessions").as_int64();
}

}  // namespace

TEST_CASE("a token connection is signed in as sub, in its channels, listed under its user, "
          "and its session ends with it",
          "[integration][token]") {
  TestServer srv(token_settings());
  auto alice = srv.connect(with_token(token("alice", 600, {"news"})));
  CHECK(str(call(*alice, "t.whoami").at("userId")) == "alice");
  CHECK(sorted_strings(call(*alice, "t.list")) == std::vector<std::string>{"news"});
  CHECK(alice->session().empty());  // no cookie is given out

  auto pub = srv.connect();
  call(*pub, "t.user", {"alice", "for-alice", 1});
  expect_event(*alice, "for-alice");
  call(*pub, "t.channel", {"news", "headline", 2});
  expect_event(*alice, "headline");

  // In alice's index: the HTTP API's session operations reach it, and it follows.
  CHECK(sessions_of(srv, "alice") == 1);
  CHECK(sorted_strings(call(*alice, "t.list")) == std::vector<std::string>{"news", "probe"});
  // Its user is its token's.
  CHECK(err_code(alice->rpc("t.signIn", {"mallory"})) == "bad_request");

  alice->close();
  // Closed: the record is gone and the index no longer lists it.
  CHECK(eventually([&] { return sessions_of(srv, "alice") == 0; }));
}

TEST_CASE("a token wins over a cookie sent with it: no Set-Cookie and the cookie's session untouched",
          "[integration][token]") {
  TestServer srv(token_settings());
  auto anon = srv.connect();
  REQUIRE_FALSE(anon->session().empty());
  WsClient c;
  ConnectOptions o = with_token(token("bob"));
  o.session = anon->session();
  auto up = srv.try_connect(c, o);
  REQUIRE(up.ok());
  CHECK(up.set_cookie.empty());
  CHECK(str(call(c, "t.whoami").at("userId")) == "bob");
  CHECK(call(*anon, "t.whoami").at("userId").is_null());
}

TEST_CASE("refused tokens: upgraded, then closed with 4401 or 4402, and nothing is created",
          "[integration][token]") {
  TestServer srv(token_settings());
  const double created = metric_value(srv.metrics(), "switchboard_sessions_created_total");
  json::object claims{{"sub", "eve"}, {"exp", now_s() + 600}};
  struct Case {
    const char* what;
    std::string token;
    uint16_t code;
  };
  const std::vector<Case> cases = {
      {"another secret", hs256_jwt(json::serialize(claims), "some-other-secret-0123456789abcdef"), 4401},
      {"garbage", "not-a-token", 4401},
      {"empty", "", 4401},
      {"no exp", hs256_jwt(R"({"sub":"eve"})", kSecret), 4401},
      {"expired", token("eve", -60), 4402},
  };
  for (const auto& k : cases) {
    INFO(k.what);
    WsClient c;
    ConnectOptions o = with_token(k.token);
    o.wait_ready = false;
    auto up = srv.try_connect(c, o);
    REQUIRE(up.upgraded);
    auto closed = c.wait_closed();
    REQUIRE(closed.closed);
    CHECK(closed.code == std::optional<uint16_t>(k.code));
  }
  // A token past the request line's limit (8 KiB) is an HTTP refusal, before any check.
  WsClient big;
  ConnectOptions o = with_token(std::string(9000, 'a'));
  o.wait_ready = false;
  auto up = srv.try_connect(big, o);
  CHECK_FALSE(up.upgraded);
  CHECK(up.status == 431);
  CHECK(metric_value(srv.metrics(), "switchboard_sessions_created_total") == created);
}

TEST_CASE("with token authentication off a token is refused with 4401 and cookies work as before",
          "[integration][token]") {
  TestServer srv;
  WsClient c;
  ConnectOptions o = with_token(token("eve"));
  o.wait_ready = false;
  REQUIRE(srv.try_connect(c, o).upgraded);
  auto closed = c.wait_closed();
  CHECK(closed.code == std::optional<uint16_t>(4401));
  auto cookie = srv.connect();
  CHECK(call(*cookie, "t.whoami").at("userId").is_null());
}

TEST_CASE("a token connection is closed with 4402 once exp (+ leeway) passes",
          "[integration][token]") {
  auto settings = token_settings();
  settings.set("token.leeway", "0s").set("server.idle_timeout", "4s");
  TestServer srv(settings);
  auto c = srv.connect(with_token(token("dave", 2)));
  auto t0 = std::chrono::steady_clock::now();
  auto closed = c->wait_closed(std::chrono::seconds(10));
  REQUIRE(closed.closed);
  CHECK(closed.code == std::optional<uint16_t>(4402));
  // exp is 2 s away (whole seconds), the sweep runs every second.
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("a token connection may come from any origin, a cookie one may not",
          "[integration][token]") {
  auto settings = token_settings();
  settings.set("server.allowed_origins", "[\"http://app.test\"]");
  TestServer srv(settings);
  {
    WsClient c;
    ConnectOptions o = with_token(token("far"));
    o.origin = "http://elsewhere.test";
    CHECK(srv.try_connect(c, o).ok());
  }
  WsClient c;
  ConnectOptions o;
  o.origin = "http://elsewhere.test";
  CHECK(srv.try_connect(c, o).status == 403);
}
