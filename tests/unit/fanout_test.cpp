// routing::Fanout: one parse, every loop's inbox, drains on each loop's own
// thread, the loop-inbox bound counted, session changes exempt from it.
#include <catch2/catch.hpp>

#include "fake_connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "routing/fanout.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using switchboard::test::FakeConn;

namespace {
struct TwoLoops {
  boost::asio::io_context ioc[2];
  IndexShard shard[2];
  observe::Metrics metrics;
  Fanout fanout;
  explicit TwoLoops(size_t inbox = 1000)
      : fanout(Fanout::Limits{{}, 1 << 20, inbox}, metrics,
               {{&ioc[0], &shard[0]}, {&ioc[1], &shard[1]}}) {}
  void run() {
    for (auto& i : ioc) {
      i.restart();
      i.run();
    }
  }
};
}  // namespace

TEST_CASE("a bus message is parsed once and reaches the matching connections of every loop",
          "[unit][fanout]") {
  TwoLoops t;
  FakeConn a("s1", "k1"), b("s2", "k2"), c("s3", "k3");
  t.shard[0].add(&a, std::nullopt, {"news"});
  t.shard[1].add(&b, std::string("fred"), {"news"});
  t.shard[1].add(&c, std::nullopt, {});
  t.fanout.deliver(R"({"t":"channel","channels":["news"],"e":"m","p":[1]})");
  t.fanout.deliver(R"({"t":"user","users":["fred"],"e":"u","p":[]})");
  t.fanout.deliver("not json");
  // Nothing is touched before the loops run: deliveries only wait in the inboxes.
  CHECK(a.got.empty());
  CHECK(b.got.empty());
  t.run();
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].find("\"news\"") != std::string::npos);
  REQUIRE(b.got.size() == 2);  // in bus order
  CHECK(b.got[0] == a.got[0]);
  CHECK(b.got[1].find("\"u\"") != std::string::npos);
  CHECK(c.got.empty());
  CHECK(t.metrics.bus_messages == 3);
  CHECK(t.metrics.bus_malformed == 1);
  CHECK(t.metrics.events_delivered == 3);
}

TEST_CASE("a stalled loop's inbox is bounded, past it events are counted, session changes kept",
          "[unit][fanout]") {
  TwoLoops t(/*inbox=*/3);
  FakeConn a("s1", "k1");
  t.shard[0].add(&a, std::nullopt, {});
  for (int i = 0; i < 5; ++i) t.fanout.deliver(R"({"t":"all","e":"x","p":[]})");
  int applied = 0;
  t.fanout.on_session_applied([&](const std::string& nonce) {
    CHECK(nonce == "n1");
    ++applied;
  });
  t.fanout.deliver(encode_session_sync("k1", std::string("fred"), {"c"}, "n1"));
  CHECK(t.metrics.loop_inbox_full == 4);  // 2 events past the bound, on each of 2 loops
  CHECK(applied == 0);
  t.run();
  CHECK(a.got.size() == 3);
  CHECK(a.user() == std::optional<std::string>("fred"));
  CHECK(applied == 1);  // once, after both loops applied it
}

TEST_CASE("a drain hands over at most one batch, then lets the loop's own work run",
          "[unit][fanout]") {
  TwoLoops t(10000);
  FakeConn a("s1", "k1");
  t.shard[0].add(&a, std::nullopt, {});
  const size_t n = Fanout::kDrainBatch + 10;
  for (size_t i = 0; i < n; ++i) t.fanout.deliver(R"({"t":"all","e":"x","p":[]})");
  // The loop's own work (a read, a flush pass) queued behind the first drain...
  size_t seen_by_own_work = 0;
  boost::asio::post(t.ioc[0], [&] { seen_by_own_work = a.got.size(); });
  REQUIRE(t.ioc[0].run_one() == 1);  // the first drain
  CHECK(a.got.size() == Fanout::kDrainBatch);
  t.run();
  CHECK(seen_by_own_work == Fanout::kDrainBatch);  // ... runs before the rest is drained
  CHECK(a.got.size() == n);
}
