#include "plugin/host_bridge.hpp"

#include <atomic>
#include <cstdlib>

#include "observe/log.hpp"
#include "switchboard/status.hpp"

namespace switchboard::plugin {

thread_local const HostBridge* HostBridge::calling_ = nullptr;

namespace {
void default_violation(const std::string& what) {
#ifdef NDEBUG
  static observe::ThrottledLog log(std::chrono::seconds(10));
  log.warn("plugin", what);
#else
  observe::log_error("plugin", what + " (debug build: aborting)");
  std::abort();
#endif
}
std::atomic<HostBridge::ViolationHandler> violation_handler{&default_violation};
}  // namespace

void HostBridge::set_violation_handler(ViolationHandler h) {
  violation_handler = h ? h : &default_violation;
}

HostBridge::HostBridge(std::string component, observe::ComponentState* state, DeliverFn deliver)
    : component_(std::move(component)), state_(state), deliver_(std::move(deliver)) {
  table_ = {sizeof(switchboard_host), this, &on_deliver, &on_log, &on_state, &on_count};
}

void HostBridge::on_deliver(void* ctx, const uint8_t* data, size_t len) {
  auto* self = static_cast<HostBridge*>(ctx);
  if (calling_ != nullptr)
    violation_handler.load()(self->component_ +
                             ": deliver() called from inside a core → plugin call on the "
                             "calling thread (threading.md rule 4: deliver from the plugin's own "
                             "thread)");
  // An empty message may come with a null pointer.
  if (self->deliver_) self->deliver_(len ? std::string_view(reinterpret_cast<const char*>(data), len) : std::string_view());
}

void HostBridge::on_log(void* ctx, uint32_t level, const char* message) {
  auto* self = static_cast<HostBridge*>(ctx);
  observe::log(static_cast<observe::Level>(level > 3 ? 3 : level), self->component_,
               message ? message : "");
}

void HostBridge::on_state(void* ctx, uint32_t state, const char* detail) {
  auto* self = static_cast<HostBridge*>(ctx);
  if (state > SWITCHBOARD_STATE_STOPPED) state = SWITCHBOARD_STATE_FAILED;
  std::string d = detail ? detail : "";
  int previous = self->state_->state.load();
  self->state_->set(static_cast<int>(state), d);
  if (previous != static_cast<int>(state))
    observe::log(state == SWITCHBOARD_STATE_CONNECTED ? observe::Level::kInfo : observe::Level::kWarn,
                 self->component_,
                 std::string("state ") + state_name(static_cast<switchboard_state>(state)) +
                     (d.empty() ? "" : ": " + d));
}

void HostBridge::on_count(void* ctx, const char* name, uint64_t delta) {
  auto* self = static_cast<HostBridge*>(ctx);
  if (name == nullptr) return;
  self->state_->count(name, delta);
}

}  // namespace switchboard::plugin
