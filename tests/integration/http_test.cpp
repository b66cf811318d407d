// The HTTP endpoints beside the WebSocket (product.md §5): /healthz, /metrics,
// /switchboard.js.
#include <cctype>

#include "fixture.hpp"

using namespace switchboard::test;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("/healthz returns 200 with transport and session store state", "[integration][http]") {
  TestServer srv;
  auto res = srv.get("/healthz");
  INFO("error: " << res.error << "\nbody: " << res.body);
  REQUIRE(res.status == 200);
  CHECK(lower(res.header("content-type").value_or("")).find("json") != std::string::npos);
  boost::system::error_code ec;
  auto body = json::parse(res.body, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(body.is_object());
  std::string text = lower(res.body);
  CHECK(text.find("transport") != std::string::npos);
  CHECK((text.find("store") != std::string::npos || text.find("session") != std::string::npos));
}

TEST_CASE("/metrics is Prometheus text with the core metrics", "[integration][http]") {
  TestServer srv;
  auto c = srv.connect();
  call(*c, "t.all", {"counted"});
  expect_event(*c, "counted");
  c->rpc("no.such.method");

  auto res = srv.get("/metrics");
  INFO("error: " << res.error);
  REQUIRE(res.status == 200);
  CHECK(lower(res.header("content-type").value_or("")).find("text/plain") != std::string::npos);
  INFO("body:\n" << res.body);

  for (const char* name :
       {"switchboard_connections", "switchboard_events_published_total",
        "switchboard_events_delivered_total", "switchboard_events_dropped_total",
        "switchboard_rpc_calls_total", "switchboard_rpc_errors_total",
        "switchboard_slow_client_disconnects_total", "switchboard_transport_state"}) {
    INFO("metric " << name);
    CHECK(metric_value(res.body, name) >= 0);
  }

  // The counters move with what this test did (updates may trail the replies a little).
  CHECK(eventually([&] {
    auto body = srv.metrics();
    return metric_value(body, "switchboard_connections") >= 1 &&
           metric_value(body, "switchboard_events_published_total") >= 1 &&
           metric_value(body, "switchboard_events_delivered_total") >= 1 &&
           metric_value(body, "switchboard_rpc_calls_total") >= 2 &&
           metric_value(body, "switchboard_rpc_errors_total") >= 1;
  }));
}

TEST_CASE("/switchboard.js is served as JavaScript", "[integration][http]") {
  TestServer srv;
  auto res = srv.get("/switchboard.js");
  INFO("error: " << res.error);
  REQUIRE(res.status == 200);
  CHECK(lower(res.header("content-type").value_or("")).find("javascript") != std::string::npos);
  CHECK_FALSE(res.body.empty());
}

TEST_CASE("an unknown path is 404", "[integration][http]") {
  TestServer srv;
  CHECK(srv.get("/no/such/thing").status == 404);
}

TEST_CASE("a plain HTTP request without a session gets the session cookie", "[integration][http]") {
  TestServer srv;
  auto res = srv.get("/switchboard.js");
  REQUIRE(res.status == 200);
  std::optional<std::string> session;
  for (const auto& set_cookie : res.headers_named("set-cookie"))
    if (auto v = cookie_value(set_cookie, kSessionCookie)) session = v;
  REQUIRE(session.has_value());

  // The page's WebSocket then uses that session.
  ConnectOptions opts;
  opts.session = *session;
  auto c = srv.connect(opts);
  CHECK(c->session() == *session);
}

TEST_CASE("/healthz and /metrics never set a session cookie", "[integration][http]") {
  TestServer srv;
  for (const char* path : {"/healthz", "/metrics"}) {
    INFO("GET " << path);
    auto res = srv.get(path);
    REQUIRE(res.status == 200);
    CHECK(res.headers_named("set-cookie").empty());
  }
}
