// tests/integration/fixture.hpp — one real switchboard_test_server process per
// TestServer, plus the assertions the integration tests share.
//
// A TestServer writes its YAML config to a temp file, starts the server with
// `--config FILE`, waits for its listening line, and kills it on destruction. Its
// output goes to SWITCHBOARD_TEST_LOG_DIR/<test name>.<n>.log and, when a test
// fails, the tail is printed to stderr. Set SWITCHBOARD_TEST_ECHO=1 to see server
// output live.
//
// "Nothing else arrived" is proven without waiting for a timeout: expect_quiet()
// publishes a sentinel to the connection by socketId, after whatever must not
// arrive, and requires the sentinel to be the next event (the bus keeps order
// per publisher per connection, product.md §1).
#pragma once

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/http_client.hpp"
#include "support/raw_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace switchboard::test {

// Config for one server process.
struct ServerSettings {
  // Dotted key -> YAML text ("limits.max_message_bytes" -> "1024",
  // "server.allowed_origins" -> "[\"http://a.test\"]"). Starts with the test defaults.
  std::map<std::string, std::string> config;
  std::vector<std::pair<std::string, std::string>> env;

  ServerSettings();
  ServerSettings& set(const std::string& key, const std::string& yaml_value) {
    config[key] = yaml_value;
    return *this;
  }
  ServerSettings& unset(const std::string& key) {
    config.erase(key);
    return *this;
  }
  ServerSettings& setenv(const std::string& name, const std::string& value) {
    env.emplace_back(name, value);
    return *this;
  }
};

// Renders dotted keys as nested YAML maps.
std::string to_yaml(const std::map<std::string, std::string>& config);
// Writes text to a fresh temp file and returns its path.
std::string write_temp_file(std::string_view text, std::string_view suffix = ".yaml");
// SWITCHBOARD_TEST_LOG_DIR/<current test name>.<n>.log (n counts servers in this process)
std::string next_log_path();
// Starts the test server binary with a spec (args, env), output logged.
ProcessSpec test_server_spec(std::vector<std::string> args,
                             std::vector<std::pair<std::string, std::string>> env = {});

class TestServer {
 public:
  explicit TestServer(ServerSettings settings = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return process_->port(); }
  const std::string& host() const { return host_; }
  ServerProcess& process() { return *process_; }
  const std::string& config_path() const { return config_path_; }

  // A connected client that has received its ready frame (REQUIREd).
  std::unique_ptr<WsClient> connect(ConnectOptions opts = {});
  // Another connection (tab) of the same session as `other`.
  std::unique_ptr<WsClient> connect_same_session(const WsClient& other);
  // A connection attempt whose outcome the test inspects itself.
  UpgradeResult try_connect(WsClient& client, ConnectOptions opts = {});

  HttpResponse get(std::string_view target, const Headers& headers = {});
  std::string metrics();

 private:
  std::string host_ = "127.0.0.1";
  std::string config_path_;
  std::unique_ptr<ServerProcess> process_;
};

// --- assertions -------------------------------------------------------------

std::string str(const json::value& v);
// The result of a successful reply; FAILs (showing the error) otherwise.
json::value ok(const json::object& reply);
// The error code of a failed reply; FAILs if it succeeded.
std::string err_code(const json::object& reply);
// rpc + ok.
json::value call(WsClient& c, std::string_view method, json::array args = {});
// The next event, REQUIRE-d to exist and be named `name`.
json::object expect_event(WsClient& c, std::string_view name);
// Proves that `who` has no event queued or in flight from `publisher`'s earlier
// publishes: publishes a sentinel to who's socketId and requires it to be next.
void expect_quiet(WsClient& publisher, WsClient& who);
// A JSON array of strings, sorted (channel lists compare as sets).
std::vector<std::string> sorted_strings(const json::value& v);
// Sum of the samples of a Prometheus metric (any labels); -1 if absent.
double metric_value(const std::string& text, std::string_view name);
// Polls pred (bounded) for state that no event announces, e.g. a counter.
bool eventually(const std::function<bool()>& pred, Millis timeout = kDefaultTimeout);

}  // namespace switchboard::test
