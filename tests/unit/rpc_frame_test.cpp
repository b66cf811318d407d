#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "rpc/rpc_frame.hpp"

using namespace switchboard::rpc;

namespace {
// decode_rpc_frame's outcome as one value: ok; a bad frame (no id read: an
// id-less error frame); a bad call (its id read: an error reply to it).
enum class RpcDecode { kOk, kBadFrame, kBadCall };
struct Decoded {
  RpcDecode result;
  RpcFrame frame;  // the call, or only its id for a bad call
  bool invalid = false;  // the error's code is kInvalid ("bad_request" to the client)
  std::string message;
};
Decoded decode(std::string_view text, unsigned max_depth = 32) {
  Decoded d;
  std::optional<uint64_t> id;
  switchboard::Result<RpcFrame> r = decode_rpc_frame(text, max_depth, id);
  if (r) {
    CHECK(id == r->id);
    d.result = RpcDecode::kOk;
    d.frame = std::move(r.value());
    return d;
  }
  d.invalid = r.status().code() == switchboard::StatusCode::kInvalid;
  d.message = r.status().message();
  d.result = id ? RpcDecode::kBadCall : RpcDecode::kBadFrame;
  if (id) d.frame.id = *id;
  return d;
}
}  // namespace

TEST_CASE("a well-formed rpc frame decodes", "[rpc_frame]") {
  auto d = decode(R"({"t":"rpc","id":7,"m":"chat.send","p":["hi",{"n":1.5}]})");
  REQUIRE(d.result == RpcDecode::kOk);
  CHECK(d.frame.id == 7);
  CHECK(d.frame.method == "chat.send");
  CHECK(d.frame.params == boost::json::parse(R"(["hi",{"n":1.5}])").as_array());

  d = decode(R"({"t":"rpc","id":9007199254740991,"m":"x"})");  // 2^53-1, no p
  REQUIRE(d.result == RpcDecode::kOk);
  CHECK(d.frame.id == 9007199254740991ull);
  CHECK(d.frame.params.empty());
}

TEST_CASE("frames without a usable id are bad frames", "[rpc_frame]") {
  for (const char* bad : {"nope", "[]", R"({"t":"event","id":1,"m":"x"})", R"({"id":1,"m":"x"})",
                          R"({"t":"rpc","m":"x"})", R"({"t":"rpc","id":-1,"m":"x"})",
                          R"({"t":"rpc","id":1.5,"m":"x"})", R"({"t":"rpc","id":"1","m":"x"})",
                          R"({"t":"rpc","id":9007199254740992,"m":"x"})",
                          R"({"t":"rpc","id":1e999,"m":"x"})"}) {
    INFO(bad);
    auto d = decode(bad);
    CHECK(d.result == RpcDecode::kBadFrame);
    CHECK(d.invalid);
    CHECK_FALSE(d.message.empty());
  }
  CHECK(decode(R"({"t":"rpc","id":1,"m":"x","p":[[[[1]]]]})", 4).result == RpcDecode::kBadFrame);
}

TEST_CASE("bad calls keep their id for the error reply", "[rpc_frame]") {
  for (const char* bad : {R"({"t":"rpc","id":3})", R"({"t":"rpc","id":3,"m":""})",
                          R"({"t":"rpc","id":3,"m":5})", R"({"t":"rpc","id":3,"m":"x","p":{}})"}) {
    INFO(bad);
    auto d = decode(bad);
    CHECK(d.result == RpcDecode::kBadCall);
    CHECK(d.frame.id == 3);
    CHECK(d.invalid);
  }
  auto d = decode(R"({"t":"rpc","id":3,"m":")" + std::string(257, 'm') + R"("})");
  CHECK(d.result == RpcDecode::kBadCall);
}

TEST_CASE("non-finite numbers in params are a bad call naming the problem", "[rpc_frame][json]") {
  for (const char* bad : {R"({"t":"rpc","id":4,"m":"x","p":[1e999]})",
                          R"({"t":"rpc","id":4,"m":"x","p":[-1e999]})",
                          R"({"t":"rpc","id":4,"m":"x","p":[0e400]})",
                          R"({"t":"rpc","id":4,"m":"x","p":[{"a":[2,1e400]}]})"}) {
    INFO(bad);
    auto d = decode(bad);
    CHECK(d.result == RpcDecode::kBadCall);
    CHECK(d.frame.id == 4);
    CHECK(d.invalid);
    CHECK_THAT(d.message, Catch::Contains("\"p\"") && Catch::Contains("not finite"));
  }
}

TEST_CASE("a lone surrogate in a frame reads as U+FFFD: the call is answered", "[rpc_frame]") {
  // JSON.stringify(['a\ud800b']) in a browser; was an id-less error (issue 14).
  auto d = decode(R"({"t":"rpc","id":9,"m":"chat.send","p":["a\ud800b"]})");
  REQUIRE(d.result == RpcDecode::kOk);
  CHECK(d.frame.id == 9);
  CHECK(d.frame.params.at(0).as_string() == "a\xEF\xBF\xBD" "b");
}
