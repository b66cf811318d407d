// `switchboard check-config`'s listing (core/src/cli/effective_config.hpp):
// every key, secrets masked.
#include <catch2/catch.hpp>

#include "cli/effective_config.hpp"
#include "plugin/plugin_host.hpp"

using namespace switchboard;
using namespace switchboard::cli;

TEST_CASE("cli: which names hold secrets", "[cli]") {
  for (const char* n : {"secret", "password", "token", "api_key", "sasl.password", "ssl.key.password",
                        "sasl.oauthbearer.client.secret", "ssl.key.pem", "sasl.jaas.config",
                        "PASSWORD", "credentials"})
    CHECK(is_secret_name(n));
  for (const char* n : {"key_prefix", "tls_key_file", "credentials_file", "nkey", "nkey_seed_file",
                        "url", "user", "channel", "keepalive_timeout", "ssl.key.location", ""})
    CHECK_FALSE(is_secret_name(n));
}

TEST_CASE("cli: masking values", "[cli]") {
  CHECK(masked_value("secret", "s3cret") == "***");
  CHECK(masked_value("secret", "") == "");  // unset is shown as unset
  CHECK(masked_value("url", "redis://:pw@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0");
  CHECK(masked_value("url", "redis://app:pw@h/0") == "redis://app:***@h/0");
  CHECK(masked_value("url", "redis://app@h/0") == "redis://app@h/0");  // no password
  CHECK(masked_value("url", "redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0");
  CHECK(masked_value("servers", "nats://u:p@h:4222") == "nats://u:***@h:4222");
  CHECK(masked_value("properties", "sasl.password=hunter2") == "sasl.password=***");
  CHECK(masked_value("properties", "security.protocol=SASL_SSL") == "security.protocol=SASL_SSL");
  CHECK(masked_value("key_prefix", "ss:") == "ss:");
}

TEST_CASE("cli: the effective settings list every key, secrets masked", "[cli]") {
  setenv("SWITCHBOARD_LIMITS_USER_ID_BYTES", "300", 1);
  auto config = Config::from_string(
      "session: { secret: topsecret, ttl: 2h }\n"
      "server: { allowed_origins: [\"http://a.test\"] }\n"
      "memory: { bus: b1 }\n",
      "sb.yaml");
  config.set("plugins.dir", std::string("\"") + SWITCHBOARD_PLUGIN_DIR + "\"");
  std::vector<std::string> dirs;
  std::vector<config::EffectiveValue> effective;
  plugin::load_settings(config, dirs, &effective);
  unsetenv("SWITCHBOARD_LIMITS_USER_ID_BYTES");
  std::string text = format_effective(effective);
  INFO(text);
  CHECK(text.find("topsecret") == std::string::npos);
  CHECK(text.find("session.secret = ***") != std::string::npos);
  CHECK(text.find("session.ttl = 2h") != std::string::npos);
  CHECK(text.find("server.listen = \"0.0.0.0:8080\"") != std::string::npos);
  CHECK(text.find("server.allowed_origins = [\"http://a.test\"]") != std::string::npos);
  CHECK(text.find("server.write_interval = 0s") != std::string::npos);
  CHECK(text.find("server.static_follow_symlinks = false") != std::string::npos);
  CHECK(text.find("memory.bus = \"b1\"") != std::string::npos);
  CHECK(text.find("memory.max_queue_messages = 65536") != std::string::npos);
  // Where each value came from.
  auto line = [&](const std::string& key) {
    auto at = text.find("\n" + key + " = ");
    REQUIRE(at != std::string::npos);
    return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  };
  CHECK(line("session.ttl").ends_with("# sb.yaml"));
  CHECK(line("limits.user_id_bytes").ends_with("# environment SWITCHBOARD_LIMITS_USER_ID_BYTES"));
  CHECK(line("limits.user_id_bytes").find("= 300") != std::string::npos);
  CHECK(line("session.cookie").ends_with("# default"));
  // One line per key of every section used.
  size_t keys = 0;
  for (const auto& s : config::core_schema()) keys += s.keys.size();
  keys += plugin::load_plugin({SWITCHBOARD_PLUGIN_DIR}, "memory")->descriptor->config_key_count;
  CHECK(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) == keys);
}
