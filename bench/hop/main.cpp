// switchboard-bench-hop — the broker hop alone: two transport instances in one
// process (as two servers would hold them), each behind the core's own plugin
// host (control thread, host bridge), one publishing at a fixed rate, both
// receiving. A message's latency is from the moment the core hands it to the
// host (PluginHost::publish, as a server does for app.publish()) to the moment
// the plugin delivers it into the receiving host's deliver callback: the
// control-thread post, the plugin, the broker and the plugin's receive path,
// with no WebSocket fan-out and no load generator in the figure. A warm-up
// (--warmup seconds, 1 by default, at --warmup-rate, by default the first rate)
// runs first and is not reported: a JVM broker (Kafka) just started is still
// compiling its hot paths, which a long-running deployment's broker is not.
//
//   export SWITCHBOARD_TRANSPORT_USE=nats SWITCHBOARD_NATS_SERVERS=nats://127.0.0.1:4222
//   switchboard-bench-hop --rates 100,1000,10000 --seconds 5
//
// The transport and its settings come from the config (--config FILE, or the
// embedded default: the memory transport) and SWITCHBOARD_* variables, exactly
// as for `switchboard serve`. Prints one line per step and a `RESULT {json}`
// line that bench/harness.py reads.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "../loadgen/histogram.hpp"
#include "observe/metrics.hpp"
#include "plugin/plugin_host.hpp"
#include "switchboard/config.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace json = boost::json;
using switchboard::bench::Histogram;

constexpr char kMagic[4] = {'h', 'o', 'p', '1'};

struct Header {
  char magic[4];
  uint32_t step;
  uint64_t seq;
  int64_t sent_ns;  // Clock, this process
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// What one receiving host saw of the current step. deliver() runs on the
// plugin's thread; the publisher reads between steps; a mutex keeps both honest.
class Receiver {
 public:
  void begin(uint32_t step, uint64_t expected) {
    std::lock_guard lock(mu_);
    step_ = step;
    seen_.assign(expected, 0);
    hist_ = Histogram();
    received_ = duplicates_ = foreign_ = 0;
  }
  void deliver(std::string_view bytes) {
    const int64_t now = now_ns();
    Header h;
    std::lock_guard lock(mu_);
    if (bytes.size() < sizeof h || std::memcmp(bytes.data(), kMagic, 4) != 0) {
      ++foreign_;
      return;
    }
    std::memcpy(&h, bytes.data(), sizeof h);
    if (h.step != step_ || h.seq >= seen_.size()) return;  // a late one from an earlier step
    if (seen_[h.seq]++) {
      ++duplicates_;
      return;
    }
    ++received_;
    hist_.record(static_cast<uint64_t>(std::max<int64_t>(0, now - h.sent_ns) / 1000));
  }
  uint64_t received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  json::object report() {
    std::lock_guard lock(mu_);
    json::object o;
    o["received"] = received_;
    o["duplicates"] = duplicates_;
    o["foreign"] = foreign_;
    o["p50_us"] = hist_.percentile(0.50);
    o["p99_us"] = hist_.percentile(0.99);
    o["p999_us"] = hist_.percentile(0.999);
    o["max_us"] = hist_.max();
    return o;
  }

 private:
  std::mutex mu_;
  uint32_t step_ = 0;
  std::vector<uint8_t> seen_;
  Histogram hist_;
  uint64_t received_ = 0, duplicates_ = 0, foreign_ = 0;
};

struct Options {
  std::vector<double> rates = {100, 1000, 10000};
  double seconds = 5;
  double warmup = 1;
  double warmup_rate = 0;  // set from the first of rates unless given
  size_t size = 100;
};

double parse_rate(const std::string& s) {
  double mult = 1;
  std::string num = s;
  if (!s.empty() && (s.back() == 'k' || s.back() == 'M')) {
    mult = s.back() == 'k' ? 1e3 : 1e6;
    num.pop_back();
  }
  return std::stod(num) * mult;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--rates") {
      o.rates.clear();
      std::string list = value();
      for (size_t p = 0; p <= list.size();) {
        size_t c = list.find(',', p);
        if (c == std::string::npos) c = list.size();
        if (c > p) o.rates.push_back(parse_rate(list.substr(p, c - p)));
        p = c + 1;
      }
    } else if (a == "--seconds") {
      o.seconds = std::stod(value());
    } else if (a == "--warmup") {
      o.warmup = std::stod(value());
    } else if (a == "--warmup-rate") {
      o.warmup_rate = parse_rate(value());
      if (!(o.warmup_rate > 0)) throw std::runtime_error("--warmup-rate must be above 0");
    } else if (a == "--size") {
      o.size = std::max<size_t>(sizeof(Header), std::stoul(value()));
    } else if (a == "--config" || a == "-c") {
      ++i;  // read by Config::load
    } else if (a == "--help") {
      std::puts("switchboard-bench-hop [--config FILE] [--rates 100,1k,10k] [--seconds 5] [--warmup 1] [--warmup-rate R] [--size 100]");
      std::exit(0);
    } else if (a.rfind("--config=", 0) != 0) {
      throw std::runtime_error("unknown argument " + a);
    }
  }
  if (o.rates.empty()) throw std::runtime_error("--rates names no rate");
  if (o.warmup_rate == 0) o.warmup_rate = o.rates[0];
  return o;
}

bool wait_connected(const switchboard::plugin::PluginHost& h, std::chrono::seconds limit) {
  auto until = Clock::now() + limit;
  while (h.transport_state().state.load() != SWITCHBOARD_STATE_CONNECTED) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options opt = parse(argc, argv);
    auto config = switchboard::Config::load(argc, argv);
    std::vector<std::string> dirs;
    auto settings = switchboard::plugin::load_settings(config, dirs);
    const std::string transport = settings.transport.use;

    Receiver other, self;
    switchboard::observe::Metrics ma, mb;
    switchboard::plugin::PluginHost a(settings, dirs, ma, [&](std::string_view b) { self.deliver(b); });
    switchboard::plugin::PluginHost b(settings, dirs, mb, [&](std::string_view b) { other.deliver(b); });
    a.start();
    b.start();
    if (!wait_connected(a, std::chrono::seconds(10)) || !wait_connected(b, std::chrono::seconds(10)))
      throw std::runtime_error("the " + transport + " transport did not report connected within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both subscribed

    json::array steps;
    std::string payload(opt.size, 'x');
    // Step 0, not reported: --warmup seconds at --warmup-rate (a broker's first
    // messages on a new topic wait for its metadata, a JVM's for its compiler:
    // not the steady-state hop).
    for (size_t si = opt.warmup > 0 ? 0 : 1; si <= opt.rates.size(); ++si) {
      const bool warm = si == 0;
      const double rate = warm ? opt.warmup_rate : opt.rates[si - 1];
      const auto total = static_cast<uint64_t>(rate * (warm ? opt.warmup : opt.seconds));
      const auto step = static_cast<uint32_t>(si + 1);
      other.begin(step, total);
      self.begin(step, total);
      uint64_t refused = 0;
      const auto start = Clock::now();
      for (uint64_t seq = 0; seq < total; ++seq) {
        // Pace: message seq is due at start + seq / rate.
        auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * static_cast<double>(seq) / rate));
        if (due > Clock::now()) std::this_thread::sleep_until(due);
        Header h{{kMagic[0], kMagic[1], kMagic[2], kMagic[3]}, step, seq, now_ns()};
        std::memcpy(payload.data(), &h, sizeof h);
        if (!a.publish(payload)) ++refused;
      }
      const double took = std::chrono::duration<double>(Clock::now() - start).count();
      // Drain: until everything arrived at both, or 2 s without progress.
      uint64_t last = 0;
      auto progress = Clock::now();
      while (other.received() < total || self.received() < total) {
        uint64_t now = other.received() + self.received();
        if (now != last) {
          last = now;
          progress = Clock::now();
        } else if (Clock::now() - progress > std::chrono::seconds(2)) {
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (warm) continue;
      json::object s;
      s["offered"] = rate;
      s["sent"] = total;
      s["sent_per_s"] = static_cast<double>(total) / took;
      s["refused"] = refused;
      s["other"] = other.report();
      s["self"] = self.report();
      auto line = [](const json::object& r) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "received %7llu  p50 %6llu us  p99 %6llu us  p99.9 %6llu us  max %7llu us",
                      static_cast<unsigned long long>(r.at("received").as_uint64()),
                      static_cast<unsigned long long>(r.at("p50_us").as_uint64()),
                      static_cast<unsigned long long>(r.at("p99_us").as_uint64()),
                      static_cast<unsigned long long>(r.at("p999_us").as_uint64()),
                      static_cast<unsigned long long>(r.at("max_us").as_uint64()));
        return std::string(buf);
      };
      std::printf("%-7s %8.0f msg/s  sent %7llu (refused %llu)\n  other instance: %s\n  own echo:       %s\n",
                  transport.c_str(), rate, static_cast<unsigned long long>(total),
                  static_cast<unsigned long long>(refused), line(s["other"].as_object()).c_str(),
                  line(s["self"].as_object()).c_str());
      std::fflush(stdout);
      steps.push_back(std::move(s));
    }
    b.stop();
    a.stop();
    json::object result;
    result["scenario"] = "hop";
    result["transport"] = transport;
    result["size"] = opt.size;
    result["seconds"] = opt.seconds;
    result["steps"] = std::move(steps);
    std::cout << "RESULT " << json::serialize(result) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "switchboard-bench-hop: " << e.what() << std::endl;
    return 1;
  }
}
