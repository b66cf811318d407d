// The memory plugin through the real loader and the core-side proxies.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <future>
#include <thread>

#include "plugin/proxies.hpp"

using namespace switchboard;
using namespace switchboard::plugin;

namespace {
struct Captured {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> got;
  bool wait_for(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return got.size() >= n; });
  }
};

struct StoreResult {
  Status status;
  std::optional<SessionRecord> record;
};

// Store calls complete inline for the memory store, but do not rely on it.
template <class F>
StoreResult call(F&& f) {
  std::promise<StoreResult> p;
  f([&p](Status s, const SessionRecord* r) {
    p.set_value({s, r ? std::optional<SessionRecord>(*r) : std::nullopt});
  });
  auto fut = p.get_future();
  REQUIRE(fut.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  return fut.get();
}

ConfigEntries memory_config(const std::string& bus = "t") {
  return {{"bus", bus}, {"max_queue_messages", "16"}, {"store", bus}, {"sweep_interval", "1000"}};
}
}  // namespace

TEST_CASE("memory transport: every instance on a bus delivers, itself included", "[memory]") {
  auto p = load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory");
  observe::ComponentState s1, s2;
  Captured c1, c2;
  auto sink = [](Captured& c) {
    return [&c](std::string_view b) {
      std::lock_guard lock(c.mu);
      c.got.emplace_back(b);
      c.cv.notify_all();
    };
  };
  PluginTransport t1(p, memory_config("bus1"), std::make_unique<HostBridge>("t1", &s1, sink(c1)));
  PluginTransport t2(p, memory_config("bus1"), std::make_unique<HostBridge>("t2", &s2, sink(c2)));
  REQUIRE(t1.start().is_ok());
  REQUIRE(t2.start().is_ok());
  CHECK(s1.state == SWITCHBOARD_STATE_CONNECTED);
  for (int i = 0; i < 10; ++i) REQUIRE(t1.publish("m" + std::to_string(i)).is_ok());
  REQUIRE(c1.wait_for(10));
  REQUIRE(c2.wait_for(10));
  CHECK(c1.got.front() == "m0");
  CHECK(c2.got.back() == "m9");
  t1.stop();
  CHECK(s1.state == SWITCHBOARD_STATE_STOPPED);
  CHECK(t1.publish("late").code() != StatusCode::kOk);
}

TEST_CASE("memory transport: a full queue is backpressure, not growth", "[memory]") {
  auto p = load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory");
  observe::ComponentState st;
  std::promise<void> release;
  auto gate = release.get_future().share();
  PluginTransport t(p, memory_config("bus2"),
                    std::make_unique<HostBridge>("t", &st, [gate](std::string_view) { gate.wait(); }));
  REQUIRE(t.start().is_ok());
  int backpressure = 0;
  for (int i = 0; i < 100; ++i)
    backpressure += t.publish("x").code() == StatusCode::kBackpressure;
  CHECK(backpressure >= 100 - 17);  // 16 queued + 1 being delivered
  release.set_value();
  t.stop();
}

TEST_CASE("memory transport: a full peer is backpressure for the publisher (never OK then a drop)",
          "[memory]") {
  auto p = load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory");
  observe::ComponentState s1, s2;
  Captured fast, slow;
  std::promise<void> release;
  auto gate = release.get_future().share();
  PluginTransport t1(p, memory_config("bus3"), std::make_unique<HostBridge>("t1", &s1, [&fast](std::string_view b) {
    std::lock_guard lock(fast.mu);
    fast.got.emplace_back(b);
    fast.cv.notify_all();
  }));
  // The peer's delivery thread is stuck until `release`: its queue (16) fills.
  PluginTransport t2(p, memory_config("bus3"), std::make_unique<HostBridge>("t2", &s2, [&slow, gate](std::string_view b) {
    gate.wait();
    std::lock_guard lock(slow.mu);
    slow.got.emplace_back(b);
    slow.cv.notify_all();
  }));
  REQUIRE(t1.start().is_ok());
  REQUIRE(t2.start().is_ok());
  std::vector<std::string> accepted;
  int backpressure = 0;
  for (int i = 0; i < 100; ++i) {
    auto st = t1.publish("m" + std::to_string(i));
    if (st.is_ok()) accepted.push_back("m" + std::to_string(i));
    else if (st.code() == StatusCode::kBackpressure) ++backpressure;
  }
  CHECK(backpressure >= 100 - 17);  // the peer holds 16 queued + 1 being delivered
  release.set_value();
  // Every accepted message reaches both instances, in order; nothing else does.
  REQUIRE(fast.wait_for(accepted.size()));
  REQUIRE(slow.wait_for(accepted.size()));
  t1.stop();
  t2.stop();
  CHECK(fast.got == accepted);
  CHECK(slow.got == accepted);
}

TEST_CASE("memory store: round trip, limits, atomic sets, delete", "[memory]") {
  auto p = load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory");
  observe::ComponentState st;
  PluginStore s(p, memory_config("store1"), std::make_unique<HostBridge>("s", &st, nullptr));
  REQUIRE(s.start().is_ok());
  const int64_t ttl = 60000;
  CHECK(call([&](auto cb) { s.load("nope", ttl, cb); }).status.code() == StatusCode::kNotFound);
  REQUIRE(call([&](auto cb) { s.create_session("id", ttl, cb); }).status.is_ok());
  auto r = call([&](auto cb) { s.add_channels("id", {"a", "b", "a"}, 3, ttl, cb); });
  REQUIRE(r.status.is_ok());
  CHECK(r.record->channels == std::vector<std::string>{"a", "b"});
  r = call([&](auto cb) { s.add_channels("id", {"c", "d"}, 3, ttl, cb); });
  CHECK(r.status.code() == StatusCode::kLimit);
  r = call([&](auto cb) { s.remove_channels("id", {"a", "zz"}, ttl, cb); });
  CHECK(r.record->channels == std::vector<std::string>{"b"});
  r = call([&](auto cb) { s.set_user("id", std::string("fred"), ttl, cb); });
  CHECK(r.record->user_id == std::optional<std::string>("fred"));
  r = call([&](auto cb) { s.set_data("id", "k", std::string("{\"x\":1}"), ttl, cb); });
  REQUIRE(r.record->data.size() == 1);
  CHECK(r.record->data[0].second == "{\"x\":1}");
  r = call([&](auto cb) { s.clear_channels("id", ttl, cb); });
  CHECK(r.record->channels.empty());
  CHECK(r.record->user_id == std::optional<std::string>("fred"));
  CHECK(call([&](auto cb) { s.remove("id", cb); }).status.is_ok());
  CHECK(call([&](auto cb) { s.load("id", ttl, cb); }).status.code() == StatusCode::kNotFound);
}

TEST_CASE("memory store: sliding TTL expiry", "[memory]") {
  auto p = load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory");
  observe::ComponentState st;
  PluginStore s(p, memory_config("store2"), std::make_unique<HostBridge>("s", &st, nullptr));
  REQUIRE(s.start().is_ok());
  REQUIRE(call([&](auto cb) { s.create_session("id", 1, cb); }).status.is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past a 1 ms TTL
  CHECK(call([&](auto cb) { s.load("id", 1, cb); }).status.code() == StatusCode::kNotFound);
}

TEST_CASE("memory store: concurrent writers lose no channel", "[memory]") {
  auto p = load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory");
  observe::ComponentState s1, s2;
  PluginStore a(p, memory_config("store3"), std::make_unique<HostBridge>("a", &s1, nullptr));
  PluginStore b(p, memory_config("store3"), std::make_unique<HostBridge>("b", &s2, nullptr));
  REQUIRE(a.start().is_ok());
  REQUIRE(b.start().is_ok());
  REQUIRE(call([&](auto cb) { a.create_session("id", 60000, cb); }).status.is_ok());
  auto writer = [](PluginStore& s, const std::string& prefix) {
    for (int i = 0; i < 200; ++i)
      s.add_channels("id", {prefix + std::to_string(i)}, 1000, 60000, [](Status, const SessionRecord*) {});
  };
  std::thread ta(writer, std::ref(a), "a"), tb(writer, std::ref(b), "b");
  ta.join();
  tb.join();
  auto r = call([&](auto cb) { b.load("id", 60000, cb); });
  CHECK(r.record->channels.size() == 400);
}
