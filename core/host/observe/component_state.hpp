// A plugin's reported state (report_state: STARTING / CONNECTED / RECONNECTING /
// FAILED / STOPPED, with a detail text) and its own event counters
// (Host::count). Written by the plugin's HostBridge from any plugin thread; read
// by the PluginHost (a publish is refused unless the transport is CONNECTED) and
// shown on /healthz and /metrics. The PluginHost owns one per plugin.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "switchboard/abi.h"
#include "sync/mutex.hpp"

namespace switchboard::observe {

struct ComponentState {
  std::string name;  // plugin name
  std::atomic<int> state{SWITCHBOARD_STATE_STARTING};
  mutable sync::Mutex mu;
  std::string detail SB_GUARDED_BY(mu);
  void set(int s, std::string d) {
    state = s;
    sync::Lock lock(mu);
    detail = std::move(d);
  }
  std::string get_detail() const {
    sync::Lock lock(mu);
    return detail;
  }
  // The plugin's own event counters (Host::count): at most kMaxEvents names of
  // 1 to 64 [a-z0-9_]; anything else is ignored (a plugin callback is untrusted).
  static constexpr size_t kMaxEvents = 32;
  void count(std::string_view event, uint64_t delta);
  std::map<std::string, uint64_t, std::less<>> get_events() const {
    sync::Lock lock(mu);
    return events;
  }

 private:
  std::map<std::string, uint64_t, std::less<>> events SB_GUARDED_BY(mu);
};

}  // namespace switchboard::observe
