// Untrusted JSON text: lone UTF-16 surrogate escapes read as U+FFFD (docs/protocol.md
// "JSON text"), every other escape and every well-formed pair stays as it was.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "protocol/json_text.hpp"

using switchboard::protocol::parse_untrusted;
using switchboard::protocol::replace_lone_surrogates;

namespace {
const char* const kFffd = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

std::string parsed_string(std::string_view text) {
  std::error_code ec;
  boost::json::value v = parse_untrusted(text, 8, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_string());
  return std::string(v.get_string());
}
}  // namespace

TEST_CASE("Boost.JSON alone refuses a lone surrogate escape", "[json_text]") {
  // Why the rewrite exists: JSON.stringify("a\ud800b") is "a\ud800b" in JSON text.
  std::error_code ec;
  (void)boost::json::parse(R"("a\ud800b")", ec);
  CHECK(ec);
}

TEST_CASE("a lone surrogate escape reads as U+FFFD", "[json_text]") {
  CHECK(parsed_string(R"("a\ud800b")") == std::string("a") + kFffd + "b");   // high alone
  CHECK(parsed_string(R"("a\uDC00b")") == std::string("a") + kFffd + "b");   // low alone
  CHECK(parsed_string(R"("\ud800")") == kFffd);                              // at the end
  CHECK(parsed_string(R"("\udbff\udbff")") == std::string(kFffd) + kFffd);   // two highs
  CHECK(parsed_string(R"("\udc00\ud800")") == std::string(kFffd) + kFffd);   // low then high
  CHECK(parsed_string(R"("\ud800\n")") == std::string(kFffd) + "\n");        // high, other escape
}

TEST_CASE("pairs, other escapes and escaped backslashes are left alone", "[json_text]") {
  CHECK(parsed_string(R"("\ud83d\ude00")") == "\xF0\x9F\x98\x80");  // U+1F600, a pair
  CHECK(parsed_string(R"("x\u00e9\t")") == "x\xC3\xA9\t");
  // An escaped backslash then the letters "ud800": not an escape at all.
  CHECK(parsed_string(R"("\\ud800")") == "\\ud800");
  CHECK_FALSE(replace_lone_surrogates(R"({"a":"\\ud800","b":"\ud83d\ude00"})"));
  CHECK_FALSE(replace_lone_surrogates("no escapes"));
}

TEST_CASE("the rewrite keeps the length and ends safely", "[json_text]") {
  const auto out = replace_lone_surrogates(R"(["\ud800",1])");
  REQUIRE(out);
  CHECK(*out == R"(["\ufffd",1])");
  // Truncated or stray escapes are left for the parser to refuse.
  CHECK_FALSE(replace_lone_surrogates("\\"));
  CHECK_FALSE(replace_lone_surrogates("\"\\ud8"));
  CHECK_FALSE(replace_lone_surrogates("\"\\ud8zz\""));
  std::error_code ec;
  (void)parse_untrusted("\"\\ud8", 8, ec);
  CHECK(ec);
}

TEST_CASE("parse_untrusted keeps the depth bound", "[json_text]") {
  std::error_code ec;
  (void)parse_untrusted("[[[1]]]", 2, ec);
  CHECK(ec);
  ec = {};
  (void)parse_untrusted("[[1]]", 2, ec);
  CHECK_FALSE(ec);
}
