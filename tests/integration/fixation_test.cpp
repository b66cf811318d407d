// Session fixation (issue 9, item 9): a sign-in rotates the session id, so a
// cookie known before the sign-in (planted by an attacker) does not name the
// signed-in session. docs/protocol.md "Session id rotation".
#include "fixture.hpp"

using namespace switchboard::test;
using Strings = std::vector<std::string>;

namespace {

std::string claim_target(const std::string& token) { return "/switchboard/session?claim=" + token; }

Headers cookie(const std::string& session) {
  return {{"Cookie", std::string(kSessionCookie) + "=" + session}};
}

// The sb.sid value a claim answer sets, or "" when it sets none.
std::string set_session(const HttpResponse& res) {
  for (const auto& v : res.headers_named("Set-Cookie"))
    if (auto value = cookie_value(v, kSessionCookie)) return *value;
  return {};
}

}  // namespace

TEST_CASE("a sign-in rotates the session id: a planted cookie does not reach the signed-in session",
          "[integration][session][fixation]") {
  TestServer srv;
  auto publisher = srv.connect();

  // The attacker gets a valid cookie from the server and plants it in the victim's
  // browser: the victim's two tabs connect with it.
  std::string planted;
  {
    auto attacker = srv.connect();
    planted = attacker->session();
    attacker->close(1000);
  }
  ConnectOptions as_planted;
  as_planted.session = planted;
  auto tab1 = srv.connect(as_planted);
  auto tab2 = srv.connect_same_session(*tab1);
  call(*tab1, "t.sub", {"room"});
  call(*tab1, "t.setData", {"theme", "dark"});

  CHECK(call(*tab1, "t.signIn", {"alice"}) == json::value("alice"));
  // The calling tab got a claim before the reply and redeemed it for a new cookie.
  REQUIRE(tab1->claims().size() == 1);
  CHECK(tab1->last_claim_status() == 204);
  const std::string fresh = tab1->session();
  CHECK(fresh != planted);
  CHECK_FALSE(fresh.empty());

  SECTION("the planted cookie now opens a fresh anonymous session") {
    auto attacker = srv.connect(as_planted);
    CHECK(call(*attacker, "t.whoami").at("userId") == json::value(nullptr));
    CHECK(sorted_strings(call(*attacker, "t.list")) == Strings{});
    CHECK(call(*attacker, "t.getData", {"theme"}) == json::value(nullptr));
    call(*publisher, "t.user", {"alice", "forAlice"});
    call(*publisher, "t.channel", {"room", "inRoom"});
    expect_quiet(*publisher, *attacker);
    // ... while the victim's tabs get both.
    expect_event(*tab1, "forAlice");
    expect_event(*tab1, "inRoom");
    expect_event(*tab2, "forAlice");
    expect_event(*tab2, "inRoom");
  }
  SECTION("every tab of the session follows, with its channels and data") {
    CHECK(call(*tab2, "t.whoami").at("userId") == json::value("alice"));
    call(*publisher, "t.user", {"alice", "forAlice"});
    expect_event(*tab1, "forAlice");
    expect_event(*tab2, "forAlice");
    // The other tab's store calls reach the new record (its id followed too).
    CHECK(sorted_strings(call(*tab2, "t.sub", {"more"})) == Strings{"more", "room"});
    CHECK(sorted_strings(call(*tab1, "t.list")) == Strings{"more", "room"});
    CHECK(call(*tab2, "t.getData", {"theme"}) == json::value("dark"));
    call(*publisher, "t.channel", {"more", "inMore"});
    expect_event(*tab1, "inMore");
    expect_event(*tab2, "inMore");
  }
  SECTION("reconnecting with the claimed cookie keeps the signed-in session") {
    tab1->close(1000);
    tab2->close(1000);
    ConnectOptions again;
    again.session = fresh;
    auto back = srv.connect(again);
    CHECK(back->upgrade().session.empty());  // the cookie was accepted as it is
    CHECK(call(*back, "t.whoami").at("userId") == json::value("alice"));
    CHECK(sorted_strings(call(*back, "t.list")) == Strings{"room"});
    call(*publisher, "t.user", {"alice", "forAlice"});
    expect_event(*back, "forAlice");
  }
  SECTION("signing in again as the same user keeps the id; another user rotates again") {
    call(*tab1, "t.signIn", {"alice"});
    CHECK(tab1->claims().size() == 1);
    call(*tab1, "t.signIn", {"bob"});
    CHECK(tab1->claims().size() == 2);
    CHECK(tab1->session() != fresh);
    CHECK(call(*tab2, "t.whoami").at("userId") == json::value("bob"));
  }
  SECTION("signing out keeps the id (nothing to protect in an anonymous session)") {
    call(*tab2, "t.signOut");
    CHECK(tab2->claims().empty());
    CHECK(call(*tab1, "t.whoami").at("userId") == json::value(nullptr));
  }
}

TEST_CASE("a claim needs its own token and the cookie it was issued to",
          "[integration][session][fixation]") {
  TestServer srv;
  ConnectOptions manual;
  manual.auto_claim = false;
  auto c = srv.connect(manual);
  const std::string old = c->session();
  call(*c, "t.signIn", {"carol"});
  REQUIRE(c->claims().size() == 1);
  const std::string token = c->claims().front();
  CHECK(c->session() == old);  // nothing redeemed yet

  SECTION("without a cookie: 403, nothing set") {
    auto res = srv.get(claim_target(token));
    CHECK(res.status == 403);
    CHECK(set_session(res).empty());
  }
  SECTION("with another session's cookie: 403, nothing set") {
    auto other = srv.connect();
    auto res = srv.get(claim_target(token), cookie(other->session()));
    CHECK(res.status == 403);
    CHECK(set_session(res).empty());
  }
  SECTION("a forged or altered token: 400, nothing set") {
    std::string altered = token;
    altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
    for (const std::string& bad : {altered, std::string("not-a-token"), std::string(),
                                   std::string(600, 'A')}) {
      INFO("token " << bad.substr(0, 40));
      auto res = srv.get(claim_target(bad), cookie(old));
      CHECK(res.status == 400);
      CHECK(set_session(res).empty());
    }
  }
  SECTION("the right token with the old cookie: 204 and the new cookie, signed in") {
    auto res = srv.get(claim_target(token), cookie(old));
    CHECK(res.status == 204);
    std::string fresh = set_session(res);
    REQUIRE_FALSE(fresh.empty());
    CHECK(fresh != old);
    auto lower = res.header("Set-Cookie").value_or("");
    CHECK(lower.find("HttpOnly") != std::string::npos);
    ConnectOptions again;
    again.session = fresh;
    auto back = srv.connect(again);
    CHECK(call(*back, "t.whoami").at("userId") == json::value("carol"));
  }
}

TEST_CASE("an expired claim token is refused", "[integration][session][fixation]") {
  ServerSettings settings;
  settings.set("session.claim_ttl", "1ms");
  TestServer srv(settings);
  ConnectOptions manual;
  manual.auto_claim = false;
  auto c = srv.connect(manual);
  const std::string old = c->session();
  call(*c, "t.signIn", {"dave"});
  REQUIRE(c->claims().size() == 1);
  // A millisecond passes quickly; poll (bounded) until it has.
  HttpResponse res;
  CHECK(eventually([&] {
    res = srv.get(claim_target(c->claims().front()), cookie(old));
    return res.status == 400;
  }));
  CHECK(res.body.find("expired") != std::string::npos);
  CHECK(set_session(res).empty());
}

// Regression (found on Kafka with the bus down, reproducible on any store): the
// calls of one connection run concurrently, so a change pipelined right behind a
// sign-in used to reach the store under the old id while the rotation was
// copying it — acknowledged, then removed with the old record. A handle now
// holds its later calls until its rotation completed; they act on the new id.
TEST_CASE("changes pipelined behind a sign-in on the same connection reach the signed-in session",
          "[integration][session][fixation]") {
  // Many data keys: the rotation copies one per store call, which keeps the old
  // record alive long enough for the pipelined calls to land on it (as a
  // networked store's round trips do).
  ServerSettings settings;
  settings.set("limits.rpc_per_second", "100000");
  TestServer srv(settings);
  auto c = srv.connect();
  call(*c, "t.setData", {"theme", "dark"});
  for (int i = 0; i < 2000; ++i) c->send_rpc("t.setData", {("k" + std::to_string(i)).c_str(), i});
  CHECK(call(*c, "t.getData", {"k1999"}) == json::value(1999));
  for (int round = 0; round < 10; ++round) {
    CAPTURE(round);
    const std::string user = "user" + std::to_string(round);  // a new user: a rotation each time
    const std::string room = "room" + std::to_string(round);
    const auto sign_in = c->send_rpc("t.signIn", {user.c_str()});
    const auto set = c->send_rpc("t.setData", {"round", round});
    const auto sub = c->send_rpc("t.sub", {room.c_str()});
    const auto get = c->send_rpc("t.getData", {"round"});
    CHECK(ok(c->wait_reply(sign_in)) == json::value(user.c_str()));
    CHECK(ok(c->wait_reply(set)) == json::value(round));
    const auto subscribed = sorted_strings(ok(c->wait_reply(sub)));
    CHECK(std::find(subscribed.begin(), subscribed.end(), room) != subscribed.end());
    CHECK(ok(c->wait_reply(get)) == json::value(round));
    // What the store holds now, read back through a new connection on the
    // claimed cookie: the signed-in session with every change above.
    ConnectOptions again;
    again.session = c->session();
    auto back = srv.connect(again);
    CHECK(call(*back, "t.whoami").at("userId") == json::value(user.c_str()));
    CHECK(call(*back, "t.getData", {"round"}) == json::value(round));
    CHECK(call(*back, "t.getData", {"theme"}) == json::value("dark"));
    const auto channels = sorted_strings(call(*back, "t.list"));
    CHECK(std::find(channels.begin(), channels.end(), room) != channels.end());
    back->close(1000);
  }
}
