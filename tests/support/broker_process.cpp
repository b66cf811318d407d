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
// How many fresh port pairs to try when a pick was taken meanwhile.
constexpr int kPortAttempts = 5;
// A shell publisher or a monitoring request that takes longer is broken.
constexpr Millis kToolTimeout{10000};
constexpr Millis kMonitorTimeout{3000};

// A YAML double-quoted scalar (JSON string syntax is valid YAML).
std::string yaml_quoted(std::string_view s) { return json::serialize(json::value(s)); }

std::string make_temp_dir(const char* prefix) {
  auto base = std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX");
  std::string path = base.string();
  if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed for " + path);
  return path;
}

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
    : dir_(make_temp_dir("switchboard-nats")), log_path_(std::move(log_path)) {
  std::string why;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    port_ = free_loopback_port();
    do monitor_port_ = free_loopback_port();
    while (monitor_port_ == port_);
    if (launch(Millis(15000), why)) return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  throw std::runtime_error("cannot start nats-server: " + why);
}

NatsBroker::~NatsBroker() {
  if (process_) {
    process_->signal(SIGKILL);
    process_->wait_exit(Millis(5000));
    process_.reset();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string NatsBroker::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

pid_t NatsBroker::pid() const { return process_ ? process_->pid() : -1; }

bool NatsBroker::running() { return process_ && process_->running(); }

bool NatsBroker::launch(Millis timeout, std::string& why) {
  if (process_) {
    past_output_ += process_->output();
    process_.reset();
  }
  ProcessSpec spec;
  spec.binary = nats_binary();
  spec.args = {"-a", "127.0.0.1", "-p", std::to_string(port_), "-m", std::to_string(monitor_port_),
               "-js", "-sd", dir_};
  if (!log_path_.empty())
    spec.log_path = ++starts_ == 1 ? log_path_ : log_path_ + "." + std::to_string(starts_);
  try {
    process_ = std::make_unique<ServerProcess>(std::move(spec));
  } catch (const std::exception& e) {
    why = std::string(e.what()) + " (apt-get install nats-server, or set NATS_SERVER)";
    return false;
  }
  static const std::regex kReady("Server is ready");
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string not_yet;
    if (nats_says_hello(port_, Millis(1000), not_yet)) return true;
    if (!process_->running()) {
      why = "nats-server on port " + std::to_string(port_) + " exited (" +
            process_->wait_exit(Millis(0))->describe() + "): " + process_->output();
      past_output_ += process_->output();
      process_.reset();
      return false;
    }
    if (Clock::now() >= deadline) {
      why = "nats-server on port " + std::to_string(port_) + " sent no INFO line within " +
            std::to_string(timeout.count()) + " ms (last: " + not_yet + "): " + process_->output();
      process_->signal(SIGKILL);
      process_->wait_exit(Millis(5000));
      past_output_ += process_->output();
      process_.reset();
      return false;
    }
    // Wakes early when the ready line appears; otherwise a bounded pause between tries.
    process_->wait_output(kReady, Millis(50));
  }
}

void NatsBroker::start(Millis timeout) {
  if (running()) return;
  std::string why;
  if (!launch(timeout, why)) throw std::runtime_error("cannot restart nats-server: " + why);
}

void NatsBroker::kill9(Millis timeout) {
  if (!process_) return;
  process_->signal(SIGKILL);
  if (!process_->wait_exit(timeout))
    throw std::runtime_error("nats-server (pid " + std::to_string(process_->pid()) +
                             ") still running after SIGKILL");
  process_->wait_output_closed(Millis(2000));
  past_output_ += process_->output();
  process_.reset();
}

void NatsBroker::stop(Millis timeout) {
  if (!process_) return;
  process_->signal(SIGTERM);
  if (!process_->wait_exit(timeout)) {
    process_->signal(SIGKILL);
    if (!process_->wait_exit(Millis(5000)))
      throw std::runtime_error("nats-server (pid " + std::to_string(process_->pid()) + ") survives SIGKILL");
  }
  process_->wait_output_closed(Millis(2000));
  past_output_ += process_->output();
  process_.reset();
}

void NatsBroker::pause() {
  if (process_) process_->signal(SIGSTOP);
}

void NatsBroker::resume() {
  if (process_) process_->signal(SIGCONT);
}

PublishResult NatsBroker::publish(std::string_view bus, std::string_view payload) const {
  return nats_publish(port_, bus, payload);
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
  spec.args = {"-c", kScript, "nats-pub", std::to_string(port_), std::string(bus), std::string(payload)};
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

std::string NatsBroker::output() const {
  return past_output_ + (process_ ? process_->output() : std::string());
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
