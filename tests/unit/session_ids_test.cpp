#include <catch2/catch.hpp>

#include <set>

#include "session/ids.hpp"

using namespace switchboard::session;

TEST_CASE("session ids carry 128 random bits and are recognised", "[session]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_session_id();
    CHECK(id.size() == 32);
    CHECK(well_formed_session_id(id));
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
  CHECK_FALSE(well_formed_session_id("ABCDEF0123456789abcdef0123456789"));
  CHECK_FALSE(well_formed_session_id("short"));
}

TEST_CASE("the bus routing key is a keyed hash, not the id", "[session]") {
  auto k1 = routing_key("secret", "id1");
  CHECK(k1.size() == 32);
  CHECK(k1 == routing_key("secret", "id1"));
  CHECK(k1 != routing_key("other", "id1"));
  CHECK(k1 != routing_key("secret", "id2"));
  CHECK(k1.find("id1") == std::string::npos);
}

TEST_CASE("cookie header parsing", "[session]") {
  CHECK(cookie_value("a=1; sb.sid=abc; b=2", "sb.sid") == std::optional<std::string>("abc"));
  CHECK(cookie_value("sb.sid=\"q\"", "sb.sid") == std::optional<std::string>("q"));
  CHECK_FALSE(cookie_value("xsb.sid=1", "sb.sid").has_value());
  CHECK_FALSE(cookie_value("", "sb.sid").has_value());
}
