#include "fixture.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

namespace switchboard::test {

namespace {

// Bounds for waits on the server process.
constexpr Millis kStartTimeout{15000};
constexpr Millis kPollInterval{50};
// How much server output to print when a test fails.
constexpr std::size_t kDumpBytes = 8000;

std::atomic<int> g_sequence{0};

std::string sanitize(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return s.substr(0, 120);
}

struct YamlNode {
  std::string value;  // leaf YAML text, when children is empty
  std::map<std::string, YamlNode> children;
};

void render(const YamlNode& node, int indent, std::ostringstream& out) {
  for (const auto& [key, child] : node.children) {
    out << std::string(static_cast<std::size_t>(indent), ' ') << key << ":";
    if (child.children.empty()) {
      out << " " << child.value << "\n";
    } else {
      out << "\n";
      render(child, indent + 2, out);
    }
  }
}

}  // namespace

ServerSettings::ServerSettings() {
  config["server.listen"] = "\"127.0.0.1:0\"";
  // Tests make many calls on one connection; only the rate-limit test limits them.
  config["limits.rpc_per_second"] = "1000000";
}

std::string to_yaml(const std::map<std::string, std::string>& config) {
  YamlNode root;
  for (const auto& [dotted, value] : config) {
    YamlNode* node = &root;
    std::size_t start = 0;
    for (;;) {
      auto dot = dotted.find('.', start);
      node = &node->children[dotted.substr(start, dot - start)];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    node->value = value;
  }
  std::ostringstream out;
  render(root, 0, out);
  return out.str();
}

std::string write_temp_file(std::string_view text, std::string_view suffix) {
  auto dir = std::filesystem::temp_directory_path();
  std::string path = (dir / "switchboard-test-XXXXXX").string() + std::string(suffix);
  int fd = mkstemps(path.data(), static_cast<int>(suffix.size()));
  if (fd < 0) throw std::runtime_error("mkstemps failed for " + path);
  std::size_t off = 0;
  while (off < text.size()) {
    auto n = write(fd, text.data() + off, text.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  close(fd);
  return path;
}

std::string next_log_path() {
  std::filesystem::path dir = SWITCHBOARD_TEST_LOG_DIR;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string name = sanitize(Catch::getResultCapture().getCurrentTestName());
  // One file per server of a test case (SECTION re-runs count on); a re-run of the
  // test overwrites its old logs instead of piling up new ones.
  return (dir / (name + "." + std::to_string(++g_sequence) + ".log")).string();
}

ProcessSpec test_server_spec(std::vector<std::string> args,
                             std::vector<std::pair<std::string, std::string>> env) {
  ProcessSpec spec;
  spec.binary = SWITCHBOARD_TEST_SERVER_BIN;
  spec.args = std::move(args);
  spec.env = std::move(env);
  spec.log_path = next_log_path();
  const char* echo = std::getenv("SWITCHBOARD_TEST_ECHO");
  spec.echo = echo && *echo && std::string_view(echo) != "0";
  return spec;
}

TestServer::TestServer(ServerSettings settings) {
  config_path_ = write_temp_file(to_yaml(settings.config));
  process_ = std::make_unique<ServerProcess>(
      test_server_spec({"--config", config_path_}, std::move(settings.env)));
  process_->wait_listening(kStartTimeout);
  if (process_->host() != "0.0.0.0" && process_->host() != "::") host_ = process_->host();
}

TestServer::~TestServer() {
  // On a failing test, show what the server said (the full log stays on disk).
  bool failing = std::uncaught_exceptions() > 0 || !Catch::getResultCapture().lastAssertionPassed();
  if (failing && process_) {
    std::string out = process_->output();
    if (out.size() > kDumpBytes) out = "…" + out.substr(out.size() - kDumpBytes);
    std::cerr << "---- server output (" << process_->spec().log_path << ") ----\n"
              << out << "\n---- end of server output ----\n";
  }
  process_.reset();
  std::error_code ec;
  std::filesystem::remove(config_path_, ec);
}

UpgradeResult TestServer::try_connect(WsClient& client, ConnectOptions opts) {
  return client.connect(host_, port(), opts);
}

std::unique_ptr<WsClient> TestServer::connect(ConnectOptions opts) {
  auto client = std::make_unique<WsClient>();
  auto result = client->connect(host_, port(), opts);
  INFO("upgrade status " << result.status << ", error: " << result.error);
  REQUIRE(result.ok());
  REQUIRE(!client->socket_id().empty());
  return client;
}

std::unique_ptr<WsClient> TestServer::connect_same_session(const WsClient& other) {
  REQUIRE(!other.session().empty());
  ConnectOptions opts;
  opts.session = other.session();
  auto client = connect(opts);
  // The server must keep a session it issued: no new cookie, or the same one.
  INFO("presented " << other.session() << ", server set " << client->upgrade().session);
  REQUIRE((client->upgrade().session.empty() || client->upgrade().session == other.session()));
  return client;
}

HttpResponse TestServer::get(std::string_view target, const Headers& headers) {
  return http_get(port(), target, headers, host_);
}

std::string TestServer::metrics() {
  auto res = get("/metrics");
  INFO("GET /metrics: " << res.error);
  REQUIRE(res.status == 200);
  return res.body;
}

std::string str(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

json::value ok(const json::object& reply) {
  INFO("reply: " << json::serialize(reply));
  REQUIRE(reply.contains("r"));
  REQUIRE(!reply.contains("err"));
  return reply.at("r");
}

std::string err_code(const json::object& reply) {
  INFO("reply: " << json::serialize(reply));
  REQUIRE(reply.contains("err"));
  REQUIRE(reply.at("err").is_object());
  const auto& err = reply.at("err").as_object();
  REQUIRE(err.contains("code"));
  REQUIRE(err.at("code").is_string());
  CHECK(err.contains("message"));
  return std::string(err.at("code").as_string());
}

json::value call(WsClient& c, std::string_view method, json::array args) {
  INFO("rpc " << method << " " << json::serialize(args));
  return ok(c.rpc(method, std::move(args)));
}

json::object expect_event(WsClient& c, std::string_view name) {
  INFO("waiting for event '" << name << "' on socket " << c.socket_id());
  auto ev = c.next_event();
  REQUIRE(ev.has_value());
  INFO("got " << json::serialize(*ev));
  REQUIRE(ev->contains("e"));
  REQUIRE(str(ev->at("e")) == name);
  REQUIRE(ev->contains("p"));
  REQUIRE(ev->at("p").is_array());
  return *ev;
}

void expect_quiet(WsClient& publisher, WsClient& who) {
  static std::atomic<int> counter{0};
  std::string tag = "sentinel-" + std::to_string(++counter);
  REQUIRE(!who.socket_id().empty());
  REQUIRE(call(publisher, "t.socket", {who.socket_id(), "sentinel", tag}) == json::value(true));
  INFO("expecting only the sentinel on socket " << who.socket_id());
  auto ev = who.next_event();
  REQUIRE(ev.has_value());
  INFO("got " << json::serialize(*ev));
  CHECK(str(ev->at("e")) == "sentinel");
  CHECK(ev->at("p") == json::value(json::array{tag}));
}

std::vector<std::string> sorted_strings(const json::value& v) {
  INFO("value: " << json::serialize(v));
  REQUIRE(v.is_array());
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) {
    REQUIRE(e.is_string());
    out.emplace_back(e.as_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

double metric_value(const std::string& text, std::string_view name) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;  // a longer name with this prefix
    // "name{labels} value [timestamp]"
    auto labels_end = next == '{' ? line.find('}', name.size()) : name.size() - 1;
    if (labels_end == std::string::npos) continue;
    std::istringstream fields(line.substr(labels_end + 1));
    double value = 0;
    if (fields >> value) {
      sum += value;
      found = true;
    }
  }
  return found ? sum : -1;
}

bool eventually(const std::function<bool()>& pred, Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace switchboard::test
