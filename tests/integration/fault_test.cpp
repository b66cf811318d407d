// What users see when the bus or the session store misbehaves, using the test-only
// `fault` plugin (tests/plugins/fault): health and metrics report it, handshakes
// are refused, and every failed call reaches its caller (product.md §2, §3;
// docs/operations.md).
#include "fixture.hpp"

using namespace switchboard::test;
using Strings = std::vector<std::string>;

namespace {

json::value healthz_body(const HttpResponse& res) {
  boost::system::error_code ec;
  auto body = json::parse(res.body, ec);
  INFO("body: " << res.body);
  REQUIRE_FALSE(ec);
  REQUIRE(body.is_object());
  return body;
}

}  // namespace

TEST_CASE("/healthz is 503 and metrics show the state while the transport is not connected",
          "[integration][fault]") {
  std::string state;
  double metric = 0;
  SECTION("failed") {
    state = "failed";
    metric = 3;
  }
  SECTION("reconnecting") {
    state = "reconnecting";
    metric = 2;
  }
  ServerSettings settings;
  settings.set("transport.use", "fault").set("fault.state", state);
  TestServer srv(settings);

  auto res = srv.get("/healthz");
  INFO("error: " << res.error << " body: " << res.body);
  CHECK(res.status == 503);
  auto body = healthz_body(res);
  CHECK(body.at("status") == json::value("unavailable"));
  CHECK(body.at("transport").at("state") == json::value(state));
  CHECK(body.at("transport").at("plugin") == json::value("fault"));

  CHECK(metric_value(srv.metrics(), "switchboard_transport_state") == metric);
}

TEST_CASE("/healthz is 200 with both plugins connected", "[integration][fault]") {
  TestServer srv;
  auto res = srv.get("/healthz");
  REQUIRE(res.status == 200);
  auto body = healthz_body(res);
  CHECK(body.at("status") == json::value("ok"));
  CHECK(body.at("transport").at("state") == json::value("connected"));
  CHECK(body.at("session_store").at("state") == json::value("connected"));
  CHECK(metric_value(srv.metrics(), "switchboard_transport_state") == 1);
  CHECK(metric_value(srv.metrics(), "switchboard_session_store_state") == 1);
}

TEST_CASE("a session store that cannot be reached refuses new upgrades with 503",
          "[integration][fault]") {
  ServerSettings settings;
  settings.set("session.store", "fault").set("fault.store_fail", "all");
  TestServer srv(settings);

  WsClient c;
  auto result = srv.try_connect(c);
  CHECK_FALSE(result.upgraded);
  CHECK(result.status == 503);
  CHECK(eventually(
      [&] { return metric_value(srv.metrics(), "switchboard_connections_refused_total") >= 1; }));
  CHECK(metric_value(srv.metrics(), "switchboard_session_store_state") == 3);
}

TEST_CASE("session store write failures reach the caller: the connection stays up",
          "[integration][fault]") {
  ServerSettings settings;
  settings.set("session.store", "fault").set("fault.store_fail", "writes");
  TestServer srv(settings);
  auto c = srv.connect();
  auto publisher = srv.connect();

  CHECK(err_code(c->rpc("t.sub", {"a"})) == "store_unavailable");
  CHECK(err_code(c->rpc("t.unsub", {"a"})) == "store_unavailable");
  CHECK(err_code(c->rpc("t.reset")) == "store_unavailable");
  CHECK(err_code(c->rpc("t.signIn", {"fred"})) == "store_unavailable");
  CHECK(err_code(c->rpc("t.signOut")) == "store_unavailable");
  CHECK(err_code(c->rpc("t.setData", {"k", 1})) == "store_unavailable");

  // Nothing took effect.
  CHECK(call(*c, "t.whoami").at("userId") == json::value(nullptr));
  call(*publisher, "t.channel", {"a", "notSubscribed"});
  call(*publisher, "t.user", {"fred", "notSignedIn"});
  expect_quiet(*publisher, *c);
  CHECK(call(*c, "t.echo", {"up"}) == json::parse(R"(["up"])"));
}

TEST_CASE("a bus that is down: publish reports the drop and it is counted", "[integration][fault]") {
  ServerSettings settings;
  settings.set("transport.use", "fault").set("fault.state", "failed").set("fault.refuse_publish", "true");
  TestServer srv(settings);
  auto c = srv.connect();

  CHECK(call(*c, "t.all", {"lost"}) == json::value(false));
  CHECK(call(*c, "t.channel", {"a", "lost"}) == json::value(false));
  CHECK(metric_value(srv.metrics(), "switchboard_events_dropped_total") >= 2);

  SECTION("a session change that cannot be announced is transport_unavailable, but saved") {
    CHECK(err_code(c->rpc("t.sub", {"a"})) == "transport_unavailable");
    CHECK(sorted_strings(call(*c, "t.list")) == Strings{"a"});
  }
  CHECK(call(*c, "t.echo", {"up"}) == json::parse(R"(["up"])"));
}

TEST_CASE("a bus that refuses a message it was handed: counted as dropped", "[integration][fault]") {
  ServerSettings settings;
  settings.set("transport.use", "fault").set("fault.refuse_publish", "true");  // reports connected
  TestServer srv(settings);
  auto c = srv.connect();

  // The refusal comes after the call returned (publishing is asynchronous).
  CHECK(call(*c, "t.all", {"lost"}) == json::value(true));
  CHECK(eventually(
      [&] { return metric_value(srv.metrics(), "switchboard_events_dropped_total") >= 1; }));
  CHECK(err_code(c->rpc("t.sub", {"a"})) == "transport_unavailable");
  CHECK(call(*c, "t.echo", {"up"}) == json::parse(R"(["up"])"));
}

// Issue 13: the control thread's queue is bounded (limits.control_queue). A
// transport whose publish blocks makes it fall behind: publishes past the bound
// are refused at once (app.publish() returns false) and session calls fail with
// store_unavailable, both counted as backpressure; nothing else is lost, and it
// recovers when the queue drains.
TEST_CASE("a control thread that falls behind: work past limits.control_queue is refused and "
          "counted, then it recovers",
          "[integration][fault]") {
  ServerSettings settings;
  settings.set("transport.use", "fault").set("fault.publish_delay", "100ms").set("limits.control_queue", "5");
  TestServer srv(settings);
  auto c = srv.connect();
  // One publish keeps the control thread busy for 100 ms; then 5 may wait.
  REQUIRE(call(*c, "t.channel", {"warm", "first"}) == json::value(true));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  // Pipelined: the subscribe reaches the control queue right behind the flood.
  const auto flood = c->send_rpc("t.flood", {"room", "e", 50, 10});
  const auto sub = c->send_rpc("t.sub", {"room"});
  const auto accepted = ok(c->wait_reply(flood)).as_int64();
  CHECK(accepted == 5);
  const auto reply = c->wait_reply(sub);
  CHECK(err_code(reply) == "store_unavailable");
  CHECK(str(reply.at("err").at("message")).find("limits.control_queue") != std::string::npos);
  const std::string text = srv.metrics();
  CHECK(metric_value(text, "switchboard_backpressure_total") == static_cast<double>(50 - accepted + 1));
  CHECK(metric_value(text, "switchboard_events_dropped_total") == static_cast<double>(50 - accepted));
  // Drained (at most ~0.7 s of publishes): calls work again.
  CHECK(eventually([&] { return c->rpc("t.sub", {"room"}).contains("r"); }));
  CHECK(call(*c, "t.channel", {"room", "back"}) == json::value(true));
}
