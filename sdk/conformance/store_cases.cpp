// Session-store cases (docs/conformance-spec.md, section S).
#include <algorithm>
#include <set>

#include "spec.hpp"

namespace switchboard::conformance {
namespace {

constexpr int64_t kTtl = 60000;

void started(StoreUnderTest& s) {
  Status st = s.start();
  expect(st.is_ok(), std::string("start() returned ") + status_name(st.code()) + ": " + st.message());
  auto deadline = Clock::now() + 15s;
  while (s.state() != SWITCHBOARD_STATE_CONNECTED && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  expect(s.state() == SWITCHBOARD_STATE_CONNECTED, "did not report CONNECTED within 15 s of start()");
}

std::string create(StoreUnderTest& s, int64_t ttl = kTtl) {
  std::string id = unique_id("kit");
  auto a = s.call([&](SessionStore& st, StoreCallback cb) { st.create_session(id, ttl, cb); });
  expect(a.status.is_ok(), "create_session failed: " + a.status.message());
  expect(a.record.has_value(), "create_session completed OK without a record");
  return id;
}

std::set<std::string> channels(const StoreAnswer& a) {
  expect(a.status.is_ok(), std::string("operation failed: ") + status_name(a.status.code()) + ": " + a.status.message());
  expect(a.record.has_value(), "completed OK without a record");
  std::set<std::string> s(a.record->channels.begin(), a.record->channels.end());
  expect(s.size() == a.record->channels.size(), "the channel list holds duplicates");
  return s;
}

StoreAnswer add(StoreUnderTest& s, const std::string& id, std::vector<std::string> names,
                uint32_t max = 1000) {
  return s.call([&](SessionStore& st, StoreCallback cb) { st.add_channels(id, names, max, kTtl, cb); });
}
StoreAnswer remove_ch(StoreUnderTest& s, const std::string& id, std::vector<std::string> names) {
  return s.call([&](SessionStore& st, StoreCallback cb) { st.remove_channels(id, names, kTtl, cb); });
}
StoreAnswer load(StoreUnderTest& s, const std::string& id, int64_t ttl = kTtl) {
  return s.call([&](SessionStore& st, StoreCallback cb) { st.load(id, ttl, cb); });
}

void no_duplicates(const StoreUnderTest& s) {
  expect(s.duplicate_completions() == 0, "an operation completed more than once");
}


}  // namespace

std::vector<Case> store_cases() {
  std::vector<Case> c;
  c.push_back({"S1.01", "create_then_load", Level::kMust, Needs::kStore,
               "a created session loads back empty: no user, no channels, no data",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 auto a = load(s, id);
                 expect(a.status.is_ok() && a.record, "load after create failed");
                 expect(!a.record->user_id && a.record->channels.empty() && a.record->data.empty(),
                        "a new session is not empty");
                 no_duplicates(s);
               }});
  c.push_back({"S1.02", "unknown_id_not_found", Level::kMust, Needs::kStore,
               "every operation on an unknown id completes with NOT_FOUND and creates nothing",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 std::string id = unique_id("missing");
                 std::vector<std::pair<std::string, StoreUnderTest::Op>> ops = {
                     {"load", [&](SessionStore& st, StoreCallback cb) { st.load(id, kTtl, cb); }},
                     {"add_channels", [&](SessionStore& st, StoreCallback cb) { st.add_channels(id, {"a"}, 10, kTtl, cb); }},
                     {"remove_channels", [&](SessionStore& st, StoreCallback cb) { st.remove_channels(id, {"a"}, kTtl, cb); }},
                     {"clear_channels", [&](SessionStore& st, StoreCallback cb) { st.clear_channels(id, kTtl, cb); }},
                     {"set_user", [&](SessionStore& st, StoreCallback cb) { st.set_user(id, std::string("u"), kTtl, cb); }},
                     {"set_data", [&](SessionStore& st, StoreCallback cb) { st.set_data(id, "k", std::string("1"), kTtl, cb); }},
                     {"remove", [&](SessionStore& st, StoreCallback cb) { st.remove(id, cb); }},
                 };
                 for (auto& [name, op] : ops) {
                   auto a = s.call(op);
                   expect(a.status.code() == StatusCode::kNotFound,
                          name + " on an unknown id gave " + status_name(a.status.code()));
                 }
                 expect(load(s, id).status.code() == StatusCode::kNotFound, "an operation created the session");
                 no_duplicates(s);
               }});
  c.push_back({"S1.03", "channel_set_semantics", Level::kMust, Needs::kStore,
               "add is a set union (repeats harmless), remove ignores absent names, clear empties",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 using Set = std::set<std::string>;
                 expect(channels(add(s, id, {"a", "b", "a"})) == Set{"a", "b"}, "add a,b,a");
                 expect(channels(add(s, id, {"b"})) == Set{"a", "b"}, "adding a present channel");
                 expect(channels(remove_ch(s, id, {"a", "zz"})) == Set{"b"}, "remove a,zz");
                 expect(channels(add(s, id, {"d\xc3\xa9j\xc3\xa0 vu", std::string(1024, 'n')})).size() == 3,
                        "UTF-8 and 1 KiB names");
                 auto cleared = s.call([&](SessionStore& st, StoreCallback cb) { st.clear_channels(id, kTtl, cb); });
                 expect(channels(cleared).empty(), "clear_channels left channels");
                 expect(channels(load(s, id)).empty(), "load after clear shows channels");
                 no_duplicates(s);
               }});
  c.push_back({"S1.04", "channel_limit_is_atomic", Level::kMust, Needs::kStore,
               "an add that would pass max_channels completes with LIMIT and changes nothing",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 expect(channels(add(s, id, {"a", "b"}, 3)).size() == 2, "add a,b under max 3");
                 auto over = add(s, id, {"c", "d"}, 3);
                 expect(over.status.code() == StatusCode::kLimit,
                        std::string("add over the limit gave ") + status_name(over.status.code()));
                 expect(channels(load(s, id)) == std::set<std::string>{"a", "b"}, "a refused add changed the set");
                 expect(channels(add(s, id, {"a", "c"}, 3)).size() == 3, "add up to exactly the limit");
                 no_duplicates(s);
               }});
  c.push_back({"S1.05", "user_sign_in_and_out", Level::kMust, Needs::kStore,
               "set_user stores a user id; a null user signs out; channels are untouched",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 channels(add(s, id, {"x"}));
                 auto a = s.call([&](SessionStore& st, StoreCallback cb) { st.set_user(id, std::string("fr\xc3\xa9" "d"), kTtl, cb); });
                 expect(a.status.is_ok() && a.record && a.record->user_id == std::optional<std::string>("fr\xc3\xa9" "d"),
                        "set_user did not return the user");
                 expect(load(s, id).record->user_id == std::optional<std::string>("fr\xc3\xa9" "d"), "user not saved");
                 a = s.call([&](SessionStore& st, StoreCallback cb) { st.set_user(id, std::nullopt, kTtl, cb); });
                 expect(a.status.is_ok() && a.record && !a.record->user_id, "sign-out kept the user");
                 expect(channels(load(s, id)) == std::set<std::string>{"x"}, "set_user changed the channels");
                 no_duplicates(s);
               }});
  c.push_back({"S1.06", "data_round_trip", Level::kMust, Needs::kStore,
               "free-form data: JSON text kept byte-exact per key; replace and delete one key",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 auto set = [&](const std::string& k, std::optional<std::string> v) {
                   auto a = s.call([&](SessionStore& st, StoreCallback cb) { st.set_data(id, k, v, kTtl, cb); });
                   expect(a.status.is_ok(), "set_data failed: " + a.status.message());
                 };
                 auto get = [&](const std::string& k) -> std::optional<std::string> {
                   auto a = load(s, id);  // keep the answer alive while iterating it
                   expect(a.status.is_ok() && a.record, "load failed");
                   for (auto& [key, v] : a.record->data)
                     if (key == k) return v;
                   return std::nullopt;
                 };
                 const std::string v1 = R"({"cart":[1,"\u00fc",{"n":null}],"total":9.5})";
                 set("cart", v1);
                 set("other", "true");
                 expect(get("cart") == v1, "data value changed on the way");
                 set("cart", "[]");
                 expect(get("cart") == std::optional<std::string>("[]"), "replace failed");
                 set("cart", std::nullopt);
                 expect(!get("cart"), "delete failed");
                 expect(get("other") == std::optional<std::string>("true"), "another key was lost");
                 no_duplicates(s);
               }});
  c.push_back({"S1.07", "remove_session", Level::kMust, Needs::kStore,
               "remove deletes the session: later loads are NOT_FOUND",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 auto a = s.call([&](SessionStore& st, StoreCallback cb) { st.remove(id, cb); });
                 expect(a.status.is_ok(), "remove failed");
                 expect(load(s, id).status.code() == StatusCode::kNotFound, "the session is still there");
                 no_duplicates(s);
               }});
  c.push_back({"S2.01", "ttl_expiry", Level::kMust, Needs::kStore,
               "a session unused for longer than its TTL is gone (NOT_FOUND)",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s, 1000);
                 std::this_thread::sleep_for(kit.scaled(2500ms));
                 expect(load(s, id, 1000).status.code() == StatusCode::kNotFound,
                        "still there 2.5 s after a 1 s TTL");
               }});
  c.push_back({"S2.02", "ttl_slides", Level::kMust, Needs::kStore,
               "every operation refreshes the TTL: a session used more often than its TTL lives on",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s, 2000);
                 for (int i = 0; i < 5; ++i) {  // 5 x 0.8 s = 4 s, twice the TTL
                   std::this_thread::sleep_for(kit.scaled(800ms));
                   expect(load(s, id, 2000).status.is_ok(),
                          "expired although touched every 0.8 s with a 2 s TTL (touch " + std::to_string(i) + ")");
                 }
               }});
  c.push_back({"S3.01", "concurrent_adds_lose_nothing", Level::kMust, Needs::kStore,
               "two instances adding 200 channels each to one session at once: all 400 present",
               [](const KitContext& kit) {
                 StoreUnderTest a(kit), b(kit);
                 started(a);
                 started(b);
                 auto id = create(a);
                 std::vector<std::future<StoreAnswer>> pending;
                 for (int i = 0; i < 200; ++i) {
                   pending.push_back(a.call_async([id, i](SessionStore& st, StoreCallback cb) {
                     st.add_channels(id, {numbered("a", i)}, 1000, kTtl, cb);
                   }));
                   pending.push_back(b.call_async([id, i](SessionStore& st, StoreCallback cb) {
                     st.add_channels(id, {numbered("b", i)}, 1000, kTtl, cb);
                   }));
                 }
                 for (auto& p : pending) {
                   expect(p.wait_for(kit.scaled(30s)) == std::future_status::ready, "an add never completed");
                   expect(p.get().status.is_ok(), "a concurrent add failed");
                 }
                 auto final_set = channels(load(b, id));
                 expect(final_set.size() == 400, std::to_string(400 - final_set.size()) + " of 400 channels lost");
                 no_duplicates(a);
                 no_duplicates(b);
               },
               std::chrono::seconds(90)});
  c.push_back({"S3.02", "concurrent_add_and_remove", Level::kMust, Needs::kStore,
               "one instance removing while another adds, on one session: exactly the adds remain",
               [](const KitContext& kit) {
                 StoreUnderTest a(kit), b(kit);
                 started(a);
                 started(b);
                 auto id = create(a);
                 std::vector<std::string> old;
                 for (int i = 0; i < 100; ++i) old.push_back("old" + std::to_string(i));
                 channels(add(a, id, old));
                 std::vector<std::future<StoreAnswer>> pending;
                 for (int i = 0; i < 100; ++i) {
                   pending.push_back(a.call_async([id, i](SessionStore& st, StoreCallback cb) {
                     st.remove_channels(id, {"old" + std::to_string(i)}, kTtl, cb);
                   }));
                   pending.push_back(b.call_async([id, i](SessionStore& st, StoreCallback cb) {
                     st.add_channels(id, {"new" + std::to_string(i)}, 1000, kTtl, cb);
                   }));
                 }
                 for (auto& p : pending) {
                   expect(p.wait_for(kit.scaled(30s)) == std::future_status::ready, "an operation never completed");
                   expect(p.get().status.is_ok(), "a concurrent operation failed");
                 }
                 auto final_set = channels(load(a, id));
                 std::set<std::string> want;
                 for (int i = 0; i < 100; ++i) want.insert("new" + std::to_string(i));
                 expect(final_set == want, "expected exactly the 100 new channels, got " +
                                               std::to_string(final_set.size()) + " channels");
               },
               std::chrono::seconds(90)});
  c.push_back({"S4.01", "store_unavailable_is_an_error_not_a_hang", Level::kMust, Needs::kStoreBroker,
               "with the store's server stopped, operations complete with an error within 10 s; "
               "after it returns, operations succeed again by themselves",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 {
                   BrokerGuard restart{kit};
                   kit.run_command(kit.broker_stop);
                   auto a = load(s, id);
                   expect(!a.status.is_ok(), "load succeeded with the store's server stopped");
                 }
                 bool back = false;
                 auto deadline = Clock::now() + kit.scaled(30s);
                 while (!back && Clock::now() < deadline) {
                   auto a = s.call([&](SessionStore& st, StoreCallback cb) { st.create_session(unique_id("after"), kTtl, cb); });
                   back = a.status.is_ok();
                   if (!back) std::this_thread::sleep_for(250ms);
                 }
                 expect(back, "the store did not recover within 30 s of its server's return");
                 no_duplicates(s);
               },
               std::chrono::seconds(120)});
  return c;
}

}  // namespace switchboard::conformance
