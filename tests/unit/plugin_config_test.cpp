// The SDK's bounded config getters (switchboard/plugin_config.hpp), which the
// nats and kafka plugins use for every numeric key.
#include <catch2/catch.hpp>

#include "switchboard/plugin_config.hpp"

namespace {
switchboard::PluginConfig config(std::vector<std::pair<std::string, std::string>> kv) {
  std::vector<switchboard_config_entry> entries;
  for (auto& [k, v] : kv) entries.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  return switchboard::PluginConfig(entries.data(), entries.size());
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("get_int_in returns values within the bounds, bounds included", "[sdk][config]") {
  std::vector<std::pair<std::string, std::string>> kv = {{"a", "1"}, {"b", "10"}, {"c", "5"}};
  auto c = config(kv);
  CHECK(c.get_int_in("a", 1, 10) == 1);
  CHECK(c.get_int_in("b", 1, 10) == 10);
  CHECK(c.get_int_in("c", 1, 10) == 5);
}

TEST_CASE("get_int_in and get_duration_in name the key, the bounds and the value", "[sdk][config]") {
  std::vector<std::pair<std::string, std::string>> kv = {{"partitions", "0"}, {"ping", "5"}, {"word", "x"}};
  auto c = config(kv);
  CHECK(error_of([&] { c.get_int_in("partitions", 1, 10000); }) ==
        "config key 'partitions' must be between 1 and 10000, got 0");
  using ms = std::chrono::milliseconds;
  CHECK(error_of([&] { c.get_duration_in("ping", ms(100), ms(3600000)); }) ==
        "config key 'ping' must be between 100ms and 3600000ms, got 5ms");
  CHECK(c.get_duration_in("ping", ms(0), ms(5)) == ms(5));
  CHECK(error_of([&] { c.get_int_in("word", 0, 1); }) == "config key 'word' is not an integer");
  CHECK(error_of([&] { c.get_int_in("absent", 0, 1); }) == "missing config key 'absent'");
}
