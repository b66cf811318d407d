// The host side of the C host table: routes a plugin instance's callbacks
// (deliver, log, report_state, count) to the core. One bridge per plugin instance; it
// must outlive the instance (destroyed after the plugin's destroy()).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "observe/metrics.hpp"
#include "switchboard/abi.h"

namespace switchboard::plugin {

class HostBridge {
 public:
  using DeliverFn = std::function<void(std::string_view)>;
  HostBridge(std::string component, observe::ComponentState* state, DeliverFn deliver);
  const switchboard_host* table() const { return &table_; }

 private:
  static void on_deliver(void* ctx, const uint8_t* data, size_t len);
  static void on_log(void* ctx, uint32_t level, const char* message);
  static void on_state(void* ctx, uint32_t state, const char* detail);
  static void on_count(void* ctx, const char* name, uint64_t delta);

  std::string component_;
  observe::ComponentState* state_;
  DeliverFn deliver_;
  switchboard_host table_;
};

}  // namespace switchboard::plugin
