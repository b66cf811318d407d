// Session-store cases (docs/conformance-spec.md, section S).
#include <algorithm>
#include <functional>
#include <map>
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

// Starts n operations on each of a and b at once, interleaved (op gets "a" or
// "b" and the index), and expects every one to complete OK within the budget.
void race(const KitContext& kit, StoreUnderTest& a, StoreUnderTest& b, int n,
          std::function<void(const std::string& side, int i, SessionStore&, StoreCallback)> op,
          const std::string& what) {
  std::vector<std::future<StoreAnswer>> pending;
  for (int i = 0; i < n; ++i)
    for (auto [side, s] : {std::pair<std::string, StoreUnderTest*>{"a", &a}, {"b", &b}})
      pending.push_back(s->call_async([op, side, i](SessionStore& st, StoreCallback cb) { op(side, i, st, cb); }));
  for (auto& p : pending) {
    expect(p.wait_for(kit.scaled(30s)) == std::future_status::ready, what + " never completed");
    expect(p.get().status.is_ok(), what + " made at once with others failed");
  }
}

void no_duplicates(const StoreUnderTest& s) {
  expect(s.duplicate_completions() == 0, "an operation completed more than once");
}

void create_named(StoreUnderTest& s, const std::string& id, int64_t ttl = kTtl) {
  auto a = s.call([&](SessionStore& st, StoreCallback cb) { st.create_session(id, ttl, cb); });
  expect(a.status.is_ok() && a.record, "create_session(" + id + ") failed: " + a.status.message());
}
StoreAnswer set_user(StoreUnderTest& s, const std::string& id, std::optional<std::string> user,
                     int64_t ttl = kTtl) {
  return s.call([&](SessionStore& st, StoreCallback cb) { st.set_user(id, user, ttl, cb); });
}
StoreAnswer set_data(StoreUnderTest& s, const std::string& id, const std::string& key,
                     std::optional<std::string> value, int64_t ttl = kTtl) {
  return s.call([&](SessionStore& st, StoreCallback cb) { st.set_data(id, key, value, ttl, cb); });
}

std::string joined(const std::set<std::string>& names) {
  std::string o = "{";
  for (const auto& n : names) o += (o.size() > 1 ? "," : "") + n;
  return o + "}";
}

// Every operation on id, by name, with harmless arguments.
std::vector<std::pair<std::string, StoreUnderTest::Op>> every_op(const std::string& id) {
  return {
      {"load", [id](SessionStore& st, StoreCallback cb) { st.load(id, kTtl, cb); }},
      {"add_channels", [id](SessionStore& st, StoreCallback cb) { st.add_channels(id, {"a"}, 10, kTtl, cb); }},
      {"remove_channels", [id](SessionStore& st, StoreCallback cb) { st.remove_channels(id, {"a"}, kTtl, cb); }},
      {"clear_channels", [id](SessionStore& st, StoreCallback cb) { st.clear_channels(id, kTtl, cb); }},
      {"set_user", [id](SessionStore& st, StoreCallback cb) { st.set_user(id, std::string("u"), kTtl, cb); }},
      {"set_data", [id](SessionStore& st, StoreCallback cb) { st.set_data(id, "k", std::string("1"), kTtl, cb); }},
      {"remove", [id](SessionStore& st, StoreCallback cb) { st.remove(id, cb); }},
  };
}

// S1.08: the record answered is the one of the id asked for. tag "a" or "b" names
// which of the case's two sessions it must be.
void expect_record_of(const StoreAnswer& a, const std::string& tag, const std::string& what) {
  expect(a.status.is_ok() && a.record, what + " failed: " + status_name(a.status.code()) + ": " +
                                           a.status.message());
  const std::string other = tag == "a" ? "b" : "a";
  const auto& r = *a.record;
  std::set<std::string> ch(r.channels.begin(), r.channels.end());
  bool mine = r.user_id == std::optional<std::string>("user-" + tag) && ch.count("ch-" + tag) &&
              !ch.count("ch-" + other);
  for (const auto& [k, v] : r.data)
    if (k == "owner") mine = mine && v == "\"" + tag + "\"";
  expect(mine, what + " answered another session's record (user " + r.user_id.value_or("none") +
                   ", channels " + joined(ch) + ")");
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
                 for (auto& [name, op] : every_op(id)) {
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
  c.push_back({"S1.08", "record_identity", Level::kMust, Needs::kStore,
               "every operation answers the record of the id it was given: never another session's, "
               "and NOT_FOUND for an unknown id even when other sessions exist",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 // Two ids differing only in their last character, and unknown ids that
                 // prefix or extend them: a lookup that falls back to "some" record,
                 // matches a prefix or truncates keys answers with the wrong session.
                 const std::string base = unique_id("kit");
                 const std::map<std::string, std::string> ids = {{"a", base + "a"}, {"b", base + "b"}};
                 for (const auto& [tag, id] : ids) {
                   create_named(s, id);
                   expect(set_user(s, id, "user-" + tag).status.is_ok(), "set_user(" + id + ") failed");
                   expect(add(s, id, {"ch-" + tag}).status.is_ok(), "add_channels(" + id + ") failed");
                   expect(set_data(s, id, "owner", "\"" + tag + "\"").status.is_ok(), "set_data(" + id + ") failed");
                 }
                 for (const auto& [tag, id] : ids) {
                   expect_record_of(load(s, id), tag, "load(" + id + ")");
                   expect_record_of(add(s, id, {"x-" + tag}), tag, "add_channels(" + id + ")");
                   expect_record_of(remove_ch(s, id, {"x-" + tag}), tag, "remove_channels(" + id + ")");
                   expect_record_of(set_user(s, id, "user-" + tag), tag, "set_user(" + id + ")");
                   expect_record_of(set_data(s, id, "n", "1"), tag, "set_data(" + id + ")");
                 }
                 for (const std::string& unknown : {base, base + "c", base + "a0", base.substr(0, base.size() - 1)}) {
                   for (auto& [name, op] : every_op(unknown)) {
                     auto a = s.call(op);
                     expect(a.status.code() == StatusCode::kNotFound && !a.record,
                            name + " on unknown id " + unknown + " (other sessions live) gave " +
                                status_name(a.status.code()) +
                                (a.record ? " with the record of user " + a.record->user_id.value_or("none") : ""));
                   }
                 }
                 for (const auto& [tag, id] : ids)
                   expect_record_of(load(s, id), tag, "load(" + id + ") after the unknown-id operations");
                 no_duplicates(s);
               }});
  c.push_back({"S1.09", "remove_several_channels", Level::kMust, Needs::kStore,
               "one remove_channels call with several names removes exactly those present, "
               "the first and last named included",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 using Set = std::set<std::string>;
                 expect(channels(add(s, id, {"c1", "c2", "c3", "c4", "c5"})).size() == 5, "add c1..c5");
                 // The first and last added, two neighbours, and an absent name between:
                 // a store that removes only the first name, stops before the last one
                 // or skips the neighbour of a removed channel keeps one of them.
                 auto got = channels(remove_ch(s, id, {"c1", "c2", "absent", "c5"}));
                 expect(got == Set{"c3", "c4"}, "removing c1,c2,absent,c5 from c1..c5 left " + joined(got));
                 got = channels(load(s, id));
                 expect(got == Set{"c3", "c4"}, "load after removing c1,c2,absent,c5 shows " + joined(got));
                 got = channels(remove_ch(s, id, {"c4", "c3"}));
                 expect(got.empty(), "removing c4,c3 from {c3,c4} left " + joined(got));
                 no_duplicates(s);
               }});
  c.push_back({"S1.10", "create_keeps_live_record", Level::kMust, Needs::kStore,
               "create_session on an id whose record is live answers that record and keeps it "
               "(user, channels, data); on an id whose record expired it creates an empty one",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 expect(set_user(s, id, "fred").status.is_ok(), "set_user failed");
                 expect(add(s, id, {"news"}).status.is_ok(), "add_channels failed");
                 expect(set_data(s, id, "k", "1").status.is_ok(), "set_data failed");
                 auto again = s.call([&](SessionStore& st, StoreCallback cb) { st.create_session(id, kTtl, cb); });
                 expect(again.status.is_ok() && again.record, "create_session of a live id failed: " + again.status.message());
                 auto kept = [](const SessionRecord& r) {
                   return r.user_id == std::optional<std::string>("fred") &&
                          r.channels == std::vector<std::string>{"news"} && r.data.size() == 1 &&
                          r.data[0] == std::pair<std::string, std::string>("k", "1");
                 };
                 expect(kept(*again.record), "create_session of a live id did not answer its record");
                 auto loaded = load(s, id);
                 expect(loaded.status.is_ok() && loaded.record && kept(*loaded.record),
                        "create_session of a live id wiped its record");
                 // Expired: a new, empty record under the same id.
                 auto short_lived = create(s, 1000);
                 expect(set_user(s, short_lived, "fred", 1000).status.is_ok(), "set_user failed");
                 std::this_thread::sleep_for(kit.scaled(2500ms));
                 auto fresh = s.call([&](SessionStore& st, StoreCallback cb) { st.create_session(short_lived, kTtl, cb); });
                 expect(fresh.status.is_ok() && fresh.record, "create_session of an expired id failed");
                 expect(!fresh.record->user_id && fresh.record->channels.empty() && fresh.record->data.empty(),
                        "create_session of an expired id kept the old record");
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
  c.push_back({"S2.03", "ttl_slides_through_writes", Level::kMust, Needs::kStore,
               "each write (add_channels, remove_channels, clear_channels, set_user, set_data) "
               "refreshes the TTL: a session kept only by one kind of write lives on; an untouched one expires",
               [](const KitContext& kit) {
                 StoreUnderTest s(kit);
                 started(s);
                 const int64_t ttl = kit.scaled(1500ms).count();
                 using Touch = std::function<StoreAnswer(const std::string&, int)>;
                 const std::vector<std::pair<std::string, Touch>> writes = {
                     {"add_channels", [&](const std::string& id, int i) { return add(s, id, {numbered("r", i)}, 1000); }},
                     {"remove_channels", [&](const std::string& id, int) {
                        return s.call([&](SessionStore& st, StoreCallback cb) { st.remove_channels(id, {"absent"}, ttl, cb); });
                      }},
                     {"clear_channels", [&](const std::string& id, int) {
                        return s.call([&](SessionStore& st, StoreCallback cb) { st.clear_channels(id, ttl, cb); });
                      }},
                     {"set_user", [&](const std::string& id, int i) { return set_user(s, id, numbered("u", i), ttl); }},
                     {"set_data", [&](const std::string& id, int i) { return set_data(s, id, "n", std::to_string(i), ttl); }},
                 };
                 // One session per kind of write, touched only by it, every third of the
                 // TTL for twice the TTL: each must outlive its creation TTL.
                 std::vector<std::string> kept;
                 for (size_t w = 0; w < writes.size(); ++w) kept.push_back(create(s, ttl));
                 auto idle = create(s, ttl);
                 for (int i = 0; i < 6; ++i) {
                   std::this_thread::sleep_for(std::chrono::milliseconds(ttl / 3));
                   for (size_t w = 0; w < writes.size(); ++w) {
                     auto a = writes[w].second(kept[w], i);
                     expect(a.status.is_ok(), "a session touched only by " + writes[w].first + " every " +
                                                  std::to_string(ttl / 3) + " ms expired (" +
                                                  status_name(a.status.code()) + " at touch " + std::to_string(i) +
                                                  "): " + writes[w].first + " does not refresh the TTL");
                   }
                 }
                 expect(load(s, idle, ttl).status.code() == StatusCode::kNotFound,
                        "a session untouched for twice its TTL is still there");
                 for (size_t w = 0; w < writes.size(); ++w)
                   expect(load(s, kept[w], ttl).status.is_ok(),
                          "a session kept by " + writes[w].first + " expired: it does not refresh the TTL");
                 no_duplicates(s);
               }});
  c.push_back({"S3.01", "concurrent_adds_lose_nothing", Level::kMust, Needs::kStore,
               "two instances adding 200 channels each to one session at once: all 400 present",
               [](const KitContext& kit) {
                 StoreUnderTest a(kit), b(kit);
                 started(a);
                 started(b);
                 auto id = create(a);
                 race(kit, a, b, 200, [id](const std::string& side, int i, SessionStore& st, StoreCallback cb) {
                   st.add_channels(id, {numbered(side, i)}, 1000, kTtl, cb);
                 }, "an add");
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
                 race(kit, a, b, 100, [id](const std::string& side, int i, SessionStore& st, StoreCallback cb) {
                   if (side == "a") st.remove_channels(id, {"old" + std::to_string(i)}, kTtl, cb);
                   else st.add_channels(id, {"new" + std::to_string(i)}, 1000, kTtl, cb);
                 }, "an add or remove");
                 auto final_set = channels(load(a, id));
                 std::set<std::string> want;
                 for (int i = 0; i < 100; ++i) want.insert("new" + std::to_string(i));
                 expect(final_set == want, "expected exactly the 100 new channels, got " +
                                               std::to_string(final_set.size()) + " channels");
               },
               std::chrono::seconds(90)});
  c.push_back({"S3.03", "channel_limit_across_instances", Level::kMust, Needs::kStore,
               "two instances adding distinct channels to one session at once under max_channels: "
               "the set ends exactly at the limit, holding exactly the adds that returned OK",
               [](const KitContext& kit) {
                 StoreUnderTest a(kit), b(kit);
                 started(a);
                 started(b);
                 auto id = create(a);
                 constexpr uint32_t kMax = 20;
                 constexpr int kEach = 60;  // 120 adds race for 20 places
                 // Each instance has served the session before the race (as when a user's
                 // tabs sit on two servers): a store that checks the limit against what
                 // one instance has seen or cached cannot pass by one instance finishing first.
                 std::set<std::string> accepted = {"warm-a", "warm-b"};
                 expect(add(a, id, {"warm-a"}, kMax).status.is_ok(), "add warm-a failed");
                 expect(add(b, id, {"warm-b"}, kMax).status.is_ok(), "add warm-b failed");
                 std::vector<std::pair<std::string, std::future<StoreAnswer>>> pending;
                 for (int i = 0; i < kEach; ++i) {
                   auto na = numbered("a", i), nb = numbered("b", i);
                   pending.emplace_back(na, a.call_async([id, na](SessionStore& st, StoreCallback cb) {
                     st.add_channels(id, {na}, kMax, kTtl, cb);
                   }));
                   pending.emplace_back(nb, b.call_async([id, nb](SessionStore& st, StoreCallback cb) {
                     st.add_channels(id, {nb}, kMax, kTtl, cb);
                   }));
                 }
                 for (auto& [name, p] : pending) {
                   expect(p.wait_for(kit.scaled(30s)) == std::future_status::ready, "an add never completed");
                   auto ans = p.get();
                   if (ans.status.is_ok()) {
                     accepted.insert(name);
                     expect(ans.record && ans.record->channels.size() <= kMax,
                            "the add of " + name + " returned OK with a set above the limit");
                   } else {
                     expect(ans.status.code() == StatusCode::kLimit,
                            "the add of " + name + " gave " + status_name(ans.status.code()) + ", expected OK or LIMIT");
                   }
                 }
                 auto final_set = channels(load(b, id));
                 expect(final_set.size() <= kMax, "max_channels is " + std::to_string(kMax) + " but the set ended with " +
                                                      std::to_string(final_set.size()) +
                                                      " channels: the limit check is not atomic across instances");
                 for (const auto& n : accepted)
                   expect(final_set.count(n), "the add of " + n + " returned OK but it is not in the set");
                 for (const auto& n : final_set)
                   expect(accepted.count(n), n + " is in the set although its add returned LIMIT");
                 expect(final_set.size() == kMax, "only " + std::to_string(final_set.size()) + " of " +
                                                      std::to_string(kMax) + " places filled by " +
                                                      std::to_string(2 * kEach) + " adds: an add was refused below the limit");
                 no_duplicates(a);
                 no_duplicates(b);
               },
               std::chrono::seconds(90)});
  c.push_back({"S3.04", "concurrent_data_keys_lose_nothing", Level::kMust, Needs::kStore,
               "two instances, each having written to one session before, setting 100 distinct data keys "
               "each on it at once: all present",
               [](const KitContext& kit) {
                 StoreUnderTest a(kit), b(kit);
                 started(a);
                 started(b);
                 auto id = create(a);
                 // Each instance has written to the session before the race (two servers
                 // that each signed the user in before): a store that writes back what one
                 // instance read or cached cannot pass by one instance finishing first.
                 expect(set_data(a, id, "warm-a", "1").status.is_ok(), "set_data warm-a failed");
                 expect(set_data(b, id, "warm-b", "1").status.is_ok(), "set_data warm-b failed");
                 race(kit, a, b, 100, [id](const std::string& side, int i, SessionStore& st, StoreCallback cb) {
                   st.set_data(id, numbered(side, i), std::to_string(i), kTtl, cb);
                 }, "a set_data");
                 auto all = load(b, id);
                 expect(all.status.is_ok() && all.record, "load failed");
                 expect(all.record->data.size() == 202,
                        std::to_string(202 - static_cast<int>(all.record->data.size())) + " of 202 data keys lost");
                 no_duplicates(a);
                 no_duplicates(b);
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
                   kit.stop_broker();
                   auto a = load(s, id);
                   expect(!a.status.is_ok(), "load succeeded with the store's server stopped");
                 }
                 bool back = false;
                 Status last;
                 auto deadline = Clock::now() + kit.scaled(30s);
                 while (!back && Clock::now() < deadline) {
                   auto a = s.call([&](SessionStore& st, StoreCallback cb) { st.create_session(unique_id("after"), kTtl, cb); });
                   back = a.status.is_ok();
                   last = a.status;
                   if (!back) std::this_thread::sleep_for(250ms);
                 }
                 expect(back, "the store did not recover within 30 s of its server's return (the last create_session "
                              "completed " + std::string(status_name(last.code())) + ": " + last.message() + ")");
                 no_duplicates(s);
               },
               std::chrono::seconds(120)});
  c.push_back({"S5.01", "stop_completes_pending", Level::kMust, Needs::kStore,
               "stop() completes every pending operation before it returns: UNAVAILABLE, or OK "
               "only when the operation took effect; none is left to the host, none arrives later",
               [](const KitContext& kit) {
                 constexpr int kOps = 200;
                 struct Tally {
                   std::mutex mu;
                   std::vector<std::optional<StoreAnswer>> got = std::vector<std::optional<StoreAnswer>>(kOps);
                   int on_time = 0, twice = 0, late = 0;  // guarded by mu
                   bool stop_returned = false;           // guarded by mu
                 };
                 auto tally = std::make_shared<Tally>();
                 StoreUnderTest s(kit);
                 started(s);
                 auto id = create(s);
                 // One control-thread turn: issue the adds, then stop at once, so that
                 // a store which completes asynchronously still has them pending.
                 auto turn = s.call_async([id, tally](SessionStore& st, StoreCallback cb) {
                   for (int i = 0; i < kOps; ++i)
                     st.add_channels(id, {numbered("p", i)}, 1000, kTtl, [tally, i](Status status, const SessionRecord* r) {
                       std::lock_guard lock(tally->mu);
                       if (tally->stop_returned) ++tally->late;
                       if (tally->got[i]) {
                         ++tally->twice;
                         return;
                       }
                       tally->got[i] = StoreAnswer{status, r ? std::optional<SessionRecord>(*r) : std::nullopt};
                       if (!tally->stop_returned) ++tally->on_time;
                     });
                   st.stop();
                   {
                     std::lock_guard lock(tally->mu);
                     tally->stop_returned = true;
                   }
                   cb(Status::ok(), nullptr);
                 });
                 expect(turn.wait_for(kit.scaled(30s)) == std::future_status::ready, "stop() did not return within 30 s");
                 // A plugin thread still completing after stop() shows within a short while.
                 auto until = Clock::now() + kit.scaled(300ms);
                 while (Clock::now() < until && s.duplicate_completions() == 0) std::this_thread::sleep_for(10ms);
                 std::lock_guard lock(tally->mu);
                 size_t host_answered = s.host_answered_at_stop();
                 expect(tally->on_time == kOps,
                        std::to_string(kOps - tally->on_time) + " of " + std::to_string(kOps) +
                            " operations pending at stop() were not completed by the time it returned");
                 expect(host_answered == 0, "stop() returned with " + std::to_string(host_answered) + " of " +
                                                std::to_string(kOps) + " operations pending (the host answered them)");
                 expect(tally->late == 0 && tally->twice == 0 && s.duplicate_completions() == 0,
                        "operations completed after stop() returned, or twice");
                 for (int i = 0; i < kOps; ++i) {
                   const auto& a = *tally->got[i];
                   auto name = numbered("p", i);
                   if (a.status.code() == StatusCode::kUnavailable) continue;
                   expect(a.status.is_ok(), "an add pending at stop() completed with " +
                                                std::string(status_name(a.status.code())) + ", expected UNAVAILABLE or OK");
                   expect(a.record && std::count(a.record->channels.begin(), a.record->channels.end(), name),
                          "the add of " + name + " completed OK at stop() but its record lacks " + name +
                              ": OK for an operation that did not run (expected UNAVAILABLE)");
                 }
                 auto after = s.call([&](SessionStore& st, StoreCallback cb) { st.load(id, kTtl, cb); });
                 expect(after.status.code() == StatusCode::kUnavailable,
                        std::string("an operation after stop() gave ") + status_name(after.status.code()) +
                            ", expected UNAVAILABLE");
                 StoreUnderTest fresh(kit);  // the same store, seen by another instance
                 started(fresh);
                 auto final_set = channels(load(fresh, id));
                 for (int i = 0; i < kOps; ++i)
                   if (tally->got[i]->status.is_ok())
                     expect(final_set.count(numbered("p", i)), "the add of " + numbered("p", i) +
                                                                    " completed OK at stop() but is not in the store");
               }});
  return c;
}

}  // namespace switchboard::conformance
