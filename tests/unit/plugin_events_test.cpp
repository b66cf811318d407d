// A plugin's event counters (ABI 1.2 host.count → switchboard_plugin_events_total):
// the host bounds what an untrusted plugin can add, and the SDK never calls a host
// table that has no such field.
#include <catch2/catch.hpp>

#include "observe/metrics.hpp"
#include "plugin/host_bridge.hpp"
#include "switchboard/host.hpp"

using namespace switchboard;

TEST_CASE("plugin events: counted per name, rendered per component", "[metrics]") {
  observe::Metrics m;
  observe::ComponentState transport, store;
  transport.name = "nats";
  store.name = "nats";
  plugin::HostBridge bridge("transport:nats", &transport, nullptr);
  Host host(bridge.table());
  host.count("slow_consumer_dropped", 5);
  host.count("slow_consumer_dropped", 7);
  host.count("reconnects");
  store.count("reconnects", 2);
  auto text = m.prometheus_text({transport, store});
  CHECK_THAT(text, Catch::Contains("# TYPE switchboard_plugin_events_total counter"));
  CHECK_THAT(text, Catch::Contains(
                       "switchboard_plugin_events_total{plugin=\"nats\",component=\"transport\",event=\"slow_consumer_dropped\"} 12\n"));
  CHECK_THAT(text, Catch::Contains(
                       "switchboard_plugin_events_total{plugin=\"nats\",component=\"transport\",event=\"reconnects\"} 1\n"));
  CHECK_THAT(text, Catch::Contains(
                       "switchboard_plugin_events_total{plugin=\"nats\",component=\"session_store\",event=\"reconnects\"} 2\n"));
}

TEST_CASE("plugin events: bad names and names past the cap are ignored", "[metrics]") {
  observe::ComponentState c;
  for (const char* bad : {"", "Upper", "with space", "quote\"", "dash-ed", "label}x", "\xc3\xa9"}) c.count(bad, 1);
  c.count(std::string(65, 'a'), 1);
  CHECK(c.get_events().empty());
  c.count(std::string(64, 'a'), 1);
  for (size_t i = 0; i < 2 * observe::ComponentState::kMaxEvents; ++i) c.count("e" + std::to_string(i), 1);
  CHECK(c.get_events().size() == observe::ComponentState::kMaxEvents);
  c.count(std::string(64, 'a'), 1);  // an existing name still counts
  CHECK(c.get_events().at(std::string(64, 'a')) == 2);
}

TEST_CASE("plugin events: the SDK skips count() on a host table from before ABI 1.2", "[metrics]") {
  static int calls = 0;
  switchboard_host old{};
  old.struct_size = SWITCHBOARD_HOST_SIZE_V1_1;
  old.count = [](void*, const char*, uint64_t) { ++calls; };  // past struct_size: must not be read
  Host(&old).count("x");
  CHECK(calls == 0);
  old.struct_size = sizeof(switchboard_host);
  Host(&old).count("x");
  CHECK(calls == 1);
}
