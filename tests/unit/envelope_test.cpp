#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "net/client_frames.hpp"
#include "routing/dispatcher.hpp"
#include "routing/envelope.hpp"

using namespace switchboard::routing;

namespace {
DecodeResult decode(std::string_view s, Envelope& e, std::string& err, DecodeLimits l = {}) {
  return decode_envelope(s, l, e, err);
}
}  // namespace

TEST_CASE("SocketStream's four envelope kinds decode", "[envelope]") {
  Envelope e;
  std::string err;
  REQUIRE(decode(R"({"t":"all","e":"flash","p":["Notice"]})", e, err) == DecodeResult::kOk);
  CHECK(e.target == Target::kAll);
  CHECK(e.event == "flash");
  CHECK(e.params_json == R"(["Notice"])");

  REQUIRE(decode(R"({"t":"channel","channels":["disney","kids","disney"],"e":"m","p":[{"a":1}]})",
                 e, err) == DecodeResult::kOk);
  CHECK(e.target == Target::kChannel);
  CHECK(e.targets == std::vector<std::string>{"disney", "kids"});  // de-duplicated

  REQUIRE(decode(R"({"t":"user","users":["fred"],"e":"offer","p":[]})", e, err) == DecodeResult::kOk);
  CHECK(e.target == Target::kUser);
  CHECK(e.targets == std::vector<std::string>{"fred"});

  REQUIRE(decode(R"({"t":"socketId","socketId":"254987654324567","e":"justForMe","p":["x"]})", e,
                 err) == DecodeResult::kOk);
  CHECK(e.target == Target::kSocket);
  CHECK(e.targets == std::vector<std::string>{"254987654324567"});
}

TEST_CASE("missing p means no arguments: unknown fields are ignored", "[envelope]") {
  Envelope e;
  std::string err;
  REQUIRE(decode(R"({"t":"all","e":"x","extra":{"y":1}})", e, err) == DecodeResult::kOk);
  CHECK(e.params_json == "[]");
}

TEST_CASE("malformed bus messages are rejected with a reason", "[envelope]") {
  Envelope e;
  std::string err;
  for (const char* bad : {
           "not json", "[1,2]", R"({"e":"x"})", R"({"t":"all"})", R"({"t":"all","e":""})",
           R"({"t":"all","e":"x","p":"notarray"})", R"({"t":"channel","e":"x"})",
           R"({"t":"channel","e":"x","channels":[]})", R"({"t":"channel","e":"x","channels":[1]})",
           R"({"t":"channel","e":"x","channels":[""]})", R"({"t":"user","e":"x","users":{}})",
           R"({"t":"socketId","e":"x"})", R"({"t":"nope","e":"x"})", R"({"t":5,"e":"x"})",
           R"({"t":"_session","u":null,"ch":[]})", R"({"t":"_session","s":"k","u":5,"ch":[]})"}) {
    INFO(bad);
    err.clear();
    CHECK(decode(bad, e, err) == DecodeResult::kMalformed);
    CHECK_FALSE(err.empty());
  }
}

TEST_CASE("limits on the bus: size, depth, name length", "[envelope]") {
  Envelope e;
  std::string err;
  DecodeLimits l;
  l.max_bytes = 64;
  CHECK(decode(R"({"t":"all","e":"x","p":[")" + std::string(100, 'a') + "\"]}", e, err, l) ==
        DecodeResult::kMalformed);
  l = {};
  l.max_depth = 4;
  CHECK(decode(R"({"t":"all","e":"x","p":[[[[[1]]]]]})", e, err, l) == DecodeResult::kMalformed);
  l = {};
  l.channel_name_bytes = 3;
  CHECK(decode(R"({"t":"channel","e":"x","channels":["abcd"]})", e, err, l) ==
        DecodeResult::kMalformed);
}

TEST_CASE("unknown internal types are ignored, not counted as malformed", "[envelope]") {
  Envelope e;
  std::string err;
  CHECK(decode(R"({"t":"_future_thing","x":1})", e, err) == DecodeResult::kIgnored);
}

TEST_CASE("encode and decode round-trip", "[envelope]") {
  boost::json::array p{1, "two", boost::json::object{{"k", "ü"}}};
  Envelope e;
  std::string err;
  auto bytes = encode_publish(Target::kChannel, {"a", "b"}, "ev", p);
  REQUIRE(decode(bytes, e, err) == DecodeResult::kOk);
  CHECK(e.targets == std::vector<std::string>{"a", "b"});
  CHECK(boost::json::parse(e.params_json) == boost::json::value(p));

  auto sync = encode_session_sync("key", std::nullopt, {"x", "y"});
  REQUIRE(decode(sync, e, err) == DecodeResult::kOk);
  CHECK(e.target == Target::kSession);
  CHECK(e.session_key == "key");
  CHECK_FALSE(e.user.has_value());
  CHECK(e.channels == std::vector<std::string>{"x", "y"});
  CHECK(e.nonce.empty());

  REQUIRE(decode(encode_session_sync("key", std::string("u"), {}, "srv-7"), e, err) ==
          DecodeResult::kOk);
  CHECK(e.user == std::optional<std::string>("u"));
  CHECK(e.nonce == "srv-7");
}

TEST_CASE("the dispatcher builds one frame per channel, naming it", "[envelope][dispatcher]") {
  Envelope e;
  std::string err;
  REQUIRE(decode(R"({"t":"channel","channels":["a","b"],"e":"m","p":[1]})", e, err) ==
          DecodeResult::kOk);
  auto d = Dispatcher::build(std::move(e));
  REQUIRE(d->frames.size() == 2);
  CHECK(*d->frames[0] == R"({"t":"event","e":"m","p":[1],"c":"a"})");
  CHECK(*d->frames[1] == R"({"t":"event","e":"m","p":[1],"c":"b"})");
}

TEST_CASE("client frames escape strings", "[envelope]") {
  std::string ch = "q\"uote";
  CHECK(switchboard::net::event_frame("e\n", "[]", &ch) ==
        R"({"t":"event","e":"e\n","p":[],"c":"q\"uote"})");
}
