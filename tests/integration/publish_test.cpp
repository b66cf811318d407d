// Publishing: every row of product.md §1, against a real server process.
#include "fixture.hpp"

using namespace switchboard::test;

TEST_CASE("publish.all reaches every open connection", "[integration][publish]") {
  TestServer srv;
  auto a1 = srv.connect();
  auto a2 = srv.connect_same_session(*a1);
  auto b = srv.connect();

  CHECK(call(*b, "t.all", {"flash", "Notice"}) == json::value(true));

  for (auto* c : {a1.get(), a2.get(), b.get()}) {
    auto ev = expect_event(*c, "flash");
    CHECK(ev.at("p") == json::parse(R"(["Notice"])"));
    CHECK_FALSE(ev.contains("c"));
  }
  for (auto* c : {a1.get(), a2.get(), b.get()}) expect_quiet(*b, *c);  // exactly once
}

TEST_CASE("event args are any JSON values, zero or more", "[integration][publish]") {
  TestServer srv;
  auto c = srv.connect();

  SECTION("several values of every JSON type") {
    auto args = json::parse(R"([1, "two", {"three": [3, {"x": null}]}, [4], null, true, 1.5, ""])");
    json::array call_args{"mixed"};
    for (const auto& a : args.as_array()) call_args.push_back(a);
    call(*c, "t.all", call_args);
    CHECK(expect_event(*c, "mixed").at("p") == args);
  }
  SECTION("no args") {
    call(*c, "t.all", {"none"});
    CHECK(expect_event(*c, "none").at("p") == json::value(json::array{}));
  }
  SECTION("non-ASCII and escaped text survives unchanged") {
    json::array text{"héllo wörld", "日本語", "🎉", "quote\" back\\slash\nnewline", "\u0001"};
    json::array call_args{"text"};
    for (const auto& a : text) call_args.push_back(a);
    call(*c, "t.all", call_args);
    CHECK(expect_event(*c, "text").at("p") == json::value(text));
  }
}

TEST_CASE("an empty event name is refused to the caller", "[integration][publish]") {
  TestServer srv;
  auto c = srv.connect();
  CHECK(err_code(c->rpc("t.all", {""})) == "bad_args");
  CHECK(call(*c, "t.echo", {1}) == json::parse("[1]"));
}

TEST_CASE("publish.channel reaches only connections of sessions in the channel",
          "[integration][publish]") {
  TestServer srv;
  auto in1 = srv.connect();
  auto in2 = srv.connect_same_session(*in1);  // the other tab: same session, same channels
  auto out = srv.connect();

  CHECK(sorted_strings(call(*in1, "t.sub", {"disney"})) == std::vector<std::string>{"disney"});
  CHECK(call(*out, "t.channel",
             {"disney", "chatMessage",
              json::object{{"from", "jerry"}, {"message", "Has anyone seen Tom?"}}}) ==
        json::value(true));

  for (auto* c : {in1.get(), in2.get()}) {
    auto ev = expect_event(*c, "chatMessage");
    CHECK(ev.at("p") == json::parse(R"([{"from":"jerry","message":"Has anyone seen Tom?"}])"));
    // The JS client calls the handler with (args..., channelName).
    REQUIRE(ev.contains("c"));
    CHECK(ev.at("c") == json::value("disney"));
  }
  expect_quiet(*out, *in1);
  expect_quiet(*out, *in2);
  expect_quiet(*out, *out);
}

TEST_CASE("a connection in two channels of one publish receives it once per channel",
          "[integration][publish]") {
  TestServer srv;
  auto both = srv.connect();
  auto only_a = srv.connect();
  auto publisher = srv.connect();
  call(*both, "t.sub", {json::array{"a", "b"}});
  call(*only_a, "t.sub", {"a"});

  call(*publisher, "t.channel", {json::array{"a", "b", "nobody-here"}, "multi", 7});

  std::vector<std::string> channels;
  for (int i = 0; i < 2; ++i) {
    auto ev = expect_event(*both, "multi");
    CHECK(ev.at("p") == json::parse("[7]"));
    REQUIRE(ev.contains("c"));
    channels.push_back(str(ev.at("c")));
  }
  std::sort(channels.begin(), channels.end());
  CHECK(channels == std::vector<std::string>{"a", "b"});
  expect_quiet(*publisher, *both);

  auto ev = expect_event(*only_a, "multi");
  CHECK(ev.at("c") == json::value("a"));
  expect_quiet(*publisher, *only_a);
  expect_quiet(*publisher, *publisher);
}

TEST_CASE("publish.user reaches every connection of every session of that user",
          "[integration][publish]") {
  TestServer srv;
  // fred on two browsers (sessions), two tabs each; barney; and an anonymous publisher.
  auto fred1a = srv.connect();
  auto fred1b = srv.connect_same_session(*fred1a);
  auto fred2a = srv.connect();
  auto fred2b = srv.connect_same_session(*fred2a);
  auto barney = srv.connect();
  auto anon = srv.connect();
  CHECK(call(*fred1a, "t.signIn", {"fred"}) == json::value("fred"));
  CHECK(call(*fred2b, "t.signIn", {"fred"}) == json::value("fred"));
  call(*barney, "t.signIn", {"barney"});

  std::vector<WsClient*> freds{fred1a.get(), fred1b.get(), fred2a.get(), fred2b.get()};

  SECTION("one user") {
    CHECK(call(*anon, "t.user", {"fred", "specialOffer", "50% off"}) == json::value(true));
    for (auto* c : freds) {
      auto ev = expect_event(*c, "specialOffer");
      CHECK(ev.at("p") == json::parse(R"(["50% off"])"));
      CHECK_FALSE(ev.contains("c"));
    }
    for (auto* c : freds) expect_quiet(*anon, *c);
    expect_quiet(*anon, *barney);
    expect_quiet(*anon, *anon);
  }
  SECTION("a list of users") {
    call(*anon, "t.user", {json::array{"fred", "barney", "nobody"}, "news", 1});
    for (auto* c : freds) CHECK(expect_event(*c, "news").at("p") == json::parse("[1]"));
    CHECK(expect_event(*barney, "news").at("p") == json::parse("[1]"));
    for (auto* c : freds) expect_quiet(*anon, *c);
    expect_quiet(*anon, *barney);
    expect_quiet(*anon, *anon);
  }
}

TEST_CASE("publish.socketId reaches exactly that one connection", "[integration][publish]") {
  TestServer srv;
  auto tab1 = srv.connect();
  auto tab2 = srv.connect_same_session(*tab1);
  auto other = srv.connect();
  CHECK(tab1->socket_id() != tab2->socket_id());
  CHECK(tab1->socket_id() != other->socket_id());

  CHECK(call(*other, "t.socket", {tab1->socket_id(), "justForMe", "x", 2}) == json::value(true));
  CHECK(expect_event(*tab1, "justForMe").at("p") == json::parse(R"(["x", 2])"));
  expect_quiet(*other, *tab1);
  expect_quiet(*other, *tab2);
  expect_quiet(*other, *other);

  SECTION("an unknown socketId reaches nobody") {
    call(*other, "t.socket", {"no-such-socket", "lost"});
    expect_quiet(*other, *tab1);
    expect_quiet(*other, *tab2);
    expect_quiet(*other, *other);
  }
}

TEST_CASE("setUserId(null) signs out this session only", "[integration][publish]") {
  TestServer srv;
  auto s1a = srv.connect();
  auto s1b = srv.connect_same_session(*s1a);
  auto s2 = srv.connect();
  auto publisher = srv.connect();
  call(*s1a, "t.signIn", {"fred"});
  call(*s2, "t.signIn", {"fred"});

  // Signed out from the other tab: the change applies to the whole session.
  CHECK(call(*s1b, "t.signOut") == json::value(nullptr));

  call(*publisher, "t.user", {"fred", "stillSignedIn"});
  expect_event(*s2, "stillSignedIn");
  expect_quiet(*publisher, *s2);
  expect_quiet(*publisher, *s1a);
  expect_quiet(*publisher, *s1b);
  // Both tabs have seen the change (it travelled the bus before the events above).
  CHECK(call(*s1a, "t.whoami").at("userId") == json::value(nullptr));
  CHECK(call(*s2, "t.whoami").at("userId") == json::value("fred"));
}
