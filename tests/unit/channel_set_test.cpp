// The SDK's channel-set helpers (switchboard/session_store.hpp) that the
// memory, NATS and template stores apply under their own atomicity.
#include <catch2/catch.hpp>

#include "switchboard/session_store.hpp"

using switchboard::SessionRecord;
using switchboard::StatusCode;

TEST_CASE("add_channels_to adds only what is missing, in order, each once", "[sdk][channels]") {
  SessionRecord r;
  r.channels = {"a", "b"};
  REQUIRE(switchboard::add_channels_to(r, {"b", "c", "c", "d", "a"}, 10).is_ok());
  CHECK(r.channels == std::vector<std::string>{"a", "b", "c", "d"});
}

TEST_CASE("add_channels_to counts the union against the limit and changes nothing past it",
          "[sdk][channels]") {
  SessionRecord r;
  r.channels = {"a", "b"};
  // Already-present and repeated names do not count twice: the union is 3.
  REQUIRE(switchboard::add_channels_to(r, {"a", "c", "c"}, 3).is_ok());
  CHECK(r.channels.size() == 3);
  auto s = switchboard::add_channels_to(r, {"a", "d", "e"}, 4);
  CHECK(s.code() == StatusCode::kLimit);
  CHECK(s.message().find("at most 4 channels") != std::string::npos);
  CHECK(r.channels == std::vector<std::string>{"a", "b", "c"});
  // Re-adding what is there is fine at the limit.
  CHECK(switchboard::add_channels_to(r, {"c", "a"}, 3).is_ok());
}

TEST_CASE("remove_channels_from removes the names given and ignores the rest", "[sdk][channels]") {
  SessionRecord r;
  r.channels = {"a", "b", "c", "d"};
  switchboard::remove_channels_from(r, {"d", "x", "b", "b"});
  CHECK(r.channels == std::vector<std::string>{"a", "c"});
  switchboard::remove_channels_from(r, {});
  CHECK(r.channels.size() == 2);
}
