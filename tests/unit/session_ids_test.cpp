#include <catch2/catch.hpp>

#include <cctype>
#include <future>
#include <set>

#include "observe/metrics.hpp"
#include "plugin/proxies.hpp"
#include "session/creation_limiter.hpp"
#include "session/ids.hpp"

using namespace switchboard::session;

TEST_CASE("session ids carry 128 random bits and are recognised", "[session]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_session_id();
    CHECK(id.size() == 32);
    CHECK(well_formed_session_id(id));
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
  CHECK_FALSE(well_formed_session_id("ABCDEF0123456789abcdef0123456789"));
  CHECK_FALSE(well_formed_session_id("short"));
}

TEST_CASE("the bus routing key is a keyed hash, not the id", "[session]") {
  auto k1 = routing_key("secret", "id1");
  CHECK(k1.size() == 32);
  CHECK(k1 == routing_key("secret", "id1"));
  CHECK(k1 != routing_key("other", "id1"));
  CHECK(k1 != routing_key("secret", "id2"));
  CHECK(k1.find("id1") == std::string::npos);
}

TEST_CASE("cookie header parsing", "[session]") {
  CHECK(cookie_value("a=1; sb.sid=abc; b=2", "sb.sid") == std::optional<std::string>("abc"));
  CHECK(cookie_value("sb.sid=\"q\"", "sb.sid") == std::optional<std::string>("q"));
  CHECK_FALSE(cookie_value("xsb.sid=1", "sb.sid").has_value());
  CHECK_FALSE(cookie_value("", "sb.sid").has_value());
}

TEST_CASE("a signed session cookie verifies only with its secret and unchanged", "[session]") {
  const std::string id = new_session_id();
  const std::string v = sign_session_id("secret", id);
  CHECK(v.size() == 32 + 1 + 32);
  CHECK(v.substr(0, 33) == id + ".");
  CHECK(verify_session_cookie("secret", v) == std::optional<std::string>(id));
  // The signature is not the bus routing key (that travels on the bus).
  CHECK(v.substr(33) != routing_key("secret", id));

  CHECK_FALSE(verify_session_cookie("other", v).has_value());
  CHECK_FALSE(verify_session_cookie("secret", id).has_value());  // an old unsigned cookie
  std::string flipped = v;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  CHECK_FALSE(verify_session_cookie("secret", flipped).has_value());
  std::string other_id = new_session_id();
  CHECK_FALSE(verify_session_cookie("secret", other_id + v.substr(32)).has_value());
  CHECK_FALSE(verify_session_cookie("secret", v + "0").has_value());
  CHECK_FALSE(verify_session_cookie("secret", "").has_value());
  std::string upper = v;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK_FALSE(verify_session_cookie("secret", upper).has_value());
}

TEST_CASE("session creation is capped per IP and in total, and the IP map stays bounded",
          "[session]") {
  using namespace std::chrono_literals;
  const auto t0 = CreationLimiter::Clock::time_point() + 1000h;
  bool per_ip = false;

  SECTION("per IP: a minute's worth at once, then one per 60/rate seconds") {
    CreationLimiter l(3, 1000);
    for (int i = 0; i < 3; ++i) CHECK(l.try_acquire("1.1.1.1", t0, per_ip) == 0);
    uint32_t wait = l.try_acquire("1.1.1.1", t0, per_ip);
    CHECK(per_ip);
    CHECK(wait == 20);  // 3 a minute: one every 20 s
    CHECK(l.try_acquire("2.2.2.2", t0, per_ip) == 0);  // other addresses are not affected
    CHECK(l.try_acquire("1.1.1.1", t0 + 19s, per_ip) > 0);
    CHECK(l.try_acquire("1.1.1.1", t0 + 21s, per_ip) == 0);
  }
  SECTION("in total: 10 seconds' worth at once, then the rate") {
    CreationLimiter l(1000000, 2);
    int allowed = 0;
    for (int i = 0; i < 100; ++i)
      if (l.try_acquire("10.0.0." + std::to_string(i), t0, per_ip) == 0) ++allowed;
    CHECK(allowed == 20);
    CHECK(l.try_acquire("10.0.1.1", t0, per_ip) == 1);
    CHECK_FALSE(per_ip);
    CHECK(l.try_acquire("10.0.1.1", t0 + 500ms, per_ip) == 0);
  }
  SECTION("refused attempts add no entry; idle entries are pruned") {
    CreationLimiter l(1, 1000000);
    for (int i = 0; i < 10000; ++i) l.try_acquire("a" + std::to_string(i), t0, per_ip);
    CHECK(l.tracked_ips() == 10000);
    // A minute later every bucket is full again: the next growth prunes them all.
    for (size_t i = 0; i < 2 * CreationLimiter::kPruneAbove + 1; ++i)
      l.try_acquire("b" + std::to_string(i), t0 + 61s, per_ip);
    CHECK(l.tracked_ips() < 10000);  // the 10000 idle ones went
    CreationLimiter tight(1, 1);
    for (int i = 0; i < 1000; ++i) tight.try_acquire("c" + std::to_string(i), t0, per_ip);
    CHECK(tight.tracked_ips() == 10);  // only the allowed ones (10 s burst of 1/s)
  }
}

namespace {
using switchboard::SessionRecord;
using switchboard::Status;
using switchboard::StatusCode;

struct StoreAnswer {
  Status status;
  std::optional<SessionRecord> record;
};

template <class F>
StoreAnswer store_call(F&& f) {
  std::promise<StoreAnswer> p;
  f([&p](Status s, const SessionRecord* r) {
    p.set_value({s, r ? std::optional<SessionRecord>(*r) : std::nullopt});
  });
  auto fut = p.get_future();
  REQUIRE(fut.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  return fut.get();
}
}  // namespace

TEST_CASE("memory store: creating a live id keeps its record, max_sessions refuses more",
          "[session][memory]") {
  using namespace switchboard::plugin;
  auto p = load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory");
  switchboard::observe::ComponentState st;
  PluginStore s(p,
                {{"bus", "ids"}, {"max_queue_messages", "16"}, {"max_sessions", "2"},
                 {"store", "session-ids-test"}, {"sweep_interval", "1000"}},
                std::make_unique<HostBridge>("s", &st, nullptr));
  REQUIRE(s.start().is_ok());
  const int64_t ttl = 60000;
  REQUIRE(store_call([&](auto cb) { s.create_session("a", ttl, cb); }).status.is_ok());
  REQUIRE(store_call([&](auto cb) { s.add_channels("a", {"x"}, 10, ttl, cb); }).status.is_ok());
  // Two tabs with one cookie both create "a": the second sees the first's record.
  auto again = store_call([&](auto cb) { s.create_session("a", ttl, cb); });
  REQUIRE(again.status.is_ok());
  CHECK(again.record->channels == std::vector<std::string>{"x"});

  REQUIRE(store_call([&](auto cb) { s.create_session("b", ttl, cb); }).status.is_ok());
  auto full = store_call([&](auto cb) { s.create_session("c", ttl, cb); });
  CHECK(full.status.code() == StatusCode::kLimit);
  CHECK(full.status.message().find("max_sessions") != std::string::npos);
  // Existing ids still work; a removed one frees a place.
  CHECK(store_call([&](auto cb) { s.create_session("b", ttl, cb); }).status.is_ok());
  REQUIRE(store_call([&](auto cb) { s.remove("b", cb); }).status.is_ok());
  CHECK(store_call([&](auto cb) { s.create_session("c", ttl, cb); }).status.is_ok());
  s.stop();
}
