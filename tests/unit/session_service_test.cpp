// session::SessionService on the real memory plugins behind a PluginHost: open()
// (issue, create under a signed id, replace a forged one, the creation cap),
// change() completing on its own announcement's echo only (the nonce), failing
// when the echo never comes (the announce timeout) or the store refuses; the
// user index (enroll, list, withdraw, the per-user bound, stale entries).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "plugin/plugin_host.hpp"
#include "session/ids.hpp"
#include "session/session_service.hpp"
#include "switchboard/config.hpp"

using namespace switchboard;

namespace {
// A host on `yaml` whose bus echoes are handed to the test: the nonces of the
// _session announcements it saw, applied (as the fan-out would) only when
// `apply` is set.
struct Service {
  config::Settings settings;
  observe::Metrics metrics;
  std::unique_ptr<plugin::PluginHost> host;
  std::unique_ptr<session::SessionService> service;
  std::atomic<bool> apply{true};
  std::mutex mu;
  std::vector<std::string> nonces;  // guarded by mu

  explicit Service(const std::string& yaml = "") {
    std::vector<std::string> dirs;
    settings = plugin::load_settings(
        Config::from_string("plugins: {dir: \"" SWITCHBOARD_PLUGIN_DIR "\"}\n" + yaml, "test.yaml"), dirs);
    host = std::make_unique<plugin::PluginHost>(settings, dirs, metrics, [this](std::string_view bytes) {
      auto v = boost::json::parse(bytes);
      const auto* n = v.as_object().if_contains("n");
      if (!n) return;
      std::string nonce(n->as_string());
      {
        std::lock_guard lock(mu);
        nonces.push_back(nonce);
      }
      if (apply) service->announcement_applied(nonce);
    });
    service = std::make_unique<session::SessionService>(settings, *host);
    host->start();
  }
  ~Service() { host->stop(); }

  session::OpenedSession open(const std::optional<std::string>& cookie, Status& status,
                              const std::string& ip = "192.0.2.1") {
    std::promise<std::pair<Status, session::OpenedSession>> p;
    service->open(cookie, ip, [&p](Status s, session::OpenedSession o) { p.set_value({s, std::move(o)}); });
    auto f = p.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto [s, o] = f.get();
    status = s;
    return o;
  }
  // A new session, REQUIRE-d to open.
  session::OpenedSession opened() {
    Status st;
    auto o = open(std::nullopt, st);
    REQUIRE(st.is_ok());
    return o;
  }
  std::string cookie_for(const std::string& id) { return session::sign_session_id(settings.session.secret, id); }
};

Outcome wait(const Future& f, std::chrono::seconds limit = std::chrono::seconds(10)) {
  std::promise<Outcome> p;
  f.on_complete([&p](const Outcome& o) { p.set_value(o); });
  auto fut = p.get_future();
  REQUIRE(fut.wait_for(limit) == std::future_status::ready);
  return fut.get();
}

// The error code of a failed outcome; FAILs if it succeeded.
std::string error_code(const Outcome& out) {
  REQUIRE(std::holds_alternative<Error>(out));
  return std::get<Error>(out).code;
}

Future add_channel(Service& s, const session::OpenedSession& o, const std::string& channel) {
  return s.service->change(
      o.key,
      [id = o.id, channel](SessionStore& store, StoreCallback cb) {
        store.add_channels(id, {channel}, 100, 60000, std::move(cb));
      },
      true, [](const SessionRecord& r) { return Json(static_cast<int64_t>(r.channels.size())); });
}
}  // namespace

TEST_CASE("SessionService::open issues, creates under a signed id, and replaces a forged one",
          "[unit][session_service]") {
  Service s("session: {secret: \"unit-test-secret\"}\n");
  Status st;
  SECTION("no cookie: a new id, issued and created") {
    auto o = s.opened();
    CHECK(o.issued);
    CHECK(o.created);
    CHECK(session::well_formed_session_id(o.id));
    CHECK(o.key == s.service->routing_key_of(o.id));
  }
  SECTION("a signed id the store does not know (a page's cookie): created under it, not issued") {
    const std::string id = session::new_session_id();
    auto o = s.open(s.cookie_for(id), st);
    REQUIRE(st.is_ok());
    CHECK(o.id == id);
    CHECK_FALSE(o.issued);
    CHECK(o.created);
    // The second open of it finds the record.
    auto again = s.open(s.cookie_for(id), st);
    REQUIRE(st.is_ok());
    CHECK(again.id == id);
    CHECK_FALSE(again.created);
  }
  SECTION("a forged signature: a new id is issued") {
    const std::string id = session::new_session_id();
    auto o = s.open(id + "." + std::string(32, '0'), st);
    REQUIRE(st.is_ok());
    CHECK(o.id != id);
    CHECK(o.issued);
  }
}

TEST_CASE("SessionService::open refuses creations past new_sessions_per_ip with a retry time",
          "[unit][session_service]") {
  Service s("limits: {new_sessions_per_ip: 2}\n");
  Status st;
  s.open(std::nullopt, st, "192.0.2.7");
  CHECK(st.is_ok());
  s.open(std::nullopt, st, "192.0.2.7");
  CHECK(st.is_ok());
  auto refused = s.open(std::nullopt, st, "192.0.2.7");
  CHECK(st.code() == StatusCode::kLimit);
  CHECK(refused.retry_after_s > 0);
  s.open(std::nullopt, st, "192.0.2.8");  // another address is not held back
  CHECK(st.is_ok());
}

TEST_CASE("SessionService::change completes on the echo of its own announcement only",
          "[unit][session_service]") {
  Service s;
  auto o = s.opened();
  s.apply = false;  // hold the echoes
  Future f = add_channel(s, o, "room");
  // The announcement went out; until this server applied it, the change is pending.
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(s.mu);
      if (!s.nonces.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string nonce;
  {
    std::lock_guard lock(s.mu);
    REQUIRE(s.nonces.size() == 1);
    nonce = s.nonces.front();
  }
  s.service->announcement_applied("someone-else-" + nonce);  // another server's
  CHECK_FALSE(f.ready());
  s.service->announcement_applied(nonce);
  auto out = wait(f);
  REQUIRE(std::holds_alternative<Json>(out));
  CHECK(std::get<Json>(out) == Json(1));
  s.service->announcement_applied(nonce);  // a duplicate echo is ignored
}

TEST_CASE("SessionService::change fails with transport_unavailable when its echo never comes",
          "[unit][session_service]") {
  Service s;
  auto o = s.opened();
  s.apply = false;
  auto out = wait(add_channel(s, o, "room"), std::chrono::seconds(15));  // after the 5 s bound
  CHECK(error_code(out) == "transport_unavailable");
}

TEST_CASE("SessionService::change reports a store refusal as store_unavailable, and a missing "
          "record as session_expired",
          "[unit][session_service]") {
  SECTION("the store fails writes") {
    Service s("session: {store: fault}\nfault: {store_fail: writes}\n");
    auto o = s.opened();  // the fault store creates records in this mode
    auto out = wait(add_channel(s, o, "room"));
    CHECK(error_code(out) == "store_unavailable");
  }
  SECTION("the record is gone") {
    Service s;
    session::OpenedSession gone;
    gone.id = session::new_session_id();
    gone.key = s.service->routing_key_of(gone.id);
    auto out = wait(add_channel(s, gone, "room"));
    CHECK(error_code(out) == "session_expired");
  }
}

// ---- the user index (session/user_index.hpp) -----------------------------------

namespace {
using Ids = std::vector<std::string>;

// Starts a user-index call whose completion gets (status, ids), waits for it,
// requires OK and returns the ids sorted.
Ids ids_of(const std::function<void(std::function<void(Status, Ids)>)>& start) {
  std::promise<std::pair<Status, Ids>> p;
  start([&p](Status st, Ids ids) { p.set_value({st, std::move(ids)}); });
  auto f = p.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto [st, ids] = f.get();
  REQUIRE(st.is_ok());
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The sessions evicted by the enrollment.
Ids enroll(Service& s, const std::string& user, const std::string& id) {
  return ids_of([&](auto done) { s.service->users().enroll(user, id, done); });
}

Ids listed(Service& s, const std::string& user) {
  return ids_of([&](auto done) { s.service->users().list(user, done); });
}

// A store call on the control thread, waited for: the status and the record's data keys.
std::pair<Status, std::vector<std::string>> store_call(Service& s, std::function<void(SessionStore&, StoreCallback)> op) {
  std::promise<std::pair<Status, std::vector<std::string>>> p;
  s.service->with_store(
      [&p, op](SessionStore& store) {
        op(store, [&p](Status st, const SessionRecord* r) {
          std::vector<std::string> keys;
          if (r)
            for (const auto& kv : r->data) keys.push_back(kv.first);
          std::sort(keys.begin(), keys.end());
          p.set_value({st, keys});
        });
      },
      [&p](Status st) { p.set_value({st, {}}); });
  auto f = p.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return f.get();
}

// Withdrawals are not waited for: polls what fn returns until it is want (2 s).
bool eventually_equals(const std::function<Ids()>& fn, const Ids& want) {
  for (int i = 0; i < 200; ++i) {
    if (fn() == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fn() == want;
}
}  // namespace

TEST_CASE("the user index lists each user's enrolled sessions, and withdraw drops one",
          "[unit][user_index]") {
  Service s("session: {secret: \"unit-test-secret\"}\n");
  CHECK(enroll(s, "fred", "a").empty());
  CHECK(enroll(s, "fred", "b").empty());
  CHECK(enroll(s, "fred", "b").empty());  // again: still one entry
  CHECK(enroll(s, "wilma", "c").empty());
  CHECK(listed(s, "fred") == Ids{"a", "b"});
  CHECK(listed(s, "wilma") == Ids{"c"});
  CHECK(listed(s, "nobody").empty());
  s.service->users().withdraw("fred", "a");
  CHECK(eventually_equals([&] { return listed(s, "fred"); }, Ids{"b"}));

  // Its store id: per user and per secret, never a session id a cookie could name.
  const std::string id = session::user_index_id("unit-test-secret", "fred");
  CHECK_FALSE(session::well_formed_session_id(id));
  CHECK(id != session::user_index_id("unit-test-secret", "wilma"));
  CHECK(id != session::user_index_id("other-secret", "fred"));
  CHECK(store_call(s, [&](SessionStore& st, StoreCallback cb) { st.load(id, 60000, cb); }).second == Ids{"b"});
}

TEST_CASE("enrolling past limits.sessions_per_user evicts the least recently enrolled, never the "
          "session enrolled now",
          "[unit][user_index]") {
  Service s("limits: {sessions_per_user: 2}\n");
  auto later = [] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); };
  CHECK(enroll(s, "fred", "a").empty());
  later();
  CHECK(enroll(s, "fred", "b").empty());
  later();
  CHECK(enroll(s, "fred", "c") == Ids{"a"});
  CHECK(eventually_equals([&] { return listed(s, "fred"); }, Ids{"b", "c"}));
  later();
  CHECK(enroll(s, "fred", "b").empty());  // b is used again: c is now the oldest
  later();
  CHECK(enroll(s, "fred", "d") == Ids{"c"});
  CHECK(eventually_equals([&] { return listed(s, "fred"); }, Ids{"b", "d"}));
}

TEST_CASE("entries older than the index's TTL, or not a time, are dropped as they are met",
          "[unit][user_index]") {
  Service s("session: {secret: \"unit-test-secret\"}\n");
  CHECK(enroll(s, "fred", "live").empty());
  const std::string id = session::user_index_id("unit-test-secret", "fred");
  for (auto [key, value] : {std::pair{"stale", "1"}, std::pair{"garbage", "\"noon\""}}) {
    auto r = store_call(s, [&, key = std::string(key), value = std::string(value)](SessionStore& st, StoreCallback cb) {
      st.set_data(id, key, value, 60000, cb);
    });
    REQUIRE(r.first.is_ok());
  }
  CHECK(listed(s, "fred") == Ids{"live"});
  CHECK(eventually_equals(
      [&] { return store_call(s, [&](SessionStore& st, StoreCallback cb) { st.load(id, 60000, cb); }).second; },
      Ids{"live"}));
}
