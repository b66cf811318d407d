// Bad inputs and bounds (quality.md "Security rules", docs/protocol.md): origin
// allow-list, message size, JSON depth, channel limits, RPC rate, connection caps,
// handshake and idle deadlines, slow readers.
#include <future>

#include "fixture.hpp"

using namespace switchboard::test;
using Strings = std::vector<std::string>;

namespace {

constexpr Millis kLongWait{30000};

// An rpc frame calling t.echo that is exactly `bytes` long.
std::string rpc_of_size(std::size_t bytes, uint64_t id) {
  std::string head = R"({"t":"rpc","id":)" + std::to_string(id) + R"(,"m":"t.echo","p":[")";
  std::string tail = R"("]})";
  REQUIRE(bytes > head.size() + tail.size());
  return head + std::string(bytes - head.size() - tail.size(), 'x') + tail;
}

// A frame that is not usable is answered with bad_request, as a reply to `id` or
// as {"t":"error"} (when the server could not read the id).
void expect_bad_request_reply_or_error(WsClient& c, uint64_t id) {
  auto f = c.next_frame();
  REQUIRE(f.has_value());
  INFO("frame: " << json::serialize(*f));
  if (f->at("t") == json::value("reply")) {
    CHECK(f->at("id") == json::value(id));
  } else {
    CHECK(f->at("t") == json::value("error"));
  }
  REQUIRE(f->contains("err"));
  CHECK(f->at("err").at("code") == json::value("bad_request"));
}

}  // namespace

TEST_CASE("an Origin outside the allow-list gets 403 before the upgrade", "[integration][limits]") {
  ServerSettings settings;
  settings.set("server.allowed_origins", R"(["http://allowed.test", "https://also.test"])");
  TestServer srv(settings);

  WsClient foreign;
  ConnectOptions opts;
  opts.origin = "http://evil.test";
  auto result = srv.try_connect(foreign, opts);
  CHECK_FALSE(result.upgraded);
  CHECK(result.status == 403);
  CHECK_FALSE(foreign.is_open());

  SECTION("an allowed origin is upgraded") {
    opts.origin = "http://allowed.test";
    auto c = srv.connect(opts);
    CHECK(call(*c, "t.echo", {1}) == json::parse("[1]"));
    opts.origin = "https://also.test";
    srv.connect(opts);
  }
  SECTION("a look-alike origin is refused") {
    for (std::string origin : {"http://allowed.test.evil.test", "http://allowed.test:81",
                               "https://allowed.test", "http://ALLOWED.test.evil"}) {
      INFO("origin " << origin);
      WsClient c;
      opts.origin = origin;
      auto r = srv.try_connect(c, opts);
      CHECK_FALSE(r.upgraded);
      CHECK(r.status == 403);
    }
  }
}

TEST_CASE("a message over max_message_bytes is closed with 1009", "[integration][limits]") {
  ServerSettings settings;
  settings.set("limits.max_message_bytes", "1024");
  TestServer srv(settings);
  auto c = srv.connect();
  auto bystander = srv.connect();

  SECTION("in one frame") {
    c->send_text(rpc_of_size(2000, 1));
    auto closed = c->wait_closed();
    REQUIRE(closed.closed);
    INFO("transport error: " << closed.error.message());
    REQUIRE(closed.code.has_value());
    CHECK(*closed.code == 1009);
  }
  SECTION("in several frames, each under the limit") {
    std::string message = rpc_of_size(1800, 2);
    // The first two fragments already pass the limit; the server may close before
    // the rest is written, so later writes are allowed to fail.
    c->send_fragment(message.substr(0, 600), false);
    c->send_fragment(message.substr(600, 600), false);
    c->send_fragment(message.substr(1200), true);
    auto closed = c->wait_closed();
    REQUIRE(closed.closed);
    INFO("transport error: " << closed.error.message());
    REQUIRE(closed.code.has_value());
    CHECK(*closed.code == 1009);
  }
  SECTION("exactly at the limit is accepted") {
    c->send_text(rpc_of_size(1024, 3));
    CHECK(ok(c->wait_reply(3)).at(0).as_string().size() > 900);
  }
  SECTION("a fragmented message under the limit is reassembled") {
    std::string message = rpc_of_size(900, 4);
    REQUIRE(c->send_fragment(message.substr(0, 300), false));
    REQUIRE(c->send_fragment(message.substr(300, 300), false));
    REQUIRE(c->send_fragment(message.substr(600), true));
    CHECK(ok(c->wait_reply(4)).at(0).as_string().size() > 800);
  }
  CHECK(call(*bystander, "t.echo", {"unaffected"}) == json::parse(R"(["unaffected"])"));
}

TEST_CASE("JSON nested deeper than json_max_depth is a bad_request: the connection stays up",
          "[integration][limits]") {
  ServerSettings settings;
  settings.set("limits.json_max_depth", "8");
  TestServer srv(settings);
  auto c = srv.connect();

  std::string deep = std::string(40, '[') + "1" + std::string(40, ']');
  c->send_text(R"({"t":"rpc","id":9301,"m":"t.echo","p":[)" + deep + "]}");
  expect_bad_request_reply_or_error(*c, 9301);

  std::string deep_objects;
  for (int i = 0; i < 40; ++i) deep_objects += R"({"a":)";
  deep_objects += "1" + std::string(40, '}');
  c->send_text(R"({"t":"rpc","id":9302,"m":"t.echo","p":[)" + deep_objects + "]}");
  expect_bad_request_reply_or_error(*c, 9302);

  REQUIRE(c->is_open());
  CHECK(call(*c, "t.echo", {json::parse("[[[1]]]")}) == json::parse("[[[[1]]]]"));
}

TEST_CASE("a channel name that is empty or too long is invalid_channel", "[integration][limits]") {
  ServerSettings settings;
  settings.set("limits.channel_name_bytes", "16");
  TestServer srv(settings);
  auto c = srv.connect();

  CHECK(err_code(c->rpc("t.sub", {std::string(17, 'x')})) == "invalid_channel");
  CHECK(err_code(c->rpc("t.sub", {""})) == "invalid_channel");
  // The limit counts bytes: 9 × "é" is 18 bytes.
  std::string e9;
  for (int i = 0; i < 9; ++i) e9 += "é";
  CHECK(err_code(c->rpc("t.sub", {e9})) == "invalid_channel");
  CHECK(err_code(c->rpc("t.sub", {json::array{"fine", std::string(17, 'y')}})) ==
        "invalid_channel");

  std::string e8 = e9.substr(2);
  CHECK(sorted_strings(call(*c, "t.sub", {std::string(16, 'x')})) == Strings{std::string(16, 'x')});
  call(*c, "t.sub", {e8});
  auto list = sorted_strings(call(*c, "t.list"));
  CHECK(std::find(list.begin(), list.end(), std::string(17, 'x')) == list.end());
  CHECK(std::find(list.begin(), list.end(), e8) != list.end());
  CHECK(std::find(list.begin(), list.end(), "fine") == list.end());  // the call failed whole
}

TEST_CASE("more than channels_per_session channels is limit_exceeded", "[integration][limits]") {
  ServerSettings settings;
  settings.set("limits.channels_per_session", "3");
  TestServer srv(settings);
  auto c = srv.connect();
  auto tab = srv.connect_same_session(*c);
  auto publisher = srv.connect();

  call(*c, "t.sub", {json::array{"a", "b", "c"}});
  CHECK(err_code(c->rpc("t.sub", {"d"})) == "limit_exceeded");
  // The limit is per session, whichever connection asks.
  CHECK(err_code(tab->rpc("t.sub", {"e"})) == "limit_exceeded");
  // Re-subscribing to a channel already held adds nothing.
  CHECK(sorted_strings(call(*c, "t.sub", {"a"})) == Strings{"a", "b", "c"});
  CHECK(sorted_strings(call(*c, "t.list")) == Strings{"a", "b", "c"});

  call(*publisher, "t.channel", {json::array{"d", "e"}, "notSubscribed"});
  expect_quiet(*publisher, *c);
  expect_quiet(*publisher, *tab);

  call(*c, "t.unsub", {"c"});
  CHECK(sorted_strings(call(*tab, "t.sub", {"d"})) == Strings{"a", "b", "d"});
}

TEST_CASE("RPC calls over rpc_per_second get rate_limited, then it recovers",
          "[integration][limits]") {
  ServerSettings settings;
  settings.set("limits.rpc_per_second", "5");
  TestServer srv(settings);
  auto c = srv.connect();

  std::vector<uint64_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(c->send_rpc("t.echo", {i}));
  int succeeded = 0;
  int limited = 0;
  for (auto id : ids) {
    auto reply = c->wait_reply(id);
    if (reply.contains("r")) {
      ++succeeded;
    } else {
      CHECK(err_code(reply) == "rate_limited");
      ++limited;
    }
  }
  CHECK(succeeded >= 1);
  CHECK(limited >= 1);
  REQUIRE(c->is_open());

  // The limit is per connection: a fresh connection is not limited.
  auto fresh = srv.connect();
  CHECK(call(*fresh, "t.echo", {"fresh"}) == json::parse(R"(["fresh"])"));

  // Tokens come back with time; calls succeed again.
  CHECK(eventually([&] { return c->rpc("t.echo", {"again"}).contains("r"); }));
}

TEST_CASE("connections over max_connections get 503", "[integration][limits]") {
  ServerSettings settings;
  settings.set("limits.max_connections", "2");
  TestServer srv(settings);
  auto c1 = srv.connect();
  auto c2 = srv.connect();

  WsClient refused;
  ConnectOptions other_ip;
  other_ip.bind_address = "127.0.0.2";  // not the per-IP cap: this is another address
  auto result = srv.try_connect(refused, other_ip);
  CHECK_FALSE(result.upgraded);
  CHECK(result.status == 503);

  // The existing connections are unaffected, and a freed slot can be used again.
  CHECK(call(*c2, "t.echo", {2}) == json::parse("[2]"));
  c1->close();
  CHECK(c1->wait_closed().closed);
  CHECK(eventually([&] {
    WsClient again;
    return srv.try_connect(again, other_ip).ok();
  }));
}

TEST_CASE("connections over max_connections_per_ip get 503", "[integration][limits]") {
  ServerSettings settings;
  settings.set("limits.max_connections_per_ip", "2");
  TestServer srv(settings);
  auto c1 = srv.connect();
  auto c2 = srv.connect();

  WsClient refused;
  auto result = srv.try_connect(refused);
  CHECK_FALSE(result.upgraded);
  CHECK(result.status == 503);

  ConnectOptions other_ip;
  other_ip.bind_address = "127.0.0.2";
  auto from_elsewhere = srv.connect(other_ip);
  CHECK(call(*from_elsewhere, "t.echo", {3}) == json::parse("[3]"));
}

TEST_CASE("a client that does not finish its HTTP headers is disconnected after handshake_timeout",
          "[integration][limits]") {
  ServerSettings settings;
  settings.set("server.handshake_timeout", "1s");
  TestServer srv(settings);

  RawClient raw;
  REQUIRE(raw.connect(srv.host(), srv.port()));

  SECTION("partial headers") {
    REQUIRE(raw.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"));
    CHECK(raw.wait_eof(kLongWait));
  }
  SECTION("nothing at all") {
    CHECK(raw.wait_eof(kLongWait));
  }
  SECTION("headers dribbled a byte at a time") {
    REQUIRE(raw.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "));
    // Each step waits (bounded) for the server to hang up; the wait is the pacing.
    bool closed = false;
    for (int i = 0; i < 150 && !closed; ++i) {
      closed = raw.wait_eof(Millis(200));
      if (!closed && !raw.send("a")) closed = raw.wait_eof(Millis(1000));
    }
    CHECK(closed);
  }
  // The server kept serving everyone else meanwhile.
  auto c = srv.connect();
  CHECK(call(*c, "t.echo", {1}) == json::parse("[1]"));
}

TEST_CASE("a connection that never answers pings is closed after idle_timeout",
          "[integration][limits]") {
  ServerSettings settings;
  settings.set("server.idle_timeout", "1s");
  TestServer srv(settings);
  // This client keeps reading, so it answers every ping.
  auto alive = srv.connect();

  RawClient raw;
  REQUIRE(raw.upgrade(srv.host(), srv.port()) == 101);
  struct Outcome {
    int pings = 0;
    bool closed = false;
    std::optional<uint16_t> close_code;
  };
  auto silent = std::async(std::launch::async, [&raw] {
    Outcome out;
    auto deadline = std::chrono::steady_clock::now() + kLongWait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto f = raw.read_frame(kLongWait);
      if (!f) {
        out.closed = raw.closed();
        return out;
      }
      if (f->is_ping()) ++out.pings;  // never answered
      if (f->is_close()) {
        out.closed = true;
        out.close_code = f->close_code();
        return out;
      }
    }
    return out;
  });
  while (silent.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    alive->poll(Millis(100));
  auto out = silent.get();

  CHECK(out.closed);
  CHECK(out.pings >= 1);
  // The client that answered its pings is still connected.
  REQUIRE(alive->is_open());
  CHECK(call(*alive, "t.echo", {"alive"}) == json::parse(R"(["alive"])"));
}

TEST_CASE("a slow reader is cut off and counted: other clients keep receiving",
          "[integration][limits]") {
  ServerSettings settings;
  settings.set("limits.send_queue_bytes", "65536");
  TestServer srv(settings);
  ConnectOptions small_window;
  small_window.receive_buffer_bytes = 4096;
  auto slow = srv.connect(small_window);
  auto normal = srv.connect();
  call(*slow, "t.sub", {"flood"});
  call(*normal, "t.sub", {"news"});

  const std::string kCounter = "switchboard_slow_client_disconnects_total";
  double before = metric_value(srv.metrics(), kCounter);
  REQUIRE(before >= 0);

  // From here on `slow` reads nothing. 16 MiB towards it is far more than the
  // kernel buffers plus the send-queue bound.
  auto accepted = call(*normal, "t.flood", {"flood", "big", 512, 32768});
  CHECK(accepted.to_number<int64_t>() > 0);

  INFO(kCounter << " before: " << before);
  CHECK(eventually([&] { return metric_value(srv.metrics(), kCounter) > before; }, kLongWait));

  // Reading again, the slow client finds what the kernel had buffered, then the end.
  auto closed = slow->wait_closed(kLongWait);
  REQUIRE(closed.closed);
  INFO("close code " << (closed.code ? std::to_string(*closed.code) : "none") << ", error "
                     << closed.error.message());
  if (closed.code) CHECK((*closed.code == 1013 || *closed.code == 1008));

  call(*normal, "t.channel", {"news", "stillHere", 1});
  CHECK(expect_event(*normal, "stillHere").at("c") == json::value("news"));
  expect_quiet(*normal, *normal);
}

// Issue 13: each event loop's inbox is bounded (limits.loop_inbox). A loop
// stalled by a handler that blocks (against docs/threading.md) keeps at most the
// bound's worth of bus deliveries; the rest are dropped for its connections only
// and counted, other loops deliver everything, and the loop recovers.
TEST_CASE("a loop stalled by a blocking handler drops deliveries past loop_inbox, counted, "
          "other loops get everything",
          "[integration][limits]") {
  ServerSettings settings;
  settings.set("server.threads", "2").set("limits.loop_inbox", "20");
  TestServer srv(settings);
  auto stalled = srv.connect();
  auto other = srv.connect();  // connections go to the loops in turn: the other loop
  call(*stalled, "t.sub", {"room"});
  call(*other, "t.sub", {"room"});
  const auto block = stalled->send_rpc("t.block", {1500});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the handler is sleeping
  // 200 events in calls of 10: the publishing loop itself (busy in the handler
  // while its own deliveries arrive) never holds more than its bound.
  for (int k = 0; k < 20; ++k) {
    const std::string name = "e" + std::to_string(k);
    REQUIRE(call(*other, "t.flood", {"room", name.c_str(), 10, 10}) == json::value(10));
    for (int i = 0; i < 10; ++i) {
      auto ev = expect_event(*other, name);
      REQUIRE(ev.at("p").as_array().at(0) == json::value(i));
    }
  }
  CHECK(ok(stalled->wait_reply(block)) == json::value(1500));
  // The stalled loop's connection gets the first 20, in order, and no more.
  for (int i = 0; i < 20; ++i) {
    auto ev = expect_event(*stalled, i < 10 ? "e0" : "e1");
    CHECK(ev.at("p").as_array().at(0) == json::value(i % 10));
  }
  expect_quiet(*other, *stalled);
  CHECK(metric_value(srv.metrics(), "switchboard_backpressure_total") == 180);
  // Recovered: the next event reaches both.
  call(*other, "t.channel", {"room", "after"});
  expect_event(*stalled, "after");
  expect_event(*other, "after");
}
