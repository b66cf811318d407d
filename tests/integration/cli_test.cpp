// The `switchboard` command line run as a real process (docs/cli.md):
// check-config on good and bad configs (secrets masked, the same errors as
// serve), and `switchboard publish` through a real Redis, NATS and Kafka
// reaching WebSocket clients of a real server on that bus, plus its failures
// (broker down, memory transport, bad input: one clear line, the documented
// exit code).
// `publish --url` goes to a real server's HTTP API (docs/http-api.md): success
// reaches its clients, and each of the API's refusals is the documented exit code.
#include <algorithm>

#include "fixture.hpp"
#include "support/broker_process.hpp"

using namespace switchboard::test;
using Strings = std::vector<std::string>;

namespace {

const std::string kSecret = "cli-integration-test-secret-0b5e";

RunResult cli(Strings args, std::vector<std::pair<std::string, std::string>> env = {},
              Millis timeout = Millis(30000)) {
  ProcessSpec spec{SWITCHBOARD_BIN, std::move(args), std::move(env), next_log_path(), false};
  return run_process(std::move(spec), timeout);
}

int exit_code(const RunResult& r) {
  INFO(r.output);
  REQUIRE(r.status.has_value());
  REQUIRE(r.status->exited);
  return r.status->code;
}

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// A server on the broker's bus (memory sessions: the CLI needs none), and the
// config file the CLI is given: the server's own.
ServerSettings on_bus(const Broker& broker) {
  ServerSettings s;
  for (const auto& [k, v] : broker.transport_settings()) s.set(k, v);
  s.set("session.secret", "\"" + kSecret + "\"");
  return s;
}

// A client in channel "room", signed in as "fred".
std::unique_ptr<WsClient> subscriber(TestServer& server) {
  auto c = server.connect();
  call(*c, "t.sub", {"room"});
  call(*c, "t.signIn", {"fred"});
  return c;
}

void publishes_reach_clients(const Broker& broker) {
  TestServer server(on_bus(broker));
  // It listens before its transport is connected; until then a session change
  // (t.sub) is refused.
  REQUIRE(eventually([&] { return server.get("/healthz").status == 200; }, Millis(15000)));
  auto a = subscriber(server);
  auto b = server.connect();  // in no channel, anonymous
  const std::string& config = server.config_path();

  auto r = cli({"publish", "--config", config, "channel", "room", "chat", R"({"from":"cli","n":1})"});
  CHECK(exit_code(r) == 0);
  CHECK(r.output.empty());  // quiet on success
  auto ev = expect_event(*a, "chat");
  CHECK(json::serialize(ev.at("p")) == R"([{"from":"cli","n":1}])");
  CHECK(str(ev.at("c")) == "room");

  CHECK(exit_code(cli({"publish", "-c", config, "user", R"(["wilma","fred"])", "offer", "\"x\"", "2"})) == 0);
  CHECK(json::serialize(expect_event(*a, "offer").at("p")) == R"(["x",2])");

  CHECK(exit_code(cli({"publish", "-c", config, "socket", b->socket_id(), "tab", "null"})) == 0);
  CHECK(json::serialize(expect_event(*b, "tab").at("p")) == "[null]");

  CHECK(exit_code(cli({"publish", "-c", config, "--strings", "all", "flash", "Notice: 18:00"})) == 0);
  CHECK(json::serialize(expect_event(*a, "flash").at("p")) == R"(["Notice: 18:00"])");
  CHECK(json::serialize(expect_event(*b, "flash").at("p")) == R"(["Notice: 18:00"])");
  // Nothing else arrived: the channel and user events went to A only.
  expect_quiet(*a, *b);
  expect_quiet(*b, *a);
}

}  // namespace

TEST_CASE("cli: version and help", "[integration][cli]") {
  auto v = cli({"version"});
  CHECK(exit_code(v) == 0);
  CHECK(std::regex_match(v.output, std::regex(R"(switchboard \S+ \(plugin ABI \d+\.\d+\)\n)")));
  for (const char* cmd : {"serve", "publish", "check-config", "config-reference", "version"}) {
    auto h = cli({cmd, "--help"});
    CHECK(exit_code(h) == 0);
    CHECK(h.output.rfind(std::string("usage: switchboard ") + cmd, 0) == 0);
    CHECK(cli({"help", cmd}).output == h.output);
  }
  auto top = cli({"--help"});
  CHECK(exit_code(top) == 0);
  CHECK(top.output.find("check-config") != std::string::npos);
}

TEST_CASE("cli: mistakes on the command line give the error and the usage, exit 2", "[integration][cli]") {
  auto unknown = cli({"publish", "--bogus", "all", "e"});
  CHECK(exit_code(unknown) == 2);
  CHECK(unknown.output.rfind("switchboard publish: unknown option '--bogus'\n\nusage: switchboard publish", 0) == 0);
  auto cc = cli({"check-config", "--nope"});
  CHECK(exit_code(cc) == 2);
  CHECK(cc.output.rfind("switchboard check-config: unknown option '--nope'\n\nusage:", 0) == 0);
  CHECK(exit_code(cli({"frobnicate"})) == 2);
  CHECK(exit_code(cli({"serve", "extra"})) == 2);
  CHECK(exit_code(cli({"publish", "--dry-run"})) == 2);  // no TARGET
  CHECK(exit_code(cli({"publish", "--url", "http://h:1", "--config", "x.yaml", "all", "e"})) == 2);
  // A bad message: one line, nothing sent (no broker needed to find out).
  auto bad = cli({"publish", "all", "flash", "hello"});
  CHECK(exit_code(bad) == 2);
  CHECK(lines(bad.output) == 1);
  CHECK(bad.output.rfind("switchboard publish: argument 1 'hello' is not JSON", 0) == 0);
  auto dry = cli({"publish", "--dry-run", "channel", R"(["a","b"])", "e", "1"});
  CHECK(exit_code(dry) == 0);
  CHECK(dry.output == R"({"t":"channel","channels":["a","b"],"e":"e","p":[1]})" "\n");
}

TEST_CASE("cli: check-config prints every effective key with secrets masked", "[integration][cli]") {
  std::string path = write_temp_file(
      "transport: { use: redis }\n"
      "session: { store: redis, secret: \"the-secret-value\" }\n"
      "redis: { url: \"redis://app:the-password@127.0.0.1:1/0\" }\n"
      "limits: { channel_name_bytes: 512 }\n");
  auto r = cli({"check-config", "--config", path}, {{"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:9"}});
  CHECK(exit_code(r) == 0);
  INFO(r.output);
  CHECK(r.output.rfind("# " + path + ": valid (transport redis, session store redis", 0) == 0);
  CHECK(r.output.find("the-secret-value") == std::string::npos);
  CHECK(r.output.find("the-password") == std::string::npos);
  CHECK(r.output.find("session.secret = ***") != std::string::npos);
  CHECK(r.output.find("redis.url = \"redis://app:***@127.0.0.1:1/0\"") != std::string::npos);
  CHECK(std::regex_search(r.output, std::regex(R"(\nlimits.channel_name_bytes = 512 +# )" + path)));
  CHECK(std::regex_search(r.output, std::regex(R"(\nserver.listen = "127.0.0.1:9" +# environment SWITCHBOARD_SERVER_LISTEN\n)")));
  CHECK(std::regex_search(r.output, std::regex(R"(\nredis.channel = "ss:event" +# default\n)")));
  // Nothing was connected to: redis on port 1 would have failed.
  std::remove(path.c_str());
}

TEST_CASE("cli: check-config refuses what serve refuses, with serve's line", "[integration][cli]") {
  struct Case {
    const char* yaml;
    const char* error;
  };
  for (const Case& c : {
           Case{"limits: { bogus: 1 }\n", "unknown key 'limits.bogus'"},
           Case{"server: { listen: nowhere }\n", "key 'server.listen': expected HOST:PORT"},
           Case{"transport: { use: nosuch }\n", "plugin 'nosuch' not found"},
           // Only serve's start-up knows these: the plugin's own check of its
           // settings, and the secret rule of a shared bus.
           Case{"transport: { use: redis }\nsession: { secret: s }\nredis: { url: \"http://x\" }\n", "redis"},
           Case{"transport: { use: redis }\nsession: { store: redis }\n", "session.secret is empty"},
       }) {
    INFO(c.yaml);
    std::string path = write_temp_file(c.yaml);
    auto check = cli({"check-config", "-c", path});
    auto serve = cli({"serve", "-c", path});
    std::remove(path.c_str());
    CHECK(exit_code(check) == 1);
    CHECK(exit_code(serve) == 1);
    CHECK(lines(check.output) == 1);
    CHECK(check.output.find(c.error) != std::string::npos);
    // The same line but for the command's name.
    CHECK(check.output.substr(check.output.find(": ")) == serve.output.substr(serve.output.find(": ")));
  }
}

// Once per broker (registered as integration/<broker>/cli: …, labelled with the broker).
TEST_CASE("cli: publish through the bus reaches WebSocket clients", "[integration][cli][broker]") {
  const std::string kind = GENERATE(from_range(selected_broker_kinds()));
  INFO("broker: " << kind);
  auto broker = start_broker(kind, next_log_path());
  publishes_reach_clients(*broker);
}

TEST_CASE("cli: publish failures are one line and an exit code", "[integration][cli]") {
  SECTION("the broker is down: 1, within --timeout") {
    RedisBroker broker;
    std::string path = write_temp_file(to_yaml(on_bus(broker).config));
    broker.stop(Millis(5000));
    auto t0 = std::chrono::steady_clock::now();
    auto r = cli({"publish", "-c", path, "--timeout", "2s", "all", "e"});
    auto took = std::chrono::steady_clock::now() - t0;
    std::remove(path.c_str());
    CHECK(exit_code(r) == 1);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.rfind("switchboard publish: transport 'redis' not connected within 2s", 0) == 0);
    CHECK(took < std::chrono::seconds(6));
  }
  SECTION("the memory transport reaches no server: 1") {
    auto r = cli({"publish", "all", "e"});
    CHECK(exit_code(r) == 1);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.find("transport 'memory' is not shared between processes") != std::string::npos);
  }
  SECTION("an invalid config: 1, as serve") {
    std::string path = write_temp_file("limits: { bogus: 1 }\n");
    auto r = cli({"publish", "-c", path, "all", "e"});
    std::remove(path.c_str());
    CHECK(exit_code(r) == 1);
    CHECK(r.output.find("unknown key 'limits.bogus'") != std::string::npos);
  }
  SECTION("--url with nothing listening: 1") {
    auto r = cli({"publish", "--url", "http://127.0.0.1:1", "--key", "k", "all", "e"});
    CHECK(exit_code(r) == 1);
    CHECK(r.output.rfind("switchboard publish: cannot connect to http://127.0.0.1:1: ", 0) == 0);
    auto nokey = cli({"publish", "--url", "http://127.0.0.1:1", "all", "e"});
    CHECK(exit_code(nokey) == 2);
    CHECK(nokey.output.find("--url needs an API key") != std::string::npos);
  }
}

TEST_CASE("cli: publish --url goes through a server's HTTP API", "[integration][cli][http_api]") {
  const std::string key = "cli-url-test-key-0123456789";
  ServerSettings settings;
  settings.set("api.keys", "[\"" + key + "\"]");
  TestServer server(settings);
  auto a = subscriber(server);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());

  auto r = cli({"publish", "--url", url, "--key", key, "channel", "room", "chat", R"({"via":"http"})"});
  CHECK(exit_code(r) == 0);
  auto ev = expect_event(*a, "chat");
  CHECK(json::serialize(ev.at("p")) == R"([{"via":"http"}])");
  CHECK(str(ev.at("c")) == "room");
  // The key from the environment, as docs/cli.md says.
  CHECK(exit_code(cli({"publish", "--url", url, "user", "fred", "offer", "1"},
                      {{"SWITCHBOARD_API_KEY", key}})) == 0);
  CHECK(json::serialize(expect_event(*a, "offer").at("p")) == "[1]");

  SECTION("a wrong key: 1, with the server's message") {
    auto bad = cli({"publish", "--url", url, "--key", "not-the-key-0123456789", "all", "e"});
    CHECK(exit_code(bad) == 1);
    CHECK(lines(bad.output) == 1);
    CHECK(bad.output.find("Authorization: Bearer") != std::string::npos);
  }
}

TEST_CASE("cli: publish --config with the memory transport and api.keys goes through that server's "
          "HTTP API",
          "[integration][cli][http_api]") {
  const std::string key = "cli-memory-test-key-0123456789";
  ServerSettings settings;
  settings.set("api.keys", "[\"" + key + "\"]");
  TestServer server(settings);
  auto a = subscriber(server);
  // The server's own config file; it listens on port 0 (any), so the CLI is told
  // the real one as an operator's environment would.
  const std::vector<std::pair<std::string, std::string>> listen = {
      {"SWITCHBOARD_SERVER_LISTEN", "0.0.0.0:" + std::to_string(server.port())}};
  auto r = cli({"publish", "--config", server.config_path(), "channel", "room", "chat", R"({"via":"memory"})"},
               listen);
  CHECK(exit_code(r) == 0);
  CHECK(r.output.empty());
  auto ev = expect_event(*a, "chat");
  CHECK(json::serialize(ev.at("p")) == R"([{"via":"memory"}])");
  CHECK(str(ev.at("c")) == "room");

  SECTION("port 0 in the config: 2, give --url") {
    auto zero = cli({"publish", "--config", server.config_path(), "all", "e"},
                    {{"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0"}});
    CHECK(exit_code(zero) == 2);
    CHECK(zero.output.find("give the server's address with --url") != std::string::npos);
  }
}

TEST_CASE("cli: publish --url over the key's rate: 1, with the server's message",
          "[integration][cli][http_api]") {
  const std::string key = "cli-url-test-key-0123456789";
  ServerSettings settings;
  settings.set("api.keys", "[\"" + key + "\"]");
  settings.set("api.requests_per_second", "1");  // one token, one more per second
  TestServer server(settings);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  // Unless each run took a second, one of these is over the rate.
  RunResult refused;
  for (int i = 0; i < 5 && refused.output.empty(); ++i) {
    auto r = cli({"publish", "--url", url, "--key", key, "all", "e"});
    if (exit_code(r) != 0) refused = r;
  }
  CHECK(exit_code(refused) == 1);
  CHECK(refused.output.find("api.requests_per_second") != std::string::npos);
}

TEST_CASE("cli: publish --url to a server without the API: 1, the API is off",
          "[integration][cli][http_api]") {
  TestServer server;
  auto r = cli({"publish", "--url", "http://127.0.0.1:" + std::to_string(server.port()), "--key",
                "some-key-0123456789abc", "all", "e"});
  CHECK(exit_code(r) == 1);
  CHECK(r.output.find("api.keys") != std::string::npos);
}
