// The HTTP API's session operations (docs/http-api.md "Session operations"):
// POST /api/subscribe, /api/unsubscribe and /api/sign-out reach every session a
// user is signed in on, open in a tab or not, and the open connections follow at
// once; limits.sessions_per_user bounds a user's sessions. On one server with
// the memory plugins; broker_test.cpp runs them across processes on each broker.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "fixture.hpp"
#include "support/http_client.hpp"

using namespace switchboard::test;
namespace json = boost::json;

namespace {

constexpr const char* kKey = "user-sessions-test-key-0123456789";

ServerSettings api_settings() {
  ServerSettings s;
  s.set("api.keys", std::string("[\"") + kKey + "\"]");
  return s;
}

struct ApiReply {
  unsigned status = 0;
  json::value body;
};

ApiReply post(TestServer& srv, std::string_view path, const json::value& body) {
  auto r = http_post(srv.port(), path, json::serialize(body),
                     {{"Authorization", std::string("Bearer ") + kKey},
                      {"Content-Type", "application/json"}});
  INFO(path << " " << json::serialize(body) << " -> " << r.status << " " << r.error << " " << r.body);
  REQUIRE(r.error.empty());
  return {r.status, json::parse(r.body)};
}

json::value answer(size_t sessions) { return json::object{{"sessions", sessions}}; }
json::value subscribed(size_t sessions, size_t over_limit) {
  return json::object{{"sessions", sessions}, {"overLimit", over_limit}};
}

// A connection signed in as user, on a session of its own.
std::unique_ptr<WsClient> signed_in(TestServer& srv, const std::string& user) {
  auto c = srv.connect();
  call(*c, "t.signIn", {json::value(user)});
  return c;
}

// Reopens the session behind cookie (a browser coming back).
std::unique_ptr<WsClient> reopen(TestServer& srv, const std::string& cookie) {
  ConnectOptions o;
  o.session = cookie;
  return srv.connect(o);
}

}  // namespace

TEST_CASE("subscribe, unsubscribe and sign-out reach every session of a user, open or not, and "
          "no one else's",
          "[integration][http_api][user_sessions]") {
  TestServer srv(api_settings());
  auto fred1 = signed_in(srv, "fred");
  auto fred2 = signed_in(srv, "fred");
  auto fred1_tab = srv.connect_same_session(*fred1);
  // A session with no open connection: signed in, then the tab closed.
  std::string offline;
  {
    auto c = signed_in(srv, "fred");
    offline = c->session();
    c->close();
  }
  auto ann = signed_in(srv, "ann");
  auto anonymous = srv.connect();
  auto pub = srv.connect();

  // Subscribe: three sessions (a session's two tabs are one), none of ann's.
  CHECK(post(srv, "/api/subscribe", json::object{{"users", "fred"}, {"channels", json::array{"team", "ops"}}})
            .body == subscribed(3, 0));
  REQUIRE(call(*pub, "t.channel", {"team", "toTeam", 1}) == json::value(true));
  for (auto* c : {fred1.get(), fred1_tab.get(), fred2.get()}) {
    auto ev = expect_event(*c, "toTeam");
    CHECK(ev.at("c") == json::value("team"));
  }
  expect_quiet(*pub, *ann);
  expect_quiet(*pub, *anonymous);
  CHECK(sorted_strings(call(*fred2, "t.list")) == std::vector<std::string>{"ops", "team"});
  CHECK(sorted_strings(call(*ann, "t.list")).empty());
  // The offline session has them when it comes back.
  {
    auto back = reopen(srv, offline);
    CHECK(call(*back, "t.whoami").at("userId") == json::value("fred"));
    CHECK(sorted_strings(call(*back, "t.list")) == std::vector<std::string>{"ops", "team"});
  }
  // Again: nothing changes, every session already is as asked.
  CHECK(post(srv, "/api/subscribe", json::object{{"users", json::array{"fred", "fred"}}, {"channels", "team"}})
            .body == subscribed(3, 0));

  // Unsubscribe one of the two channels.
  CHECK(post(srv, "/api/unsubscribe", json::object{{"users", "fred"}, {"channels", "team"}}).body == answer(3));
  REQUIRE(call(*pub, "t.channel", {"team", "stillTeam"}) == json::value(true));
  for (auto* c : {fred1.get(), fred1_tab.get(), fred2.get()}) expect_quiet(*pub, *c);
  CHECK(sorted_strings(call(*fred1_tab, "t.list")) == std::vector<std::string>{"ops"});

  // Sign-out everywhere: the user's events stop, the open tabs see no user, and
  // the offline session comes back signed out; ann stays signed in.
  CHECK(post(srv, "/api/sign-out", json::object{{"users", json::array{"fred", "nobody"}}}).body == answer(3));
  REQUIRE(call(*pub, "t.user", {"fred", "toFred"}) == json::value(true));
  REQUIRE(call(*pub, "t.user", {"ann", "toAnn"}) == json::value(true));
  expect_event(*ann, "toAnn");
  for (auto* c : {fred1.get(), fred1_tab.get(), fred2.get()}) {
    expect_quiet(*pub, *c);
    CHECK(call(*c, "t.whoami").at("userId") == json::value(nullptr));
  }
  {
    auto back = reopen(srv, offline);
    CHECK(call(*back, "t.whoami").at("userId") == json::value(nullptr));
    // Signing out keeps the channels (as session.set_user_id(null) does).
    CHECK(sorted_strings(call(*back, "t.list")) == std::vector<std::string>{"ops"});
  }
  // The sessions are no longer fred's: nothing left to reach.
  CHECK(post(srv, "/api/subscribe", json::object{{"users", "fred"}, {"channels", "x"}}).body == subscribed(0, 0));
  CHECK(call(*ann, "t.whoami").at("userId") == json::value("ann"));
}

TEST_CASE("a session signed in as another user, or signed out by itself, is not reached",
          "[integration][http_api][user_sessions]") {
  TestServer srv(api_settings());
  auto a = signed_in(srv, "fred");
  auto b = signed_in(srv, "fred");
  call(*a, "t.signIn", {"wilma"});  // a switch of user
  call(*b, "t.signOut");
  auto c = signed_in(srv, "fred");
  CHECK(post(srv, "/api/subscribe", json::object{{"users", "fred"}, {"channels", "team"}}).body ==
        subscribed(1, 0));
  CHECK(sorted_strings(call(*c, "t.list")) == std::vector<std::string>{"team"});
  CHECK(sorted_strings(call(*a, "t.list")).empty());
  CHECK(sorted_strings(call(*b, "t.list")).empty());
  CHECK(post(srv, "/api/sign-out", json::object{{"users", "wilma"}}).body == answer(1));
  CHECK(call(*a, "t.whoami").at("userId") == json::value(nullptr));
  CHECK(call(*c, "t.whoami").at("userId") == json::value("fred"));
}

TEST_CASE("a subscribe over a session's channel bounds leaves that session unchanged and says so",
          "[integration][http_api][user_sessions]") {
  ServerSettings s = api_settings();
  s.set("limits.channels_per_session", "2");
  TestServer srv(s);
  auto full = signed_in(srv, "fred");
  call(*full, "t.sub", {json::array{"a", "b"}});
  auto roomy = signed_in(srv, "fred");
  CHECK(post(srv, "/api/subscribe", json::object{{"users", "fred"}, {"channels", "c"}}).body ==
        subscribed(1, 1));
  CHECK(sorted_strings(call(*full, "t.list")) == std::vector<std::string>{"a", "b"});
  CHECK(sorted_strings(call(*roomy, "t.list")) == std::vector<std::string>{"c"});
  // Channels the session already holds do not count against it.
  CHECK(post(srv, "/api/subscribe", json::object{{"users", "fred"}, {"channels", json::array{"a", "b"}}})
            .body == subscribed(1, 1));
  CHECK(post(srv, "/api/subscribe", json::object{{"users", "fred"}, {"channels", "a"}}).body ==
        subscribed(2, 0));
}

TEST_CASE("signing in past limits.sessions_per_user signs the least recently used session out",
          "[integration][http_api][user_sessions]") {
  ServerSettings s = api_settings();
  s.set("limits.sessions_per_user", "2");
  TestServer srv(s);
  // The index orders sessions by the millisecond they were last enrolled: apart.
  auto first = signed_in(srv, "fred");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto second = signed_in(srv, "fred");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto pub = srv.connect();
  auto third = signed_in(srv, "fred");
  // The eviction is announced like any sign-out: the tab follows.
  CHECK(eventually([&] { return call(*first, "t.whoami").at("userId") == json::value(nullptr); }));
  REQUIRE(call(*pub, "t.user", {"fred", "toFred"}) == json::value(true));
  expect_event(*second, "toFred");
  expect_event(*third, "toFred");
  expect_quiet(*pub, *first);
  CHECK(post(srv, "/api/sign-out", json::object{{"users", "fred"}}).body == answer(2));
}

TEST_CASE("bad session operation bodies are 400 naming the field, and change nothing",
          "[integration][http_api][user_sessions]") {
  TestServer srv(api_settings());
  auto fred = signed_in(srv, "fred");
  json::array many;
  for (int i = 0; i < 101; ++i) many.push_back(json::value("u" + std::to_string(i)));
  const std::string long_channel(1025, 'c');
  struct Case {
    const char* path;
    json::value body;
    const char* says;
  } cases[] = {
      {"/api/subscribe", json::array{}, "must be an object"},
      {"/api/subscribe", json::object{{"channels", "a"}}, "\"users\" is missing"},
      {"/api/subscribe", json::object{{"users", "fred"}}, "\"channels\" is missing"},
      {"/api/subscribe", json::object{{"users", json::array{}}, {"channels", "a"}}, "\"users\" names nothing"},
      {"/api/subscribe", json::object{{"users", many}, {"channels", "a"}}, "\"users\" names 101, over 100"},
      {"/api/subscribe", json::object{{"users", json::array{"fred", 7}}, {"channels", "a"}}, "\"users\"[1] is not a string"},
      {"/api/subscribe", json::object{{"users", ""}, {"channels", "a"}}, "user ids are 1..256 bytes"},
      {"/api/subscribe", json::object{{"users", "fred"}, {"channels", json::array{"ok", long_channel}}},
       "\"channels\"[1]: channel names are 1..1024 bytes"},
      {"/api/unsubscribe", json::object{{"users", "fred"}, {"channels", 3}}, "must be a string or an array"},
      {"/api/sign-out", json::object{{"users", "fred"}, {"channels", "a"}}, "unknown field \"channels\""},
      {"/api/sign-out", json::object{{"user", "fred"}}, "unknown field \"user\""},
  };
  for (const auto& c : cases) {
    auto r = post(srv, c.path, c.body);
    CHECK(r.status == 400);
    CHECK(r.body.at("error").at("code") == json::value("bad_request"));
    CHECK(std::string(r.body.at("error").at("message").as_string()).find(c.says) != std::string::npos);
  }
  CHECK(call(*fred, "t.whoami").at("userId") == json::value("fred"));
  CHECK(sorted_strings(call(*fred, "t.list")).empty());
}

TEST_CASE("app.users() does what the API does, from the app's own code", "[integration][user_sessions]") {
  TestServer srv;  // no API key: the app's own calls need none
  auto fred1 = signed_in(srv, "fred");
  auto fred2 = signed_in(srv, "fred");
  auto admin = signed_in(srv, "admin");
  CHECK(call(*admin, "t.usersSub", {"fred", json::array{"vip", "ops"}}) ==
        json::value(json::object{{"sessions", 2}, {"overLimit", 0}}));
  CHECK(sorted_strings(call(*fred2, "t.list")) == std::vector<std::string>{"ops", "vip"});
  CHECK(call(*admin, "t.usersUnsub", {json::array{"fred", "admin"}, "vip"}) == json::value(json::object{{"sessions", 3}}));
  CHECK(sorted_strings(call(*fred1, "t.list")) == std::vector<std::string>{"ops"});
  CHECK(call(*admin, "t.usersSignOut", {"fred"}) == json::value(json::object{{"sessions", 2}}));
  for (auto* c : {fred1.get(), fred2.get()}) CHECK(call(*c, "t.whoami").at("userId") == json::value(nullptr));
  CHECK(call(*admin, "t.whoami").at("userId") == json::value("admin"));

  json::array many;
  for (int i = 0; i < 101; ++i) many.push_back(json::value("u" + std::to_string(i)));
  CHECK(err_code(admin->rpc("t.usersSignOut", {many})) == "bad_args");
  CHECK(err_code(admin->rpc("t.usersSignOut", {json::array{"ok", ""}})) == "bad_args");
  CHECK(err_code(admin->rpc("t.usersSub", {"fred", std::string(1025, 'c')})) == "invalid_channel");
}
