// The `broken` plugin: deliberately faulty, to prove the conformance kit catches
// faults. mode=lossy: the transport silently drops every 10th message it accepted.
// mode=hang: the store never completes add_channels. Built with the public SDK.
#include <map>
#include <mutex>

#include "../plugins/loopback.hpp"
#include "switchboard/plugin.hpp"

namespace {
using switchboard::Status;
using switchboard::StatusCode;

class LossyTransport final : public switchboard::Transport {
 public:
  LossyTransport(const switchboard::PluginConfig& c, switchboard::Host host)
      : host_(host), loop_(host), lossy_(c.get_string("mode") == "lossy") {}
  Status start() override {
    loop_.start();
    host_.report_state(SWITCHBOARD_STATE_CONNECTED);
    return {};
  }
  Status publish(std::string_view bytes) override {
    if (lossy_ && ++published_ % 10 == 0) return {};  // the fault: "OK", then lost
    if (!loop_.push(bytes)) return {StatusCode::kUnavailable, "stopped"};
    return {};
  }
  void stop() override {
    if (loop_.stop()) host_.report_state(SWITCHBOARD_STATE_STOPPED);
  }

 private:
  switchboard::Host host_;
  test_plugins::Loopback loop_;
  bool lossy_;
  uint64_t published_ = 0;  // control thread only
};

class HangingStore final : public switchboard::SessionStore {
 public:
  HangingStore(const switchboard::PluginConfig& c, switchboard::Host host)
      : host_(host), hang_(c.get_string("mode") == "hang") {}
  Status start() override {
    host_.report_state(SWITCHBOARD_STATE_CONNECTED);
    return {};
  }
  void stop() override {}
  void create_session(std::string_view id, int64_t, switchboard::StoreCallback done) override {
    auto& r = records_[std::string(id)];
    r = {};
    done({}, &r);
  }
  void load(std::string_view id, int64_t, switchboard::StoreCallback done) override {
    auto it = records_.find(std::string(id));
    if (it == records_.end()) return done({StatusCode::kNotFound, "no such session"}, nullptr);
    done({}, &it->second);
  }
  void add_channels(std::string_view id, const std::vector<std::string>& names, uint32_t,
                    int64_t, switchboard::StoreCallback done) override {
    if (hang_) return;  // the fault: the completion never comes
    auto it = records_.find(std::string(id));
    if (it == records_.end()) return done({StatusCode::kNotFound, "no such session"}, nullptr);
    for (const auto& n : names) it->second.channels.push_back(n);
    done({}, &it->second);
  }
  void remove_channels(std::string_view, const std::vector<std::string>&, int64_t,
                       switchboard::StoreCallback done) override { unsupported(done); }
  void clear_channels(std::string_view, int64_t, switchboard::StoreCallback done) override { unsupported(done); }
  void set_user(std::string_view, const std::optional<std::string>&, int64_t,
                switchboard::StoreCallback done) override { unsupported(done); }
  void set_data(std::string_view, std::string_view, const std::optional<std::string>&, int64_t,
                switchboard::StoreCallback done) override { unsupported(done); }
  void remove(std::string_view, switchboard::StoreCallback done) override { unsupported(done); }

 private:
  static void unsupported(const switchboard::StoreCallback& done) {
    done({StatusCode::kError, "broken plugin: not implemented"}, nullptr);
  }
  switchboard::Host host_;
  bool hang_;
  std::map<std::string, switchboard::SessionRecord> records_;  // control thread only
};

const switchboard::ConfigKey kKeys[] = {
    {"mode", SWITCHBOARD_CONFIG_STRING, "lossy", "lossy (transport drops every 10th) or hang (store)."}};
}  // namespace

SWITCHBOARD_PLUGIN("broken", "0.0.1", kKeys, LossyTransport, HangingStore)
