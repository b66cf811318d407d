#include "support/broker_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
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


// --- Kafka --------------------------------------------------------------------

namespace {

// How many fresh ports to try when the first pick was taken meanwhile (as
// ThrowawayServer does).
constexpr int kKafkaPortAttempts = 5;
// The first start formats the data dir (a JVM of its own) before the broker's
// JVM starts: 3-7 s each on a busy machine; broker_ctl.sh's own default is 60 s.
constexpr Millis kKafkaFirstStart{60000};
// What the bounded script may take beyond its own wait (bash, kcat -L, a JVM
// that exits slowly).
constexpr Millis kCtlSlack{15000};
// kcat's own bound on the broker's acknowledgement (librdkafka's default is 5
// minutes); below kToolTimeout so kcat says why instead of being killed.
constexpr const char* kKcatMessageTimeout = "message.timeout.ms=5000";

// Beside this file: tests/support/broker_ctl.sh ($BROKER_CTL overrides).
std::string broker_ctl_script() {
  if (const char* env = std::getenv("BROKER_CTL"); env && *env) return env;
  return (std::filesystem::path(__FILE__).parent_path() / "broker_ctl.sh").string();
}

// $KAFKA_CACHE when set (ctest sets it on the Kafka tests), else the build tree's
// kafka-cache beside bin/ (where ctest points it: integration_tests run by hand
// then shares the jars instead of fetching them into /tmp); empty: the script's
// default.
std::string kafka_cache() {
  if (const char* env = std::getenv("KAFKA_CACHE"); env && *env) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  auto cache = exe.parent_path().parent_path() / "kafka-cache";
  return std::filesystem::is_directory(cache, ec) ? cache.string() : std::string();
}

std::string kcat_binary() {
  if (const char* env = std::getenv("KCAT"); env && *env) return env;
  return "/usr/bin/kcat";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Whole seconds, rounded up, at least 1 (broker_ctl.sh's BROKER_WAIT).
std::string whole_seconds(Millis t) {
  return std::to_string(std::max<int64_t>(1, (t.count() + 999) / 1000));
}

// x.3.log -> x.3.redis.log (the companion's log beside the broker's).
std::string companion_log(const std::string& log_path) {
  if (log_path.empty()) return {};
  const std::string ext = ".log";
  const auto stem = log_path.size() - ext.size();
  if (log_path.size() > ext.size() && log_path.compare(stem, ext.size(), ext) == 0)
    return log_path.substr(0, stem) + ".redis.log";
  return log_path + ".redis";
}

std::string make_kafka_dir() {
  auto path = (std::filesystem::temp_directory_path() / "switchboard-kafka-XXXXXX").string();
  if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed for " + path);
  return path;
}

}  // namespace

KafkaBroker::KafkaBroker(std::string log_path)
    : store_(companion_log(log_path)), log_path_(std::move(log_path)), dir_(make_kafka_dir()) {
  std::string why;
  for (int attempt = 0; attempt < kKafkaPortAttempts; ++attempt) {
    port_ = free_loopback_port();
    auto run = ctl("start", kKafkaFirstStart);
    if (run.status && run.status->success()) return;
    why = "broker_ctl.sh kafka start " + std::to_string(port_) + ": " +
          (run.status ? run.status->describe() : std::string("did not finish")) + ": " + run.output;
    // Another program on the port: try a fresh one. Anything else (java, kcat
    // or the jars missing, a broker that does not come up) fails again.
    if (run.output.find("already in use") == std::string::npos) break;
  }
  ctl("kill", Millis(5000));
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  throw std::runtime_error("cannot start kafka: " + why);
}

KafkaBroker::~KafkaBroker() {
  ctl("kill", Millis(5000));  // SIGKILL works on a paused JVM too
  if (!log_path_.empty()) {
    std::ofstream(log_path_, std::ios::binary | std::ios::trunc) << output();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

RunResult KafkaBroker::ctl(const std::string& cmd, Millis wait) const {
  ProcessSpec spec;
  spec.binary = kBash;
  spec.args = {broker_ctl_script(), "kafka", cmd, std::to_string(port_), dir_};
  spec.env = {{"BROKER_WAIT", whole_seconds(wait)}};
  if (auto cache = kafka_cache(); !cache.empty()) spec.env.emplace_back("KAFKA_CACHE", cache);
  return run_process(spec, wait + kCtlSlack);
}

pid_t KafkaBroker::pid() const {
  // "running PID" (exit 0) or "stopped" (exit 3): the script checks that the
  // pidfile's process is this port's broker, not a reused pid.
  auto run = ctl("status", Millis(1000));
  if (!run.status || !run.status->success()) return -1;
  static const std::regex kRunning(R"(running ([0-9]+))");
  std::smatch m;
  return std::regex_search(run.output, m, kRunning) ? static_cast<pid_t>(std::stol(m[1].str())) : -1;
}

void KafkaBroker::start(Millis timeout) {
  // No-op when running (the script says so and exits 0).
  auto run = ctl("start", timeout);
  if (!run.status || !run.status->success())
    throw std::runtime_error("cannot restart kafka on port " + std::to_string(port_) + ": " +
                             (run.status ? run.status->describe() : std::string("did not finish")) + ": " +
                             run.output);
}

void KafkaBroker::kill9(Millis timeout) {
  auto run = ctl("kill", timeout);
  if (!run.status || !run.status->success())
    throw std::runtime_error("kafka on port " + std::to_string(port_) + " still running after SIGKILL: " +
                             run.output);
}

void KafkaBroker::stop(Millis timeout) {
  auto run = ctl("stop", timeout);
  if (!run.status || !run.status->success())
    throw std::runtime_error("kafka on port " + std::to_string(port_) + " survives SIGKILL: " + run.output);
}

void KafkaBroker::pause() {
  if (pid_t p = pid(); p > 0) ::kill(p, SIGSTOP);
}

void KafkaBroker::resume() {
  if (pid_t p = pid(); p > 0) ::kill(p, SIGCONT);
}

PublishResult KafkaBroker::publish(std::string_view bus, std::string_view payload) const {
  // kcat reads one record per line from stdin: a payload with a newline would
  // become several records.
  if (payload.find('\n') != std::string_view::npos)
    return {false, {}, "kcat sends one record per line: the payload holds a newline"};
  if (!std::filesystem::exists(kcat_binary()))
    return {false, {}, kcat_binary() + " is missing (apt-get install kcat)"};
  // Exactly the payload's bytes and one newline (printf, not echo: no escapes,
  // no options); kcat exits 0 once the broker acknowledged the record. kcat
  // skips an empty line (and an empty file, even with -Z): an empty payload goes
  // as the value of a keyed line ("-" TAB), which it does send; the plugin
  // ignores keys.
  ProcessSpec spec;
  spec.binary = kBash;
  spec.args = {"-c", R"sh(if [[ -z $4 ]]; then printf -- '-\t\n' | "$1" -P -q -K '\t' -b "$2" -X "$5" -t "$3"
else printf '%s\n' "$4" | "$1" -P -q -b "$2" -X "$5" -t "$3"; fi)sh",
               "kafka-pub", kcat_binary(), address(), std::string(bus), std::string(payload),
               kKcatMessageTimeout};
  return from_tool(run_process(spec, kToolTimeout), "kcat -P");
}

PublishResult KafkaBroker::publish_from_shell(std::string_view bus, std::string_view payload) const {
  // What an operator types (plugins/kafka/README.md "External producers").
  ProcessSpec spec;
  spec.binary = kBash;
  spec.args = {"-c", R"sh(echo "$3" | kcat -P -b "127.0.0.1:$1" -t "$2")sh", "kafka-pub-shell",
               std::to_string(port_), std::string(bus), std::string(payload)};
  return from_tool(run_process(spec, kToolTimeout), "echo | kcat -P");
}

std::vector<BrokerSetting> KafkaBroker::transport_settings() const {
  return {{"transport.use", "kafka"}, {"kafka.brokers", "[" + yaml_quoted(address()) + "]"}};
}

std::string KafkaBroker::output() const {
  return read_file(dir_ + "/kafka-" + std::to_string(port_) + ".log");
}

// --- kinds ----------------------------------------------------------------------

const std::vector<std::string>& broker_kinds() {
  static const std::vector<std::string> kinds{"redis", "nats", "kafka"};
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
      throw std::invalid_argument("unknown broker '" + kind + "' (known: redis, nats, kafka)");
    if (std::find(picked.begin(), picked.end(), kind) == picked.end()) picked.push_back(kind);
  }
  if (picked.empty())
    throw std::invalid_argument("no broker named (redis, nats, kafka, or a list: redis,nats)");
  selection() = std::move(picked);
}

std::unique_ptr<Broker> start_broker(std::string_view kind, std::string log_path) {
  if (kind == "redis") return std::make_unique<RedisBroker>(std::move(log_path));
  if (kind == "nats") return std::make_unique<NatsBroker>(std::move(log_path));
  if (kind == "kafka") return std::make_unique<KafkaBroker>(std::move(log_path));
  throw std::invalid_argument("unknown broker '" + std::string(kind) + "'");
}

}  // namespace switchboard::test
