// Core-side proxies: a loaded plugin's C tables wrapped back into the SDK's C++
// Transport and SessionStore interfaces, so the core sees only those interfaces.
// Each proxy owns its plugin instance, its HostBridge, and a reference to the
// library (which therefore outlives the instance).
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

class PluginTransport final : public Transport {
 public:
  // Throws PluginError when the plugin has no transport or create() fails.
  PluginTransport(std::shared_ptr<LoadedPlugin> plugin, const ConfigEntries& config,
                  std::unique_ptr<HostBridge> bridge);
  ~PluginTransport() override;
  Status start() override;
  Status publish(std::string_view bytes) override;
  void stop() override;

 private:
  std::shared_ptr<LoadedPlugin> plugin_;
  std::unique_ptr<HostBridge> bridge_;
  const switchboard_transport_vtable* vt_;
  void* instance_ = nullptr;
  bool stopped_ = false;
};

class PluginStore final : public SessionStore {
 public:
  PluginStore(std::shared_ptr<LoadedPlugin> plugin, const ConfigEntries& config,
              std::unique_ptr<HostBridge> bridge);
  ~PluginStore() override;
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

  std::shared_ptr<LoadedPlugin> plugin_;
  std::unique_ptr<HostBridge> bridge_;
  const switchboard_store_vtable* vt_;
  void* instance_ = nullptr;
  bool stopped_ = false;
  std::shared_ptr<CompletionScope> scope_;
  std::atomic<size_t> answered_at_stop_{0};
};

}  // namespace switchboard::plugin
