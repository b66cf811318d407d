// Output is always valid (quality.md security rule 13): non-finite numbers are
// found wherever they hide, and log lines cannot be split or carry escapes.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <boost/json.hpp>

#include "observe/log.hpp"
#include "routing/finite_numbers.hpp"

namespace json = boost::json;
using switchboard::observe::escape_log_text;
using switchboard::routing::all_numbers_finite;

TEST_CASE("Boost.JSON turns out-of-range numbers into non-finite doubles", "[json]") {
  // Why the check exists (Boost 1.81): both would be serialized as Infinity / NaN.
  CHECK(std::isinf(json::parse("1e999").as_double()));
  CHECK_FALSE(all_numbers_finite(json::parse("[1e999]")));
  CHECK_FALSE(all_numbers_finite(json::parse("[0e400]")));
}

TEST_CASE("all_numbers_finite looks everywhere", "[json]") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(all_numbers_finite(json::parse(R"({"a":[1,2.5,-1e308,{"b":null}],"c":"Infinity"})")));
  CHECK_FALSE(all_numbers_finite(json::value(inf)));
  CHECK_FALSE(all_numbers_finite(json::value(nan)));
  CHECK_FALSE(all_numbers_finite(json::array{1, "x", json::object{{"k", json::array{-inf}}}}));
  CHECK_FALSE(all_numbers_finite(json::object{{"k", 1}, {"n", nan}}));

  // Values an app builds have no depth limit: the walk does not recurse.
  json::value deep = nan;
  for (int i = 0; i < 100000; ++i) {
    json::array wrap;
    wrap.emplace_back(std::move(deep));
    deep = std::move(wrap);
  }
  CHECK_FALSE(all_numbers_finite(deep));
  // (Destroying `deep` recurses inside Boost.JSON; flatten it first.)
  while (deep.is_array() && !deep.as_array().empty()) {
    json::value inner = std::move(deep.as_array()[0]);
    deep = std::move(inner);
  }
}

TEST_CASE("log text: control characters are escaped, one call stays one line", "[log]") {
  CHECK(escape_log_text("plain text, ünïcode") == "plain text, ünïcode");
  CHECK(escape_log_text("a\nb\x1b[31m") == "a\\nb\\x1b[31m");
  CHECK(escape_log_text(std::string("\r\t\x7f\x01", 4) + std::string(1, '\0')) ==
        "\\r\\t\\x7f\\x01\\x00");
  // The issue's malformed bus message: "t":"a\nb\u001b".
  const std::string t = json::parse(R"({"t":"a\nb\u001b"})").at("t").as_string().c_str();
  const std::string line = escape_log_text("unknown target type \"" + t + "\"");
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\x1b') == std::string::npos);
  CHECK(line == "unknown target type \"a\\nb\\x1b\"");
}
