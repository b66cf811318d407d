#include <catch2/catch.hpp>

#include <cstdlib>

#include "config/validate.hpp"
#include "plugin/loader.hpp"

using namespace switchboard;
using namespace switchboard::config;

namespace {
std::vector<SectionSpec> memory_section() {
  auto p = plugin::load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory");
  return {plugin_section(*p->descriptor)};
}
Settings check(const std::string& yaml) {
  return validate(Config::from_string(yaml, "test.yaml"), memory_section());
}
std::string error_of(const std::string& yaml) {
  try {
    check(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("embedded defaults", "[config]") {
  auto s = validate(Config::defaults(), memory_section());
  CHECK(s.server.listen_port == 8080);
  CHECK(s.server.threads >= 1);
  CHECK(s.transport.use == "memory");
  CHECK(s.session.store == "memory");
  CHECK(s.session.cookie == "sb.sid");
  CHECK(s.session.ttl == std::chrono::hours(24 * 7));
  CHECK(s.limits.max_message_bytes == 65536);
  CHECK(s.plugin_config.at("memory").size() == 5);  // incl. max_sessions (issue 9)
}

TEST_CASE("values of every type parse", "[config]") {
  auto s = check(R"(
server: { listen: "127.0.0.1:0", threads: 3, allowed_origins: [http://a, http://b], idle_timeout: 1500ms }
session: { ttl: 2h }
limits: { channels_per_session: 5 }
memory: { max_queue_messages: 7, sweep_interval: 1m }
)");
  CHECK(s.server.listen_host == "127.0.0.1");
  CHECK(s.server.listen_port == 0);
  CHECK(s.server.threads == 3);
  CHECK(s.server.allowed_origins == std::vector<std::string>{"http://a", "http://b"});
  CHECK(s.server.idle_timeout == std::chrono::milliseconds(1500));
  CHECK(s.session.ttl == std::chrono::hours(2));
  CHECK(s.limits.channels_per_session == 5);
  auto& m = s.plugin_config.at("memory");
  CHECK(std::find(m.begin(), m.end(), std::pair<std::string, std::string>("sweep_interval", "60000")) != m.end());
}

TEST_CASE("unknown keys and wrong types name the key and the file", "[config]") {
  auto e = error_of("server: { listne: x }");
  CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains("server.listne"));
  e = error_of("limits: { max_message_bytes: lots }");
  CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains("limits.max_message_bytes") &&
                    Catch::Contains("integer"));
  e = error_of("session: { ttl: 7 }");
  CHECK_THAT(e, Catch::Contains("session.ttl") && Catch::Contains("duration"));
  e = error_of("server: { allowed_origins: {a: 1} }");
  CHECK_THAT(e, Catch::Contains("server.allowed_origins"));
  e = error_of("redis: { url: x }");
  CHECK_THAT(e, Catch::Contains("unknown key 'redis'"));
  e = error_of("memory: { bogus: 1 }");
  CHECK_THAT(e, Catch::Contains("memory.bogus"));
  e = error_of("memory: { max_queue_messages: -3 }");
  CHECK_THAT(e, Catch::Contains("memory.max_queue_messages"));
  e = error_of("server: { listen: nocolon }");
  CHECK_THAT(e, Catch::Contains("server.listen"));
  e = error_of("- a\n- b");
  CHECK_THAT(e, Catch::Contains("test.yaml"));
  e = error_of("server: [1");
  CHECK_THAT(e, Catch::Contains("invalid YAML"));
}

TEST_CASE("environment overrides win and name themselves in errors", "[config]") {
  ::setenv("SWITCHBOARD_LIMITS_RPC_PER_SECOND", "7", 1);
  ::setenv("SWITCHBOARD_SERVER_ALLOWED_ORIGINS", "[http://x]", 1);
  auto s = check("limits: { rpc_per_second: 1 }");
  CHECK(s.limits.rpc_per_second == 7);
  CHECK(s.server.allowed_origins == std::vector<std::string>{"http://x"});
  ::setenv("SWITCHBOARD_LIMITS_RPC_PER_SECOND", "fast", 1);
  CHECK_THAT(error_of(""), Catch::Contains("SWITCHBOARD_LIMITS_RPC_PER_SECOND"));
  ::unsetenv("SWITCHBOARD_LIMITS_RPC_PER_SECOND");
  ::unsetenv("SWITCHBOARD_SERVER_ALLOWED_ORIGINS");
}

TEST_CASE("${VAR} in values expands from the environment", "[config]") {
  ::setenv("SB_TEST_SECRET", "s3cr3t", 1);
  CHECK(check("session: { secret: \"${SB_TEST_SECRET}\" }").session.secret == "s3cr3t");
  ::unsetenv("SB_TEST_SECRET");
}

TEST_CASE("durations", "[config]") {
  long long ms = 0;
  CHECK((parse_duration("250ms", ms) && ms == 250));
  CHECK((parse_duration("30s", ms) && ms == 30000));
  CHECK((parse_duration("7d", ms) && ms == 7LL * 86400000));
  CHECK((parse_duration("0", ms) && ms == 0));
  CHECK_FALSE(parse_duration("5", ms));
  CHECK_FALSE(parse_duration("s", ms));
  CHECK_FALSE(parse_duration("5 s", ms));
}

TEST_CASE("env names", "[config]") {
  CHECK(env_name("limits", "max_message_bytes") == "SWITCHBOARD_LIMITS_MAX_MESSAGE_BYTES");
  CHECK(env_name("my-plugin", "a.b") == "SWITCHBOARD_MY_PLUGIN_A_B");
}

TEST_CASE("durations: checked arithmetic and the 100-year maximum", "[config]") {
  long long ms = -1;
  bool too_large = false;
  CHECK((parse_duration("36500d", ms, &too_large) && ms == kMaxDurationMs && !too_large));
  CHECK((parse_duration("0000000000000000000000005s", ms) && ms == 5000));
  // Used to overflow (UB) and to wrap around to about 9.6 hours.
  for (const char* big : {"999999999999d", "213503982335d", "36501d", "3153600000001ms",
                          "99999999999999999999999999s", "0000000000000000000000036501d"}) {
    INFO(big);
    ms = -1;
    CHECK_FALSE(parse_duration(big, ms, &too_large));
    CHECK(too_large);
    CHECK(ms == -1);
  }
  CHECK_FALSE(parse_duration("99999999999999999999x", ms, &too_large));
  CHECK_FALSE(too_large);  // malformed, not too large
  auto e = error_of("session: { ttl: 213503982335d }");
  CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains("session.ttl") &&
                    Catch::Contains("too large"));
  ::setenv("SWITCHBOARD_SERVER_IDLE_TIMEOUT", "999999999999d", 1);
  e = error_of("");
  ::unsetenv("SWITCHBOARD_SERVER_IDLE_TIMEOUT");
  CHECK_THAT(e, Catch::Contains("SWITCHBOARD_SERVER_IDLE_TIMEOUT") && Catch::Contains("too large"));
}

TEST_CASE("non-scalar keys and values name the file and the key", "[config]") {
  // A list or a mapping used as a key used to escape as "yaml-cpp: bad conversion".
  auto e = error_of("{[a]: 1}");
  CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains("top-level key") &&
                    Catch::Contains("list"));
  e = error_of("server: { {a: 1}: 2 }");
  CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains("'server'") &&
                    Catch::Contains("mapping"));
  e = error_of("memory:\n  ? [x, y]\n  : 1\n");
  CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains("'memory'"));
  CHECK_THROWS_AS(plugin_choice(Config::from_string("? [a]\n: 1\n", "test.yaml")), ConfigError);
  // Non-scalar values where a scalar is expected.
  e = error_of("server: { listen: [a, b] }");
  CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains("server.listen"));
  e = error_of("limits: { max_message_bytes: {a: 1} }");
  CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains("limits.max_message_bytes"));
  e = error_of("session: { ttl: [1s] }");
  CHECK_THAT(e, Catch::Contains("session.ttl"));
  e = error_of("server: { allowed_origins: [[a]] }");
  CHECK_THAT(e, Catch::Contains("server.allowed_origins"));
  e = error_of("null: 1");
  CHECK_THAT(e, Catch::Contains("unknown key 'null'"));
}

TEST_CASE("Config::set on a section that is not a mapping names the key", "[config]") {
  auto c = Config::from_string("server: 5", "test.yaml");
  try {
    c.set("server.listen", "127.0.0.1:0");
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("server.listen") && Catch::Contains("test.yaml"));
  }
  auto empty = Config::from_string("server:", "test.yaml");
  CHECK(validate(empty.set("server.listen", "127.0.0.1:9"), memory_section()).server.listen_port == 9);
}

TEST_CASE("a plugin's malformed list default is a ConfigError naming the key", "[config]") {
  SectionSpec bad{"badplug", "", {{"hosts", SWITCHBOARD_CONFIG_STRING_LIST, "[a, b", false, ""}}};
  try {
    validate(Config::from_string("", "test.yaml"), {bad});
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("badplug.hosts") &&
                                          Catch::Contains("built-in default"));
  }
}

TEST_CASE("the queue bounds: defaults, and 0 or a negative value refused naming the key", "[config]") {
  auto s = validate(Config::defaults(), memory_section());
  CHECK(s.limits.control_queue == 100000);
  CHECK(s.limits.loop_inbox == 100000);
  CHECK(check("limits: { control_queue: 1, loop_inbox: 7 }").limits.loop_inbox == 7);
  for (const char* key : {"control_queue", "loop_inbox"}) {
    for (const char* bad : {"0", "-1", "4294967296"}) {
      INFO(key << ": " << bad);
      auto e = error_of(std::string("limits: { ") + key + ": " + bad + " }");
      CHECK_THAT(e, Catch::Contains("test.yaml") && Catch::Contains(std::string("limits.") + key));
    }
  }
}
