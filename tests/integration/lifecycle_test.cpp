// Starting and stopping (product.md §5): graceful shutdown, config and plugin
// errors at startup, environment overrides, embedded defaults.
#include <signal.h>

#include <cstdio>
#include <filesystem>

#include "fixture.hpp"

using namespace switchboard::test;

namespace {

constexpr Millis kLongWait{30000};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("a shutdown signal closes clients with 1001 and exits 0", "[integration][lifecycle]") {
  TestServer srv;
  auto a = srv.connect();
  auto b = srv.connect_same_session(*a);
  auto c = srv.connect();

  int sig = SIGTERM;
  SECTION("SIGTERM") {
    sig = SIGTERM;
  }
  SECTION("SIGINT") {
    sig = SIGINT;
  }
  srv.process().signal(sig);

  for (auto* client : {a.get(), b.get(), c.get()}) {
    auto closed = client->wait_closed(kLongWait);
    REQUIRE(closed.closed);
    INFO("transport error: " << closed.error.message());
    REQUIRE(closed.code.has_value());
    CHECK(*closed.code == 1001);
  }
  auto status = srv.process().wait_exit(kLongWait);
  REQUIRE(status.has_value());
  INFO(status->describe());
  CHECK(status->success());
}

TEST_CASE("an unknown config key stops startup with a message naming the key and the file",
          "[integration][lifecycle]") {
  std::string yaml;
  std::string key;
  SECTION("in a known section") {
    yaml = "server:\n  listen: \"127.0.0.1:0\"\n  bogus_key: 1\n";
    key = "bogus_key";
  }
  SECTION("a whole unknown section") {
    yaml = "server:\n  listen: \"127.0.0.1:0\"\nnosuchsection:\n  a: 1\n";
    key = "nosuchsection";
  }
  SECTION("in limits") {
    yaml = "server:\n  listen: \"127.0.0.1:0\"\nlimits:\n  max_mesage_bytes: 10\n";
    key = "max_mesage_bytes";
  }
  std::string path = write_temp_file(yaml);
  auto run = run_process(test_server_spec({"--config", path}), kLongWait);
  std::remove(path.c_str());
  INFO("output:\n" << run.output);
  REQUIRE(run.status.has_value());
  CHECK_FALSE(run.status->success());
  CHECK(run.status->exited);  // an error exit, not a crash
  CHECK(contains(run.output, key));
  CHECK(contains(run.output, path));
  CHECK_FALSE(contains(run.output, "switchboard listening"));
}

TEST_CASE("a config value of the wrong type stops startup naming the key",
          "[integration][lifecycle]") {
  std::string path =
      write_temp_file("server:\n  listen: \"127.0.0.1:0\"\nlimits:\n  max_message_bytes: lots\n");
  auto run = run_process(test_server_spec({"--config", path}), kLongWait);
  std::remove(path.c_str());
  INFO("output:\n" << run.output);
  REQUIRE(run.status.has_value());
  CHECK_FALSE(run.status->success());
  CHECK(run.status->exited);
  CHECK(contains(run.output, "max_message_bytes"));
  CHECK_FALSE(contains(run.output, "switchboard listening"));
}

TEST_CASE("a missing plugin stops startup with a message naming the plugin directory",
          "[integration][lifecycle]") {
  std::string dir = SWITCHBOARD_TEST_PLUGIN_DIR;
  std::string yaml = "server:\n  listen: \"127.0.0.1:0\"\ntransport:\n  use: nosuch\n";
  SECTION("plugins.dir set") {
    yaml += "plugins:\n  dir: \"" + dir + "\"\n";
  }
  SECTION("the default plugins directory beside the binary") {}
  std::string path = write_temp_file(yaml);
  auto run = run_process(test_server_spec({"--config", path}), kLongWait);
  std::remove(path.c_str());
  INFO("output:\n" << run.output);
  REQUIRE(run.status.has_value());
  CHECK_FALSE(run.status->success());
  CHECK(run.status->exited);
  CHECK(contains(run.output, "nosuch"));
  // The directory as configured, or its canonical form.
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(dir, ec).string();
  CHECK((contains(run.output, dir) || contains(run.output, canonical)));
  CHECK_FALSE(contains(run.output, "switchboard listening"));
}

TEST_CASE("environment variables override the config file", "[integration][lifecycle]") {
  ServerSettings settings;
  settings.set("limits.max_message_bytes", "65536");
  settings.setenv("SWITCHBOARD_LIMITS_MAX_MESSAGE_BYTES", "1024");
  TestServer srv(settings);
  auto c = srv.connect();
  c->send_text(R"({"t":"rpc","id":1,"m":"t.echo","p":[")" + std::string(2000, 'x') + R"("]})");
  auto closed = c->wait_closed();
  REQUIRE(closed.closed);
  INFO("transport error: " << closed.error.message());
  REQUIRE(closed.code.has_value());
  CHECK(*closed.code == 1009);
}

TEST_CASE("without a config file the server runs on the embedded defaults",
          "[integration][lifecycle]") {
  ServerProcess proc(test_server_spec({}, {{"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0"}}));
  proc.wait_listening(Millis(15000));
  WsClient c;
  auto up = c.connect("127.0.0.1", proc.port());
  INFO("status " << up.status << " error " << up.error << "\noutput:\n" << proc.output());
  REQUIRE(up.ok());
  CHECK(ok(c.rpc("t.echo", {"defaults"})) == json::parse(R"(["defaults"])"));
  proc.signal(SIGTERM);
  auto closed = c.wait_closed(kLongWait);
  CHECK(closed.closed);
  CHECK(closed.code == std::optional<uint16_t>(1001));
  auto status = proc.wait_exit(kLongWait);
  REQUIRE(status.has_value());
  CHECK(status->success());
}
