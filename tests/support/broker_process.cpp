#include "support/broker_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <stdexcept>

#include "support/http_client.hpp"
#include "support/raw_client.hpp"

namespace switchboard::test {

using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kRedisCli = "/usr/bin/redis-cli";
constexpr const char* kBash = "/bin/bash";
// A shell publisher or a monitoring request that takes longer is broken.
constexpr Millis kToolTimeout{10000};
constexpr Millis kMonitorTimeout{3000};

// A YAML double-quoted scalar (JSON string syntax is valid YAML).
std::string yaml_quoted(std::string_view s) { return json::serialize(json::value(s)); }

// $NATS_SERVER, else nats-server on PATH, else Debian's location.
std::string nats_binary() {
  if (const char* env = std::getenv("NATS_SERVER"); env && *env) return env;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (!rest.empty()) {
      auto colon = rest.find(':');
      std::filesystem::path candidate = std::filesystem::path(rest.substr(0, colon)) / "nats-server";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  return "/usr/sbin/nats-server";
}

// The first line a NATS server sends on a new connection is "INFO {...}": it
// comes once the server is accepting clients (JetStream is enabled before that).
bool nats_says_hello(uint16_t port, Millis timeout, std::string& why) {
  RawClient c;
  if (!c.connect("127.0.0.1", port, timeout)) {
    why = "connect to 127.0.0.1:" + std::to_string(port) + " failed";
    return false;
  }
  if (!c.read_until("\r\n", timeout)) {
    why = "no line from 127.0.0.1:" + std::to_string(port) + " within " +
          std::to_string(timeout.count()) + " ms";
    return false;
  }
  if (c.pending().rfind("INFO ", 0) != 0) {
    why = "first line is not INFO: " + c.pending().substr(0, 200);
    return false;
  }
  return true;
}

PublishResult from_tool(const RunResult& run, const std::string& tool) {
  PublishResult r;
  r.detail = tool + ": " + (run.status ? run.status->describe() : std::string("did not finish")) +
             ", output: " + run.output;
  r.accepted = run.status && run.status->success();
  return r;
}

}  // namespace

std::string PublishResult::describe() const {
  std::string out = accepted ? "accepted" : "not accepted";
  if (receivers) out += ", " + std::to_string(*receivers) + " receivers";
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

// --- Redis --------------------------------------------------------------------

PublishResult RedisBroker::publish(std::string_view bus, std::string_view payload) const {
  auto reply = redis_.command({"PUBLISH", std::string(bus), std::string(payload)});
  PublishResult r;
  r.accepted = reply.is_integer();
  if (r.accepted) r.receivers = reply.integer;
  r.detail = reply.describe();
  return r;
}

PublishResult RedisBroker::publish_from_shell(std::string_view bus, std::string_view payload) const {
  ProcessSpec spec;
  spec.binary = kRedisCli;
  spec.args = {"-p", std::to_string(port()), "PUBLISH", std::string(bus), std::string(payload)};
  if (!std::filesystem::exists(spec.binary))
    return {false, {}, std::string(kRedisCli) + " is missing (apt-get install redis-tools)"};
  auto run = run_process(spec, kToolTimeout);
  PublishResult r = from_tool(run, "redis-cli");
  // The reply is the number of subscribers that got the message.
  static const std::regex kCount(R"(^\s*(\(integer\) )?([0-9]+)\s*$)");
  std::smatch m;
  if (r.accepted && std::regex_search(run.output, m, kCount))
    r.receivers = std::stoll(m[2].str());
  else
    r.accepted = false;
  return r;
}

std::vector<BrokerSetting> RedisBroker::transport_settings() const {
  return {{"transport.use", "redis"}, {"redis.url", yaml_quoted(redis_.url())}};
}

std::vector<BrokerSetting> RedisBroker::store_settings() const {
  return {{"session.store", "redis"}, {"redis.url", yaml_quoted(redis_.url())}};
}

// --- NATS ---------------------------------------------------------------------

PublishResult nats_publish(uint16_t port, std::string_view subject, std::string_view payload,
                           Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  auto left = [&] {
    return std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
  };
  PublishResult r;
  RawClient c;
  if (!c.connect("127.0.0.1", port, left())) {
    r.detail = "connect to 127.0.0.1:" + std::to_string(port) + " failed";
    return r;
  }
  // The server speaks first; a client that writes before INFO may be cut off.
  if (!c.read_until("\r\n", left())) {
    r.detail = "no INFO line within " + std::to_string(timeout.count()) + " ms";
    return r;
  }
  std::string request = "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"test-publisher\"}\r\n";
  request += "PUB " + std::string(subject) + " " + std::to_string(payload.size()) + "\r\n";
  request += payload;
  request += "\r\nPING\r\n";
  if (!c.send(request, left())) {
    r.detail = "send failed";
    return r;
  }
  // The server handles a connection's input in order: its PONG comes after the
  // PUB was processed (routed to every subscriber). A rejected PUB gets an -ERR
  // first (and, for most errors, the connection closed: read_until then ends).
  bool pong = c.read_until("PONG\r\n", left());
  auto err = c.pending().find("-ERR");
  if (err != std::string::npos) {
    r.detail = c.pending().substr(err, c.pending().find("\r\n", err) - err);
    return r;
  }
  r.accepted = pong;
  r.detail = pong ? "PONG" : "no PONG within " + std::to_string(timeout.count()) + " ms";
  return r;
}

NatsBroker::NatsBroker(std::string log_path)
    : monitor_port_(free_loopback_port()),
      server_(ThrowawayServer::Kind{
                  "nats-server", nats_binary(), "apt-get install nats-server, or set NATS_SERVER",
                  [monitor = monitor_port_](uint16_t port, const std::string& dir) {
                    return std::vector<std::string>{"-a", "127.0.0.1", "-p", std::to_string(port), "-m",
                                                    std::to_string(monitor), "-js", "-sd", dir};
                  },
                  [](uint16_t port, std::string& last) { return nats_says_hello(port, Millis(1000), last); },
                  "Server is ready"},
              std::move(log_path)) {}

std::string NatsBroker::url() const { return "nats://127.0.0.1:" + std::to_string(port()); }

PublishResult NatsBroker::publish(std::string_view bus, std::string_view payload) const {
  return nats_publish(port(), bus, payload);
}

PublishResult NatsBroker::publish_from_shell(std::string_view bus, std::string_view payload) const {
  // The text protocol from bash alone (docs: "an external system" without a
  // client library). The PING/PONG makes the exit status mean "processed".
  static const char* kScript = R"sh(exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
IFS= read -r -t 5 info <&3 || exit 1
printf 'CONNECT {"verbose":false}\r\nPUB %s %d\r\n%s\r\nPING\r\n' "$2" "$(printf %s "$3" | LC_ALL=C wc -c)" "$3" >&3
while IFS= read -r -t 5 line <&3; do
  case $line in PONG*) echo PONG; exit 0 ;; -ERR*) echo "$line"; exit 1 ;; esac
done
echo "no PONG"; exit 1)sh";
  ProcessSpec spec;
  spec.binary = kBash;
  spec.args = {"-c", kScript, "nats-pub", std::to_string(port()), std::string(bus), std::string(payload)};
  return from_tool(run_process(spec, kToolTimeout), "bash /dev/tcp");
}

int64_t NatsBroker::subscribers(std::string_view bus) const {
  // /connz lists client connections (not routes or JetStream internals) with
  // their subscriptions: count those holding exactly `bus`.
  auto res = http_get(monitor_port_, "/connz?subs=1&limit=100000", {}, "127.0.0.1", kMonitorTimeout);
  if (res.status != 200) return -1;
  boost::system::error_code ec;
  auto doc = json::parse(res.body, ec);
  if (ec || !doc.is_object()) return -1;
  const auto* conns = doc.as_object().if_contains("connections");
  if (!conns || !conns->is_array()) return -1;
  int64_t n = 0;
  for (const auto& c : conns->as_array()) {
    const auto* subs = c.is_object() ? c.as_object().if_contains("subscriptions_list") : nullptr;
    if (!subs || !subs->is_array()) continue;
    for (const auto& s : subs->as_array()) {
      if (s.is_string() && s.as_string() == bus) {
        ++n;
        break;
      }
    }
  }
  return n;
}

std::vector<BrokerSetting> NatsBroker::transport_settings() const {
  return {{"transport.use", "nats"}, {"nats.servers", "[" + yaml_quoted(url()) + "]"}};
}

std::vector<BrokerSetting> NatsBroker::store_settings() const {
  // File storage (the plugin's default, spelled out): the bucket survives a
  // broker kill -9, which keeps_sessions_across_restart() promises.
  return {{"session.store", "nats"},
          {"nats.servers", "[" + yaml_quoted(url()) + "]"},
          {"nats.storage", "file"}};
}


// --- kinds ----------------------------------------------------------------------

const std::vector<std::string>& broker_kinds() {
  static const std::vector<std::string> kinds{"redis", "nats"};
  return kinds;
}

namespace {
std::vector<std::string>& selection() {
  static std::vector<std::string> kinds = broker_kinds();
  return kinds;
}
}  // namespace

const std::vector<std::string>& selected_broker_kinds() { return selection(); }

void select_broker_kinds(std::string_view list) {
  std::vector<std::string> picked;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string kind(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (kind.empty()) continue;
    const auto& known = broker_kinds();
    if (std::find(known.begin(), known.end(), kind) == known.end())
      throw std::invalid_argument("unknown broker '" + kind + "' (known: redis, nats)");
    if (std::find(picked.begin(), picked.end(), kind) == picked.end()) picked.push_back(kind);
  }
  if (picked.empty()) throw std::invalid_argument("no broker named (redis, nats or redis,nats)");
  selection() = std::move(picked);
}

std::unique_ptr<Broker> start_broker(std::string_view kind, std::string log_path) {
  if (kind == "redis") return std::make_unique<RedisBroker>(std::move(log_path));
  if (kind == "nats") return std::make_unique<NatsBroker>(std::move(log_path));
  throw std::invalid_argument("unknown broker '" + std::string(kind) + "'");
}

}  // namespace switchboard::test
