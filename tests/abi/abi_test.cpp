#include <catch2/catch.hpp>

#include <cstddef>
#include <fstream>
#include <sstream>

#include "plugin/loader.hpp"
#include "plugin/proxies.hpp"
#include "switchboard/abi.h"

using namespace switchboard;
using namespace switchboard::plugin;

namespace {
std::string refusal(const std::string& path) {
  try {
    load_plugin_file(path);
  } catch (const PluginError& e) {
    return e.what();
  }
  return "";
}
std::string fixture(const char* name) { return std::string(FIXTURE_DIR) + "/lib" + name + ".so"; }
}  // namespace

// Pins the v1 layout on LP64 (x86_64, aarch64): changing a field's place or size
// breaks every built plugin, so it must fail here first. Appending is allowed
// (update the sizes and bump SWITCHBOARD_ABI_MINOR).
TEST_CASE("ABI v1 layout is pinned", "[abi]") {
  STATIC_REQUIRE(SWITCHBOARD_ABI_MAJOR == 1);
  STATIC_REQUIRE(sizeof(void*) == 8);
  STATIC_REQUIRE(sizeof(switchboard_str) == 16);
  STATIC_REQUIRE(sizeof(switchboard_config_key) == 40);
  STATIC_REQUIRE(sizeof(switchboard_config_entry) == 32);
  STATIC_REQUIRE(sizeof(switchboard_host) == 48);
  STATIC_REQUIRE(offsetof(switchboard_host, deliver) == 16);
  STATIC_REQUIRE(offsetof(switchboard_host, report_state) == 32);
  STATIC_REQUIRE(SWITCHBOARD_HOST_SIZE_V1_1 == 40);  // 1.0/1.1's whole host table
  STATIC_REQUIRE(offsetof(switchboard_host, count) == 40);  // 1.2
  STATIC_REQUIRE(sizeof(switchboard_transport_vtable) == 48);
  STATIC_REQUIRE(offsetof(switchboard_transport_vtable, publish) == 24);
  STATIC_REQUIRE(sizeof(switchboard_session_record) == 64);
  STATIC_REQUIRE(sizeof(switchboard_store_vtable) == 104);
  STATIC_REQUIRE(offsetof(switchboard_store_vtable, remove) == 96);
  STATIC_REQUIRE(SWITCHBOARD_ABI_MINOR == 3);
  STATIC_REQUIRE(SWITCHBOARD_PLUGIN_SIZE_V1_0 == 72);  // 1.0's whole descriptor
  STATIC_REQUIRE(offsetof(switchboard_plugin, capabilities) == 32);
  STATIC_REQUIRE(offsetof(switchboard_plugin, store) == 64);
  STATIC_REQUIRE(offsetof(switchboard_plugin, description) == 72);  // 1.1
  STATIC_REQUIRE(sizeof(switchboard_plugin) == 80);
  STATIC_REQUIRE(SWITCHBOARD_OK == 0 && SWITCHBOARD_ERROR == 6);
  STATIC_REQUIRE(SWITCHBOARD_STATE_STOPPED == 4);
}

TEST_CASE("a well-formed plugin loads and works through the proxies", "[abi]") {
  auto p = load_plugin_file(fixture("fixture_ok"));
  CHECK(std::string(p->descriptor->name) == "fixture");
  CHECK(p->descriptor->capabilities & SWITCHBOARD_CAP_TRANSPORT);
  CHECK_FALSE(p->descriptor->capabilities & SWITCHBOARD_CAP_SESSION_STORE);
  REQUIRE(p->descriptor->config_key_count == 1);
  CHECK(p->descriptor->config_keys[0].default_value == nullptr);

  observe::ComponentState st;
  std::vector<std::string> got;
  PluginTransport t(p, {{"prefix", ">"}},
                    std::make_unique<HostBridge>("f", &st, [&](std::string_view b) { got.emplace_back(b); }));
  REQUIRE(t.start().is_ok());
  REQUIRE(t.publish("hi").is_ok());
  CHECK(got == std::vector<std::string>{">hi"});
  // An exception in the plugin never crosses: it becomes an error status.
  Status s = t.publish("throw");
  CHECK(s.code() == StatusCode::kError);
  CHECK(s.message() == "publish threw");
}

TEST_CASE("a plugin built for an older minor (shorter descriptor) still loads", "[abi]") {
  auto p = load_plugin_file(fixture("fixture_old_minor"));
  CHECK(p->descriptor->abi_minor == 0);
  CHECK(std::string(p->descriptor->name) == "versions");
  CHECK(p->descriptor->description == nullptr);  // past its struct_size: not read
}

TEST_CASE("a plugin constructor that throws is a clear create error", "[abi]") {
  auto p = load_plugin_file(fixture("fixture_ok"));
  observe::ComponentState st;
  try {
    PluginTransport t(p, {}, std::make_unique<HostBridge>("f", &st, nullptr));
    FAIL("constructed without its required key");
  } catch (const PluginError& e) {
    CHECK_THAT(e.what(), Catch::Contains("missing config key 'prefix'"));
  }
  CHECK_THROWS_WITH(PluginStore(p, {{"prefix", "x"}}, std::make_unique<HostBridge>("f", &st, nullptr)),
                    Catch::Contains("provides no session store"));
}

TEST_CASE("the loader refuses bad plugins with a one-line message naming file and versions", "[abi]") {
  auto msg = refusal(fixture("fixture_wrong_major"));
  CHECK_THAT(msg, Catch::Contains(fixture("fixture_wrong_major")) &&
                      Catch::Contains("ABI 2.0") && Catch::Contains("provides ABI 1.3"));
  msg = refusal(fixture("fixture_newer_minor"));
  CHECK_THAT(msg, Catch::Contains("ABI 1.99") && Catch::Contains("provides ABI 1.3"));
  msg = refusal(fixture("fixture_no_entry"));
  CHECK_THAT(msg, Catch::Contains(fixture("fixture_no_entry")) &&
                      Catch::Contains("switchboard_plugin_entry_v1"));
  msg = refusal(std::string(FIXTURE_DIR) + "/libnothing.so");
  CHECK_THAT(msg, Catch::Contains("no such file"));
  msg = refusal(ABI_HEADER);  // a file that is not a shared object at all
  CHECK_THAT(msg, Catch::Contains("cannot be loaded"));
  for (const auto& m : {msg, refusal(fixture("fixture_wrong_major"))})
    CHECK(m.find('\n') == std::string::npos);
}

TEST_CASE("a plugin named in the config but absent names the directory", "[abi]") {
  try {
    load_plugin({FIXTURE_DIR}, "nosuch");
    FAIL("loaded");
  } catch (const PluginError& e) {
    CHECK_THAT(e.what(), Catch::Contains("plugin 'nosuch' not found") && Catch::Contains(FIXTURE_DIR));
  }
}
