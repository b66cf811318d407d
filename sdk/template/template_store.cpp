// The template session store (see template_store.hpp). Everything inside the
// anonymous namespace is the stand-in for your database; the class below it is
// what a real store keeps: asynchronous operations with a bounded number in
// flight, exactly-once completions, and a stop() that answers what is pending.
#include "template_store.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>
#include <utility>

namespace template_plugin {
namespace {

using Clock = std::chrono::steady_clock;
using switchboard::SessionRecord;
using switchboard::Status;
using switchboard::StatusCode;
using Answer = TemplateStore::Answer;

// Expired sessions are dropped when touched, and swept this often so that
// sessions nobody touches again do not stay forever (a real store sets the TTL on
// the key and lets the server expire it).
constexpr auto kSweepEvery = std::chrono::seconds(10);

// Stand-in for the store's server: one table per process.
class Table {
 public:
  static Table& get() {
    static Table table;
    return table;
  }

  // A new empty session, unless `id` is live: then it is kept, unchanged (two
  // tabs sharing one cookie may create it at the same moment).
  Answer create(const std::string& id, int64_t ttl_ms) {
    std::lock_guard lock(mu_);
    auto now = sweep();
    auto& entry = sessions_[id];  // an expired entry is as good as none
    if (entry.expires <= now) entry.record = SessionRecord{};
    entry.expires = now + std::chrono::milliseconds(ttl_ms);
    return {Status::ok(), entry.record};
  }

  // Runs `change` on the live session `id` as one atomic step, refreshes its
  // sliding TTL (whatever `change` answers: the session was used) and returns
  // the record after the change. NOT_FOUND for an unknown or expired id.
  template <class Change>
  Answer update(const std::string& id, int64_t ttl_ms, Change&& change) {
    std::lock_guard lock(mu_);
    auto now = sweep();
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.expires <= now) {
      if (it != sessions_.end()) sessions_.erase(it);
      return {Status(StatusCode::kNotFound, "no such session"), std::nullopt};
    }
    it->second.expires = now + std::chrono::milliseconds(ttl_ms);
    Status st = change(it->second.record);
    if (!st.is_ok()) return {st, std::nullopt};
    return {st, it->second.record};
  }

  Answer remove(const std::string& id) {
    std::lock_guard lock(mu_);
    auto now = sweep();
    auto it = sessions_.find(id);
    bool live = it != sessions_.end() && it->second.expires > now;
    if (it != sessions_.end()) sessions_.erase(it);
    if (!live) return {Status(StatusCode::kNotFound, "no such session"), std::nullopt};
    return {Status::ok(), std::nullopt};
  }

 private:
  struct Entry {
    SessionRecord record;
    Clock::time_point expires;
  };

  // Drops expired sessions at most once per kSweepEvery; returns the time now.
  Clock::time_point sweep() {
    auto now = Clock::now();
    if (now >= next_sweep_) {
      std::erase_if(sessions_, [now](const auto& kv) { return kv.second.expires <= now; });
      next_sweep_ = now + kSweepEvery;
    }
    return now;
  }

  std::mutex mu_;
  std::map<std::string, Entry> sessions_;  // guarded by mu_
  Clock::time_point next_sweep_;           // guarded by mu_
};

}  // namespace

// Config keys arrive validated with defaults filled in (kKeys in template_transport.cpp).
TemplateStore::TemplateStore(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host), max_pending_(static_cast<size_t>(config.get_int("max_pending"))) {
  if (max_pending_ == 0) throw std::invalid_argument("template.max_pending must be at least 1");
}

TemplateStore::~TemplateStore() { stop(); }

switchboard::Status TemplateStore::start() {
  {
    std::lock_guard lock(mu_);
    if (running_) return {};
    running_ = true;
  }
  worker_ = std::thread([this] { run(); });
  host_.report_state(SWITCHBOARD_STATE_CONNECTED, "in-process template table");
  return {};
}

void TemplateStore::stop() {
  std::deque<Op> left;
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
    left.swap(pending_);  // the worker finishes the one in hand and sees nothing more
  }
  cv_.notify_all();
  worker_.join();
  // Every operation completes exactly once: what never reached the server fails
  // now, before stop() returns (no completion may come after it).
  for (auto& op : left) op.done(Status(StatusCode::kUnavailable, "template store stopped"), nullptr);
  host_.report_state(SWITCHBOARD_STATE_STOPPED);
}

void TemplateStore::submit(std::function<Answer()> request, switchboard::StoreCallback done) {
  const char* refused;
  {
    std::lock_guard lock(mu_);
    if (running_ && pending_.size() < max_pending_) {
      pending_.push_back({std::move(request), std::move(done)});
      cv_.notify_one();
      return;
    }
    refused = running_ ? "template store: too many operations pending" : "template store not running";
  }
  // Refused: complete at once, outside the lock (the host may call straight back in).
  done(Status(StatusCode::kUnavailable, refused), nullptr);
}

void TemplateStore::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return !pending_.empty() || !running_; });
    if (!running_) return;
    Op op = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    Answer a;
    try {
      a = op.request();  // the round trip
    } catch (const std::exception& e) {  // e.g. bad_alloc: answer, never lose the op
      a = {Status(StatusCode::kError, e.what()), std::nullopt};
    }
    op.done(a.status, a.record ? &*a.record : nullptr);
    lock.lock();
  }
}

// Each operation copies what it needs: ids and names are borrowed only for the call.

void TemplateStore::create_session(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) {
  submit([id = std::string(id), ttl_ms] { return Table::get().create(id, ttl_ms); }, std::move(done));
}

void TemplateStore::load(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) {
  submit([id = std::string(id), ttl_ms] {
    return Table::get().update(id, ttl_ms, [](SessionRecord&) { return Status::ok(); });
  }, std::move(done));
}

void TemplateStore::add_channels(std::string_view id, const std::vector<std::string>& names,
                                 uint32_t max_channels, int64_t ttl_ms,
                                 switchboard::StoreCallback done) {
  submit([id = std::string(id), names, max_channels, ttl_ms] {
    // Union and limit in one step on the server: two servers adding to one
    // session at once must neither lose a channel nor pass the limit together.
    return Table::get().update(id, ttl_ms, [&](SessionRecord& r) {
      return switchboard::add_channels_to(r, names, max_channels);
    });
  }, std::move(done));
}

void TemplateStore::remove_channels(std::string_view id, const std::vector<std::string>& names,
                                    int64_t ttl_ms, switchboard::StoreCallback done) {
  submit([id = std::string(id), names, ttl_ms] {
    return Table::get().update(id, ttl_ms, [&](SessionRecord& r) {
      switchboard::remove_channels_from(r, names);
      return Status::ok();
    });
  }, std::move(done));
}

void TemplateStore::clear_channels(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) {
  submit([id = std::string(id), ttl_ms] {
    return Table::get().update(id, ttl_ms, [](SessionRecord& r) {
      r.channels.clear();
      return Status::ok();
    });
  }, std::move(done));
}

void TemplateStore::set_user(std::string_view id, const std::optional<std::string>& user,
                             int64_t ttl_ms, switchboard::StoreCallback done) {
  submit([id = std::string(id), user, ttl_ms] {
    return Table::get().update(id, ttl_ms, [&](SessionRecord& r) {
      r.user_id = user;  // nullopt signs out
      return Status::ok();
    });
  }, std::move(done));
}

void TemplateStore::set_data(std::string_view id, std::string_view key,
                             const std::optional<std::string>& value_json, int64_t ttl_ms,
                             switchboard::StoreCallback done) {
  submit([id = std::string(id), key = std::string(key), value_json, ttl_ms] {
    return Table::get().update(id, ttl_ms, [&](SessionRecord& r) {
      auto it = std::find_if(r.data.begin(), r.data.end(), [&](auto& kv) { return kv.first == key; });
      if (!value_json) {  // nullopt deletes the key
        if (it != r.data.end()) r.data.erase(it);
      } else if (it != r.data.end()) {
        it->second = *value_json;  // JSON text, kept byte-exact
      } else {
        r.data.emplace_back(key, *value_json);
      }
      return Status::ok();
    });
  }, std::move(done));
}

void TemplateStore::remove(std::string_view id, switchboard::StoreCallback done) {
  submit([id = std::string(id)] { return Table::get().remove(id); }, std::move(done));
}

}  // namespace template_plugin
