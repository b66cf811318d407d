// switchboard/host.hpp — a plugin's view of the host: the only calls a plugin
// makes into the server. A thin, copyable wrapper over switchboard_host; every
// method may be called from any plugin thread until stop() returns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "switchboard/abi.h"

namespace switchboard {

class Host {
 public:
  explicit Host(const switchboard_host* host) : host_(host) {}

  // One message from the bus. Copies the bytes; returns at once. Per bus topic,
  // call from one thread at a time in broker order.
  void deliver(std::string_view bytes) const {
    static const uint8_t kEmpty = 0;  // never pass a null pointer, even for 0 bytes
    host_->deliver(host_->ctx,
                   bytes.empty() ? &kEmpty : reinterpret_cast<const uint8_t*>(bytes.data()),
                   bytes.size());
  }
  void log(switchboard_log_level level, const std::string& message) const {
    host_->log(host_->ctx, level, message.c_str());
  }
  void report_state(switchboard_state state, const std::string& detail = {}) const {
    host_->report_state(host_->ctx, state, detail.c_str());
  }
  // Adds delta to the event counter `name` ([a-z0-9_], 1 to 64 characters) in
  // /metrics (switchboard_plugin_events_total). A host older than ABI 1.2 has no
  // counters: then nothing happens.
  void count(const std::string& name, uint64_t delta = 1) const {
    if (host_->struct_size > SWITCHBOARD_HOST_SIZE_V1_1 && host_->count) host_->count(host_->ctx, name.c_str(), delta);
  }

 private:
  const switchboard_host* host_;  // owned by the host; valid until destroy
};

}  // namespace switchboard
