// Core-side proxies: a loaded plugin's C tables wrapped back into the SDK's C++
// Transport and SessionStore interfaces, so the core sees only those interfaces.
// Each proxy owns a PluginInstance: the plugin's instance, its HostBridge, and a
// reference to the library (which therefore outlives the instance).
// Thread-safety: a proxy is called from one thread at a time (the control
// thread), except PluginTransport::publish when the plugin declares
// SWITCHBOARD_CAP_PUBLISH_ANY_THREAD (PluginHost orders it against start/stop).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "plugin/completion_registry.hpp"
#include "plugin/host_bridge.hpp"
#include "plugin/loader.hpp"
#include "switchboard/session_store.hpp"
#include "switchboard/transport.hpp"

namespace switchboard::plugin {

using ConfigEntries = std::vector<std::pair<std::string, std::string>>;

// One instance made through a plugin's C table — the transport's or the store's,
// which share create/start/stop/destroy: created from its config (a PluginError
// with the plugin's message on failure), started, stopped at most once, stopped
// if need be and destroyed with the object, before its bridge and library go.
// Every call into start/stop is marked as a core → plugin call (HostBridge::Call).
template <class VTable>
class PluginInstance {
 public:
  // `what` names the role in errors: "transport", "session store".
  PluginInstance(std::shared_ptr<LoadedPlugin> plugin, const VTable* vt, const char* what,
                 const ConfigEntries& config, std::unique_ptr<HostBridge> bridge);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  Status start();
  // Calls the plugin's stop() the first time; false (and no call) after that.
  bool stop();

  const VTable& vt() const { return *vt_; }
  void* get() const { return instance_; }
  const HostBridge& bridge() const { return *bridge_; }

 private:
  std::shared_ptr<LoadedPlugin> plugin_;  // keeps the library mapped
  std::unique_ptr<HostBridge> bridge_;
  const VTable* vt_;
  void* instance_;
  bool stopped_ = false;
};

class PluginTransport final : public Transport {
 public:
  // Throws PluginError when the plugin has no transport or create() fails.
  PluginTransport(std::shared_ptr<LoadedPlugin> plugin, const ConfigEntries& config,
                  std::unique_ptr<HostBridge> bridge);
  Status start() override;
  Status publish(std::string_view bytes) override;
  void stop() override;

 private:
  PluginInstance<switchboard_transport_vtable> instance_;
};

class PluginStore final : public SessionStore {
 public:
  // Throws PluginError when the plugin has no session store or create() fails.
  PluginStore(std::shared_ptr<LoadedPlugin> plugin, const ConfigEntries& config,
              std::unique_ptr<HostBridge> bridge);
  ~PluginStore() override;  // stop() (answering what is left), then destroy
  Status start() override;
  void stop() override;
  void create_session(std::string_view id, int64_t ttl_ms, StoreCallback done) override;
  void load(std::string_view id, int64_t ttl_ms, StoreCallback done) override;
  void add_channels(std::string_view id, const std::vector<std::string>& names,
                    uint32_t max_channels, int64_t ttl_ms, StoreCallback done) override;
  void remove_channels(std::string_view id, const std::vector<std::string>& names,
                       int64_t ttl_ms, StoreCallback done) override;
  void clear_channels(std::string_view id, int64_t ttl_ms, StoreCallback done) override;
  void set_user(std::string_view id, const std::optional<std::string>& user, int64_t ttl_ms,
                StoreCallback done) override;
  void set_data(std::string_view id, std::string_view key,
                const std::optional<std::string>& value_json, int64_t ttl_ms,
                StoreCallback done) override;
  void remove(std::string_view id, StoreCallback done) override;

  // Completions of this instance the host ignored: a second completion of one
  // operation, or one after stop() returned (see CompletionRegistry). Any thread.
  uint64_t ignored_completions() const;
  // Operations stop() left pending, which the host answered UNAVAILABLE (0 when
  // the plugin completed everything, as it must). Any thread.
  size_t answered_at_stop() const;

 private:
  // Registers done as a pending operation named op; the plugin gets the result.
  void* ctx(const char* op, StoreCallback done);

  PluginInstance<switchboard_store_vtable> instance_;
  std::shared_ptr<CompletionScope> scope_;
  std::atomic<size_t> answered_at_stop_{0};
};

}  // namespace switchboard::plugin
