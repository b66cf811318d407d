// The host side of the C host table: routes a plugin instance's callbacks
// (deliver, log, report_state, count) to the core. One bridge per plugin instance; it
// must outlive the instance (destroyed after the plugin's destroy()).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "observe/component_state.hpp"
#include "switchboard/abi.h"

namespace switchboard::plugin {

class HostBridge {
 public:
  using DeliverFn = std::function<void(std::string_view)>;
  HostBridge(std::string component, observe::ComponentState* state, DeliverFn deliver);
  const switchboard_host* table() const { return &table_; }

  // Marks the current thread as inside a core → plugin call of this bridge's
  // instance (the proxies hold one around every transport call). threading.md
  // rule 4: a deliver() from inside such a call — on the calling thread, so the
  // plugin would have the core handle it before the call returns (an inline
  // self-echo, say) — is a violation, reported through the rule-violation
  // handler below. report_state and log may be called anywhere.
  class Call {
   public:
    explicit Call(const HostBridge& b) : previous_(calling_) { calling_ = &b; }
    ~Call() { calling_ = previous_; }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    const HostBridge* previous_;
  };

  // What a violation does. The default: debug builds (no NDEBUG) log and abort;
  // release builds log (at most once per 10 s) and go on (the delivery is posted
  // as always, never handled inline). Tests install their own; set before plugins start.
  using ViolationHandler = void (*)(const std::string& what);
  static void set_violation_handler(ViolationHandler h);

 private:
  static void on_deliver(void* ctx, const uint8_t* data, size_t len);
  static void on_log(void* ctx, uint32_t level, const char* message);
  static void on_state(void* ctx, uint32_t state, const char* detail);
  static void on_count(void* ctx, const char* name, uint64_t delta);

  static thread_local const HostBridge* calling_;

  std::string component_;
  observe::ComponentState* state_;
  DeliverFn deliver_;
  switchboard_host table_;
};

}  // namespace switchboard::plugin
