// RPC: replies, asynchronous handlers, and every error that must leave the
// connection up (docs/protocol.md "Client → server", "Error codes in replies").
#include "fixture.hpp"

using namespace switchboard::test;

namespace {

// A frame that is not a usable RPC: answered with bad_request, either as a reply
// (when an id could be read) or as {"t":"error"}.
void expect_bad_request(WsClient& c, std::optional<uint64_t> id) {
  auto f = c.next_frame();
  REQUIRE(f.has_value());
  INFO("frame: " << json::serialize(*f));
  if (id) {
    REQUIRE(f->at("t") == json::value("reply"));
    CHECK(f->at("id") == json::value(*id));
  } else {
    REQUIRE(f->at("t") == json::value("error"));
  }
  REQUIRE(f->contains("err"));
  CHECK(f->at("err").at("code") == json::value("bad_request"));
  CHECK(f->at("err").as_object().contains("message"));
}

void expect_still_up(WsClient& c) {
  REQUIRE(c.is_open());
  CHECK(call(c, "t.echo", {"still", "up"}) == json::parse(R"(["still","up"])"));
  CHECK(c.protocol_violations().empty());
}

}  // namespace

TEST_CASE("an RPC reply carries the handler's result", "[integration][rpc]") {
  TestServer srv;
  auto c = srv.connect();
  auto args = json::parse(R"([1, "a", {"k": [true, null, 2.5]}, [], {}])");
  auto reply = c->rpc("t.echo", args.as_array());
  CHECK(reply.at("t") == json::value("reply"));
  CHECK(ok(reply) == args);

  SECTION("p may be omitted and defaults to []") {
    c->send_text(R"({"t":"rpc","id":9001,"m":"t.echo"})");
    CHECK(ok(c->wait_reply(9001)) == json::value(json::array{}));
  }
  SECTION("unknown fields are ignored") {
    c->send_text(R"({"t":"rpc","id":9002,"m":"t.echo","p":[1],"extra":{"x":1},"v":99})");
    CHECK(ok(c->wait_reply(9002)) == json::parse("[1]"));
  }
  SECTION("the largest id (2^53-1) is echoed") {
    c->send_text(R"({"t":"rpc","id":9007199254740991,"m":"t.echo","p":[]})");
    CHECK(ok(c->wait_reply(9007199254740991ull)) == json::value(json::array{}));
  }
}

TEST_CASE("an asynchronous handler replies when its future completes", "[integration][rpc]") {
  TestServer srv;
  auto c = srv.connect();

  SECTION("completed from another thread") {
    CHECK(call(*c, "t.async", {20, json::object{{"v", 1}}}) == json::parse(R"({"v":1})"));
  }
  SECTION("replies come in the order handlers finish, not request order") {
    auto held = c->send_rpc("t.hold", {"k1"});
    auto fast = c->send_rpc("t.echo", {"fast"});
    CHECK(ok(c->wait_reply(fast)) == json::parse(R"(["fast"])"));
    // The held call is still pending; releasing it (from another connection) answers it.
    auto other = srv.connect();
    CHECK(call(*other, "t.release", {"k1", "slow"}) == json::value(true));
    CHECK(ok(c->wait_reply(held)) == json::value("slow"));
  }
}

TEST_CASE("every rpc frame gets exactly one reply", "[integration][rpc]") {
  TestServer srv;
  auto c = srv.connect();
  std::vector<uint64_t> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(c->send_rpc("t.echo", {i}));
  for (std::size_t i = 0; i < ids.size(); ++i)
    CHECK(ok(c->wait_reply(ids[i])) == json::value(json::array{static_cast<int64_t>(i)}));
  // Nothing else is queued or in flight before the next reply.
  auto last = c->send_rpc("t.echo");
  auto f = c->next_frame();
  REQUIRE(f.has_value());
  CHECK(f->at("t") == json::value("reply"));
  CHECK(f->at("id") == json::value(last));
}

TEST_CASE("RPC errors leave the connection up", "[integration][rpc]") {
  TestServer srv;
  auto c = srv.connect();

  SECTION("unknown method") {
    auto reply = c->rpc("no.such.method", {1});
    CHECK(err_code(reply) == "unknown_method");
  }
  SECTION("missing argument") {
    CHECK(err_code(c->rpc("t.signIn")) == "bad_args");
  }
  SECTION("argument of the wrong type") {
    CHECK(err_code(c->rpc("t.signIn", {42})) == "bad_args");
    CHECK(err_code(c->rpc("t.sub", {json::object{{"not", "a name"}}})) == "bad_args");
    // Request::names: a name or a non-empty array of names, nothing else.
    CHECK(err_code(c->rpc("t.sub", {json::array{}})) == "bad_args");
    CHECK(err_code(c->rpc("t.sub", {json::array{"a", 5}})) == "bad_args");
    CHECK(err_code(c->rpc("t.sub")) == "bad_args");
    CHECK(sorted_strings(ok(c->rpc("t.sub", {json::array{"n1", "n2"}}))) ==
          std::vector<std::string>{"n1", "n2"});
  }
  SECTION("a throwing handler") {
    auto reply = c->rpc("t.throw");
    CHECK(err_code(reply) == "handler_error");
    CHECK(reply.at("err").at("message") == json::value("boom"));
  }
  SECTION("an application error code") {
    auto reply = c->rpc("t.fail", {"not_allowed", "nope"});
    CHECK(err_code(reply) == "not_allowed");
    CHECK(reply.at("err").at("message") == json::value("nope"));
  }
  SECTION("a frame that is not JSON") {
    c->send_text("{this is not json");
    expect_bad_request(*c, std::nullopt);
  }
  SECTION("JSON that is not an object") {
    c->send_text("[1,2,3]");
    expect_bad_request(*c, std::nullopt);
    c->send_text("\"rpc\"");
    expect_bad_request(*c, std::nullopt);
  }
  SECTION("an rpc without an id") {
    c->send_text(R"({"t":"rpc","m":"t.echo","p":[]})");
    expect_bad_request(*c, std::nullopt);
  }
  SECTION("an rpc with an unusable id") {
    c->send_text(R"({"t":"rpc","id":"seven","m":"t.echo","p":[]})");
    expect_bad_request(*c, std::nullopt);
    c->send_text(R"({"t":"rpc","id":-1,"m":"t.echo","p":[]})");
    expect_bad_request(*c, std::nullopt);
    c->send_text(R"({"t":"rpc","id":1.5,"m":"t.echo","p":[]})");
    expect_bad_request(*c, std::nullopt);
  }
  SECTION("an rpc with an id but no usable method") {
    c->send_text(R"({"t":"rpc","id":9101,"p":[]})");
    expect_bad_request(*c, 9101);
    c->send_text(R"({"t":"rpc","id":9102,"m":42,"p":[]})");
    expect_bad_request(*c, 9102);
    c->send_text(R"({"t":"rpc","id":9103,"m":"","p":[]})");
    expect_bad_request(*c, 9103);
    c->send_text(R"({"t":"rpc","id":9104,"m":")" + std::string(257, 'm') + R"(","p":[]})");
    expect_bad_request(*c, 9104);
  }
  SECTION("an rpc whose p is not an array") {
    c->send_text(R"({"t":"rpc","id":9201,"m":"t.echo","p":"x"})");
    expect_bad_request(*c, 9201);
  }
  SECTION("a binary frame") {
    c->send_binary(std::string("\x00\x01\x02rpc", 6));
    // Whatever the server says about it must be a bad_request error.
    auto reply = c->rpc("t.echo", {"after binary"});
    CHECK(ok(reply) == json::parse(R"(["after binary"])"));
    while (auto e = c->next_error(Millis(0))) {
      INFO("error frame: " << json::serialize(*e));
      CHECK(e->at("err").at("code") == json::value("bad_request"));
    }
  }
  expect_still_up(*c);
}

TEST_CASE("a bad frame on one connection does not disturb another", "[integration][rpc]") {
  TestServer srv;
  auto bad = srv.connect();
  auto good = srv.connect();
  bad->send_text("\x7b\x7b\x7b");
  bad->send_binary("junk");
  bad->rpc("t.throw");
  call(*bad, "t.all", {"afterBad"});
  expect_event(*good, "afterBad");
  expect_still_up(*good);
}
