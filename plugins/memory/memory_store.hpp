// The memory session store: records in a map under one mutex, shared by every
// instance configured with the same `store` name in one process. Operations
// complete inline (before returning). Expired records are removed lazily and by a
// sweep that runs at most once per `sweep_interval` during operations.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/session_store.hpp"

namespace memory_plugin {

struct StoreData;

class MemoryStore final : public switchboard::SessionStore {
 public:
  MemoryStore(const switchboard::PluginConfig& config, switchboard::Host host);
  switchboard::Status start() override;
  void stop() override;
  void create_session(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) override;
  void load(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) override;
  void add_channels(std::string_view id, const std::vector<std::string>& names,
                    uint32_t max_channels, int64_t ttl_ms, switchboard::StoreCallback done) override;
  void remove_channels(std::string_view id, const std::vector<std::string>& names,
                       int64_t ttl_ms, switchboard::StoreCallback done) override;
  void clear_channels(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) override;
  void set_user(std::string_view id, const std::optional<std::string>& user, int64_t ttl_ms,
                switchboard::StoreCallback done) override;
  void set_data(std::string_view id, std::string_view key,
                const std::optional<std::string>& value_json, int64_t ttl_ms,
                switchboard::StoreCallback done) override;
  void remove(std::string_view id, switchboard::StoreCallback done) override;

 struct Record;  // one session and its expiry (public for StoreData)

 private:
  // Finds a live record, refreshes its TTL, applies fn under the lock and completes
  // with a copy of the result.
  template <class Fn>
  void update(std::string_view id, int64_t ttl_ms, const switchboard::StoreCallback& done, Fn&& fn);

  switchboard::Host host_;
  std::shared_ptr<StoreData> data_;
  std::chrono::milliseconds sweep_interval_;
  uint64_t max_sessions_;  // 0: unbounded
  bool running_ = false;
};

}  // namespace memory_plugin
