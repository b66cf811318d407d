// The `fault` plugin: a transport and a session store that fail on demand, so the
// integration tests can show what users see when a broker or store misbehaves
// (health 503, RPC errors, refused handshakes). Built with the public SDK only.
//
//   fault: { state: failed, refuse_publish: true, store_fail: writes, publish_delay: 20ms,
//            deliver_inline: true }
#include <map>
#include <mutex>
#include <thread>

#include "../loopback.hpp"
#include "switchboard/plugin.hpp"

namespace {
using switchboard::Status;
using switchboard::StatusCode;

switchboard_state parse_state(const std::string& s) {
  if (s == "connected") return SWITCHBOARD_STATE_CONNECTED;
  if (s == "reconnecting") return SWITCHBOARD_STATE_RECONNECTING;
  if (s == "failed") return SWITCHBOARD_STATE_FAILED;
  throw std::invalid_argument("fault.state must be connected, reconnecting or failed");
}

// Loops every publish back to this instance from its own thread.
class FaultTransport final : public switchboard::Transport {
 public:
  FaultTransport(const switchboard::PluginConfig& c, switchboard::Host host)
      : host_(host), loop_(host), state_(parse_state(c.get_string("state"))),
        refuse_(c.get_bool("refuse_publish")), inline_(c.get_bool("deliver_inline")), delay_(c.get_duration_in("publish_delay", std::chrono::milliseconds(0), std::chrono::milliseconds(10000))) {}

  Status start() override {
    loop_.start();
    host_.report_state(state_, "fault plugin");
    return {};
  }
  Status publish(std::string_view bytes) override {
    // A plugin that blocks its caller: the host's control thread falls behind.
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    if (refuse_) return {StatusCode::kUnavailable, "fault: publishing refused"};
    // A plugin breaking threading.md rule 4: its self-echo from inside publish().
    if (inline_) {
      host_.deliver(bytes);
      return {};
    }
    if (!loop_.push(bytes)) return {StatusCode::kUnavailable, "stopped"};
    return {};
  }
  void stop() override { loop_.stop(); }

 private:
  switchboard::Host host_;
  test_plugins::Loopback loop_;
  switchboard_state state_;
  bool refuse_;
  bool inline_;
  std::chrono::milliseconds delay_;
};

// A plain map store whose writes (or everything) fail with UNAVAILABLE.
class FaultStore final : public switchboard::SessionStore {
 public:
  FaultStore(const switchboard::PluginConfig& c, switchboard::Host host) : host_(host) {
    const auto& f = c.get_string("store_fail");
    if (f != "none" && f != "writes" && f != "all")
      throw std::invalid_argument("fault.store_fail must be none, writes or all");
    fail_all_ = f == "all";
    fail_writes_ = f != "none";
  }
  Status start() override {
    host_.report_state(fail_all_ ? SWITCHBOARD_STATE_FAILED : SWITCHBOARD_STATE_CONNECTED, "fault plugin");
    return {};
  }
  void stop() override {}

  void create_session(std::string_view id, int64_t, switchboard::StoreCallback done) override {
    if (fail_all_) return unavailable(done);
    records_[std::string(id)] = {};
    done({}, &records_[std::string(id)]);
  }
  void load(std::string_view id, int64_t, switchboard::StoreCallback done) override {
    if (fail_all_) return unavailable(done);
    auto it = records_.find(std::string(id));
    if (it == records_.end()) return done({StatusCode::kNotFound, "no such session"}, nullptr);
    done({}, &it->second);
  }
  void add_channels(std::string_view, const std::vector<std::string>&, uint32_t, int64_t,
                    switchboard::StoreCallback done) override { write(done); }
  void remove_channels(std::string_view, const std::vector<std::string>&, int64_t,
                       switchboard::StoreCallback done) override { write(done); }
  void clear_channels(std::string_view, int64_t, switchboard::StoreCallback done) override { write(done); }
  void set_user(std::string_view, const std::optional<std::string>&, int64_t,
                switchboard::StoreCallback done) override { write(done); }
  void set_data(std::string_view, std::string_view, const std::optional<std::string>&, int64_t,
                switchboard::StoreCallback done) override { write(done); }
  void remove(std::string_view, switchboard::StoreCallback done) override { write(done); }

 private:
  static void unavailable(const switchboard::StoreCallback& done) {
    done({StatusCode::kUnavailable, "fault: store unavailable"}, nullptr);
  }
  void write(const switchboard::StoreCallback& done) {
    if (fail_writes_) return unavailable(done);
    done({StatusCode::kError, "fault: writes are not implemented"}, nullptr);
  }

  switchboard::Host host_;
  bool fail_all_ = false;
  bool fail_writes_ = false;
  std::map<std::string, switchboard::SessionRecord> records_;  // control thread only
};

const switchboard::ConfigKey kKeys[] = {
    {"state", SWITCHBOARD_CONFIG_STRING, "connected",
     "State the transport reports: connected, reconnecting or failed."},
    {"refuse_publish", SWITCHBOARD_CONFIG_BOOL, "false", "Answer every publish with UNAVAILABLE."},
    {"publish_delay", SWITCHBOARD_CONFIG_DURATION, "0ms", "Block every publish call this long."},
    {"deliver_inline", SWITCHBOARD_CONFIG_BOOL, "false",
     "Deliver the self-echo from inside publish() (breaks threading.md rule 4)."},
    {"store_fail", SWITCHBOARD_CONFIG_STRING, "none",
     "none; writes (loads work, changes fail); all (every store call fails)."},
};
}  // namespace

SWITCHBOARD_PLUGIN("fault", "0.1.0", kKeys, FaultTransport, FaultStore)
