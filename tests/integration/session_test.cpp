// Sessions and channels: product.md §2, docs/protocol.md "Connecting".
#include <cctype>

#include "fixture.hpp"

using namespace switchboard::test;
using Strings = std::vector<std::string>;

TEST_CASE("unsubscribe stops delivery", "[integration][session]") {
  TestServer srv;
  auto c = srv.connect();
  auto publisher = srv.connect();
  CHECK(sorted_strings(call(*c, "t.sub", {json::array{"a", "b"}})) == Strings{"a", "b"});
  CHECK(sorted_strings(call(*c, "t.unsub", {"a"})) == Strings{"b"});

  call(*publisher, "t.channel", {"a", "gone"});
  expect_quiet(*publisher, *c);
  call(*publisher, "t.channel", {"b", "kept"});
  CHECK(expect_event(*c, "kept").at("c") == json::value("b"));

  SECTION("unsubscribing from a channel the session is not in is harmless") {
    CHECK(sorted_strings(call(*c, "t.unsub", {"never"})) == Strings{"b"});
  }
}

TEST_CASE("reset unsubscribes from every channel", "[integration][session]") {
  TestServer srv;
  auto c = srv.connect();
  auto publisher = srv.connect();
  call(*c, "t.sub", {json::array{"a", "b", "c"}});
  CHECK(sorted_strings(call(*c, "t.reset")) == Strings{});
  CHECK(sorted_strings(call(*c, "t.list")) == Strings{});

  call(*publisher, "t.channel", {json::array{"a", "b", "c"}, "afterReset"});
  expect_quiet(*publisher, *c);
}

TEST_CASE("list returns the session's channels, from any of its connections",
          "[integration][session]") {
  TestServer srv;
  auto c = srv.connect();
  auto tab = srv.connect_same_session(*c);
  CHECK(sorted_strings(call(*c, "t.list")) == Strings{});
  call(*c, "t.sub", {"a"});
  call(*c, "t.sub", {json::array{"c", "b"}});
  CHECK(sorted_strings(call(*c, "t.list")) == Strings{"a", "b", "c"});
  CHECK(sorted_strings(call(*tab, "t.list")) == Strings{"a", "b", "c"});
}

TEST_CASE("subscribing twice is harmless", "[integration][session]") {
  TestServer srv;
  auto c = srv.connect();
  auto publisher = srv.connect();
  call(*c, "t.sub", {"a"});
  CHECK(sorted_strings(call(*c, "t.sub", {"a"})) == Strings{"a"});
  CHECK(sorted_strings(call(*c, "t.sub", {json::array{"a", "a"}})) == Strings{"a"});
  CHECK(sorted_strings(call(*c, "t.list")) == Strings{"a"});

  call(*publisher, "t.channel", {"a", "once"});
  expect_event(*c, "once");
  expect_quiet(*publisher, *c);
}

TEST_CASE("channel names are any UTF-8 string", "[integration][session]") {
  TestServer srv;
  auto c = srv.connect();
  auto publisher = srv.connect();
  const Strings names{"кошки",    "日本語のチャンネル", "🎉 party",     "with space",
                      "a.b:c*>d", "quote\"back\\slash", "a/b#c?d&e=f", "ss:event",
                      "$dollar",  "__proto__",          "constructor", "tab\there"};
  json::array arr;
  for (const auto& n : names) arr.emplace_back(n);
  call(*c, "t.sub", {arr});
  Strings expected = names;
  std::sort(expected.begin(), expected.end());
  CHECK(sorted_strings(call(*c, "t.list")) == expected);

  for (const auto& n : names) {
    INFO("channel " << n);
    call(*publisher, "t.channel", {n, "utf8", n});
    auto ev = expect_event(*c, "utf8");
    CHECK(ev.at("c") == json::value(n));
    CHECK(ev.at("p") == json::value(json::array{json::value(n)}));
  }
  // A prefix or a differently-normalised name is another channel.
  call(*publisher, "t.channel", {json::array{"кошк", "日本語", "🎉"}, "near"});
  expect_quiet(*publisher, *c);
}

TEST_CASE("a session's connections see each other's changes at once", "[integration][session]") {
  TestServer srv;
  auto a = srv.connect();
  auto b = srv.connect_same_session(*a);
  auto publisher = srv.connect();

  SECTION("subscribe on A delivers to B without B doing anything") {
    call(*a, "t.sub", {"x"});
    call(*publisher, "t.channel", {"x", "hello"});
    CHECK(expect_event(*b, "hello").at("c") == json::value("x"));
    CHECK(expect_event(*a, "hello").at("c") == json::value("x"));

    SECTION("and unsubscribe on A stops B") {
      call(*a, "t.unsub", {"x"});
      call(*publisher, "t.channel", {"x", "bye"});
      expect_quiet(*publisher, *b);
      expect_quiet(*publisher, *a);
    }
    SECTION("and reset on B stops A") {
      call(*b, "t.reset");
      call(*publisher, "t.channel", {"x", "bye"});
      expect_quiet(*publisher, *a);
      expect_quiet(*publisher, *b);
    }
  }
  SECTION("signing in on A delivers the user's events to B") {
    call(*a, "t.signIn", {"wilma"});
    call(*publisher, "t.user", {"wilma", "forWilma"});
    expect_event(*b, "forWilma");
    expect_event(*a, "forWilma");
    // B's req.session follows the change too (it arrived on the bus before the event).
    CHECK(call(*b, "t.whoami").at("userId") == json::value("wilma"));
  }
  SECTION("once the sign-in call returns, B's req.session already knows the user") {
    // A change completes only after this server applied its own announcement, so
    // no event needs to be awaited first.
    call(*a, "t.signIn", {"barney"});
    CHECK(call(*b, "t.whoami").at("userId") == json::value("barney"));
    call(*b, "t.signOut");
    CHECK(call(*a, "t.whoami").at("userId") == json::value(nullptr));
  }
}

TEST_CASE("reconnecting with the same session restores its channels and user",
          "[integration][session]") {
  TestServer srv;
  auto publisher = srv.connect();
  auto first = srv.connect();
  std::string first_socket = first->socket_id();
  call(*first, "t.sub", {json::array{"room", "lobby"}});
  call(*first, "t.signIn", {"betty"});
  call(*first, "t.setData", {"theme", "dark"});
  // The sign-in rotated the id (fixation_test.cpp); the client claimed the new cookie.
  std::string session = first->session();
  first->close(1000);
  CHECK(first->wait_closed().closed);
  first.reset();

  ConnectOptions opts;
  opts.session = session;
  auto again = srv.connect(opts);
  CHECK((again->upgrade().session.empty() || again->upgrade().session == session));
  CHECK(again->socket_id() != first_socket);  // a new connection, a new socketId

  CHECK(call(*again, "t.whoami").at("userId") == json::value("betty"));
  CHECK(sorted_strings(call(*again, "t.list")) == Strings{"lobby", "room"});
  CHECK(call(*again, "t.getData", {"theme"}) == json::value("dark"));

  call(*publisher, "t.channel", {"room", "inRoom"});
  CHECK(expect_event(*again, "inRoom").at("c") == json::value("room"));
  call(*publisher, "t.user", {"betty", "forBetty"});
  expect_event(*again, "forBetty");
  expect_quiet(*publisher, *again);
}

TEST_CASE("a client without a cookie gets a session cookie on the upgrade response",
          "[integration][session]") {
  TestServer srv;
  auto c = srv.connect();
  const auto& up = c->upgrade();
  INFO("Set-Cookie: " << up.set_cookie);
  REQUIRE_FALSE(up.session.empty());
  // >= 128 random bits: at least 22 characters in any printable encoding.
  CHECK(up.session.size() >= 22);
  std::string lower;
  for (char ch : up.set_cookie)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  CHECK(lower.find("httponly") != std::string::npos);
  CHECK(lower.find("samesite=lax") != std::string::npos);
  CHECK(lower.find("secure") == std::string::npos);  // no TLS here

  auto other = srv.connect();
  CHECK(other->session() != c->session());
}

TEST_CASE("a session id the server did not issue is replaced, never adopted",
          "[integration][session]") {
  TestServer srv;
  auto publisher = srv.connect();
  const std::string forged = "forged0000000000000000000000000000000000";

  ConnectOptions opts;
  opts.session = forged;
  auto x1 = srv.connect(opts);
  INFO("Set-Cookie: " << x1->upgrade().set_cookie);
  REQUIRE_FALSE(x1->upgrade().session.empty());
  CHECK(x1->upgrade().session != forged);
  call(*x1, "t.sub", {"secret"});
  call(*x1, "t.signIn", {"victim"});

  // Someone else presents the same made-up id: had the server adopted it, they
  // would now share x1's session, its channels and its user.
  auto x2 = srv.connect(opts);
  REQUIRE_FALSE(x2->upgrade().session.empty());
  CHECK(x2->upgrade().session != forged);
  CHECK(x2->upgrade().session != x1->upgrade().session);
  CHECK(call(*x2, "t.whoami").at("userId") == json::value(nullptr));
  CHECK(sorted_strings(call(*x2, "t.list")) == Strings{});

  call(*publisher, "t.channel", {"secret", "private"});
  call(*publisher, "t.user", {"victim", "private"});
  expect_event(*x1, "private");
  expect_event(*x1, "private");
  expect_quiet(*publisher, *x1);
  expect_quiet(*publisher, *x2);
}

TEST_CASE("session data is shared by the session's connections", "[integration][session]") {
  TestServer srv;
  auto a = srv.connect();
  auto b = srv.connect_same_session(*a);
  auto stranger = srv.connect();

  call(*a, "t.setData", {"cart", json::parse(R"({"items":[1,2],"total":9.5})")});
  CHECK(call(*b, "t.getData", {"cart"}) == json::parse(R"({"items":[1,2],"total":9.5})"));
  CHECK(call(*stranger, "t.getData", {"cart"}) == json::value(nullptr));
  CHECK(call(*b, "t.getData", {"missing"}) == json::value(nullptr));

  SECTION("a null value deletes the key") {
    call(*b, "t.setData", {"cart", nullptr});
    CHECK(call(*a, "t.getData", {"cart"}) == json::value(nullptr));
  }
}

TEST_CASE("req.socketId names the calling connection", "[integration][session]") {
  TestServer srv;
  auto a = srv.connect();
  auto b = srv.connect_same_session(*a);
  CHECK(call(*a, "t.whoami").at("socketId") == json::value(a->socket_id()));
  CHECK(call(*b, "t.whoami").at("socketId") == json::value(b->socket_id()));
  CHECK(call(*a, "t.whoami").at("userId") == json::value(nullptr));
}
