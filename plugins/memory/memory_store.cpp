#include "memory_store.hpp"

#include <algorithm>
#include <set>

namespace memory_plugin {

using Clock = std::chrono::steady_clock;
using switchboard::Status;
using switchboard::StatusCode;

struct MemoryStore::Record {
  switchboard::SessionRecord value;
  Clock::time_point expires;
};

struct StoreData {
  std::mutex mu;
  std::map<std::string, MemoryStore::Record, std::less<>> records;  // guarded by mu
  Clock::time_point next_sweep;                                       // guarded by mu

  static std::shared_ptr<StoreData> get(const std::string& name) {
    static std::mutex registry_mu;
    static std::map<std::string, std::weak_ptr<StoreData>> registry;
    std::lock_guard lock(registry_mu);
    auto& weak = registry[name];
    auto d = weak.lock();
    if (!d) {
      d = std::make_shared<StoreData>();
      weak = d;
    }
    return d;
  }
};

namespace {
// memory.max_sessions; hosts validate it with its default, but one built before
// the key existed passes none: then the same default applies.
uint64_t max_sessions_of(const switchboard::PluginConfig& config) {
  for (const auto& [k, v] : config.entries())
    if (k == "max_sessions") return static_cast<uint64_t>(std::max<int64_t>(0, config.get_int(k)));
  return 100000;
}
}  // namespace

MemoryStore::MemoryStore(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host),
      data_(StoreData::get(config.get_string("store"))),
      sweep_interval_(config.get_duration_ms("sweep_interval")),
      max_sessions_(max_sessions_of(config)) {}

Status MemoryStore::start() {
  running_ = true;
  host_.report_state(SWITCHBOARD_STATE_CONNECTED, "in-process");
  return {};
}

void MemoryStore::stop() {
  if (!running_) return;
  running_ = false;
  host_.report_state(SWITCHBOARD_STATE_STOPPED);
}

template <class Fn>
void MemoryStore::update(std::string_view id, int64_t ttl_ms, const switchboard::StoreCallback& done,
                         Fn&& fn) {
  if (!running_) {
    done(Status(StatusCode::kUnavailable, "memory store stopped"), nullptr);
    return;
  }
  switchboard::SessionRecord copy;
  Status st;
  {
    std::lock_guard lock(data_->mu);
    auto now = Clock::now();
    if (now >= data_->next_sweep) {
      std::erase_if(data_->records, [now](const auto& kv) { return kv.second.expires <= now; });
      data_->next_sweep = now + sweep_interval_;
    }
    auto it = data_->records.find(id);
    if (it == data_->records.end() || it->second.expires <= now) {
      if (it != data_->records.end()) data_->records.erase(it);
      st = Status(StatusCode::kNotFound, "no such session");
    } else {
      st = fn(it->second.value);
      if (st.is_ok()) {
        it->second.expires = now + std::chrono::milliseconds(ttl_ms);
        copy = it->second.value;
      }
    }
  }
  done(st, st.is_ok() ? &copy : nullptr);
}

void MemoryStore::create_session(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) {
  if (!running_) {
    done(Status(StatusCode::kUnavailable, "memory store stopped"), nullptr);
    return;
  }
  switchboard::SessionRecord copy;
  Status st;
  {
    std::lock_guard lock(data_->mu);
    auto now = Clock::now();
    auto expires = now + std::chrono::milliseconds(ttl_ms);
    auto it = data_->records.find(id);
    if (it != data_->records.end() && it->second.expires > now) {
      // The id is live: two tabs with one (signed) cookie connected at the same
      // moment and the other got here first. Keep its record; never wipe it.
      it->second.expires = expires;
      copy = it->second.value;
    } else if (it != data_->records.end()) {
      it->second = Record{{}, expires};
    } else {
      if (max_sessions_ && data_->records.size() >= max_sessions_) {
        // Full: expired records do not count.
        std::erase_if(data_->records, [now](const auto& kv) { return kv.second.expires <= now; });
        data_->next_sweep = now + sweep_interval_;
      }
      if (max_sessions_ && data_->records.size() >= max_sessions_)
        st = Status(StatusCode::kLimit, "the session store is full (memory.max_sessions = " +
                                            std::to_string(max_sessions_) + ")");
      else
        data_->records.emplace(std::string(id), Record{{}, expires});
    }
  }
  done(st, st.is_ok() ? &copy : nullptr);
}

void MemoryStore::load(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) {
  update(id, ttl_ms, done, [](switchboard::SessionRecord&) { return Status::ok(); });
}

void MemoryStore::add_channels(std::string_view id, const std::vector<std::string>& names,
                               uint32_t max_channels, int64_t ttl_ms, switchboard::StoreCallback done) {
  update(id, ttl_ms, done, [&](switchboard::SessionRecord& r) {
    return switchboard::add_channels_to(r, names, max_channels);
  });
}

void MemoryStore::remove_channels(std::string_view id, const std::vector<std::string>& names,
                                  int64_t ttl_ms, switchboard::StoreCallback done) {
  update(id, ttl_ms, done, [&](switchboard::SessionRecord& r) {
    switchboard::remove_channels_from(r, names);
    return Status::ok();
  });
}

void MemoryStore::clear_channels(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) {
  update(id, ttl_ms, done, [](switchboard::SessionRecord& r) {
    r.channels.clear();
    return Status::ok();
  });
}

void MemoryStore::set_user(std::string_view id, const std::optional<std::string>& user,
                           int64_t ttl_ms, switchboard::StoreCallback done) {
  update(id, ttl_ms, done, [&](switchboard::SessionRecord& r) {
    r.user_id = user;
    return Status::ok();
  });
}

void MemoryStore::set_data(std::string_view id, std::string_view key,
                           const std::optional<std::string>& value_json, int64_t ttl_ms,
                           switchboard::StoreCallback done) {
  update(id, ttl_ms, done, [&](switchboard::SessionRecord& r) {
    auto it = std::find_if(r.data.begin(), r.data.end(), [&](auto& kv) { return kv.first == key; });
    if (!value_json) {
      if (it != r.data.end()) r.data.erase(it);
    } else if (it != r.data.end()) {
      it->second = *value_json;
    } else {
      r.data.emplace_back(std::string(key), *value_json);
    }
    return Status::ok();
  });
}

void MemoryStore::remove(std::string_view id, switchboard::StoreCallback done) {
  if (!running_) {
    done(Status(StatusCode::kUnavailable, "memory store stopped"), nullptr);
    return;
  }
  size_t n;
  {
    std::lock_guard lock(data_->mu);
    auto it = data_->records.find(id);
    n = it != data_->records.end() && it->second.expires > Clock::now() ? 1 : 0;
    if (it != data_->records.end()) data_->records.erase(it);
  }
  done(n ? Status::ok() : Status(StatusCode::kNotFound, "no such session"), nullptr);
}

}  // namespace memory_plugin
