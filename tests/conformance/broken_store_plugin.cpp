// The `broken_store` plugin: a session store with one deliberate fault, chosen by
// `mode`, to prove the conformance kit's S-cases catch every class of store fault
// (tests/conformance/CMakeLists.txt requires the right case to FAIL for each mode,
// and mode=correct, the fault-free base, to pass them). Two variants per class:
// a blunt one and a subtle one that passes the obvious test.
//
// Like a networked store, each instance runs its operations on its own worker
// thread, against a table shared by every instance with the same `table` name
// (two instances stand for two servers on one store). `latency` is slept before
// each operation: a round trip, so that operations are really pending at stop().
// Built with the public SDK only.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "switchboard/plugin.hpp"

namespace {
using switchboard::SessionRecord;
using switchboard::Status;
using switchboard::StatusCode;
using switchboard::StoreCallback;
using Clock = std::chrono::steady_clock;

enum class Mode {
  kCorrect,
  kWrongRecordBlunt,    // an unknown id is answered with some other live session
  kWrongRecordSubtle,   // a lookup matches by prefix: an unknown id that prefixes a live one gets it
  kRemoveFirstOnly,     // remove_channels removes only the first name given
  kRemoveSkipsLast,     // remove_channels stops one short of the last name given
  kTtlLoadOnly,         // no write refreshes the TTL, only load does
  kTtlWritePartial,     // every write but set_data refreshes the TTL
  kStopLeavesPending,   // stop() returns at once; queued operations complete after it
  kStopCompletesOk,     // stop() completes queued operations with OK, not applied
  kRacyLimitBlunt,      // the limit is checked when called, the add applied later unchecked
  kRacyLimitSubtle,     // the limit is checked against this instance's own view of the set
  kCreateWipes,         // create_session empties a live record
  kCreateWipesData,     // create_session keeps a live record's user and channels, drops its data
  kRacyDataBlunt,       // set_data reads the data, writes it all back later (lost update)
  kRacyDataSubtle,      // set_data writes this instance's own view of the data back whole
};

Mode mode_of(const std::string& s) {
  static const std::map<std::string, Mode> kModes = {
      {"correct", Mode::kCorrect},
      {"wrong_record_blunt", Mode::kWrongRecordBlunt},
      {"wrong_record_subtle", Mode::kWrongRecordSubtle},
      {"remove_first_only", Mode::kRemoveFirstOnly},
      {"remove_skips_last", Mode::kRemoveSkipsLast},
      {"ttl_load_only", Mode::kTtlLoadOnly},
      {"ttl_write_partial", Mode::kTtlWritePartial},
      {"stop_leaves_pending", Mode::kStopLeavesPending},
      {"stop_completes_ok", Mode::kStopCompletesOk},
      {"racy_limit_blunt", Mode::kRacyLimitBlunt},
      {"racy_limit_subtle", Mode::kRacyLimitSubtle},
      {"create_wipes", Mode::kCreateWipes},
      {"create_wipes_data", Mode::kCreateWipesData},
      {"racy_data_blunt", Mode::kRacyDataBlunt},
      {"racy_data_subtle", Mode::kRacyDataSubtle},
  };
  auto it = kModes.find(s);
  if (it == kModes.end()) throw std::invalid_argument("broken_store: unknown mode '" + s + "'");
  return it->second;
}

struct Entry {
  SessionRecord value;
  Clock::time_point expires;
};

// One shared table per `table` name, as the memory plugin shares its store.
struct Table {
  std::mutex mu;
  std::map<std::string, Entry, std::less<>> records;  // guarded by mu

  static std::shared_ptr<Table> get(const std::string& name) {
    static std::mutex registry_mu;
    static std::map<std::string, std::weak_ptr<Table>> registry;
    std::lock_guard lock(registry_mu);
    auto& weak = registry[name];
    auto t = weak.lock();
    if (!t) {
      t = std::make_shared<Table>();
      weak = t;
    }
    return t;
  }
};

struct Answer {
  Status status;
  std::optional<SessionRecord> record;
};

class BrokenStore final : public switchboard::SessionStore {
 public:
  BrokenStore(const switchboard::PluginConfig& c, switchboard::Host host)
      : host_(host),
        mode_(mode_of(c.get_string("mode"))),
        latency_(c.get_duration_ms("latency")),
        table_(Table::get(c.get_string("table"))) {}
  ~BrokenStore() override {
    stop();
    halt();
  }

  Status start() override {
    if (running_) return {};
    halt();  // a worker left draining by an earlier stop()
    stopping_ = drain_ = false;  // no worker runs: no lock needed
    worker_ = std::thread([this] { run(); });
    running_ = true;
    host_.report_state(SWITCHBOARD_STATE_CONNECTED);
    return {};
  }

  void stop() override {
    if (!running_) return;
    running_ = false;
    if (mode_ == Mode::kStopLeavesPending) {
      // The fault: returns at once; the worker completes the queue afterwards.
      {
        std::lock_guard lock(mu_);
        drain_ = true;
      }
      cv_.notify_all();
      host_.report_state(SWITCHBOARD_STATE_STOPPED);
      return;
    }
    std::deque<Job> left;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      left.swap(queue_);
    }
    cv_.notify_all();
    worker_.join();  // the operation in progress completes first
    for (auto& job : left) {
      if (mode_ == Mode::kStopCompletesOk) {
        // The fault: "OK" with the record as it is, the operation never applied.
        std::lock_guard lock(table_->mu);
        auto it = find_live(job.id, Clock::now());
        SessionRecord r = it != table_->records.end() ? it->second.value : SessionRecord{};
        job.done(Status::ok(), &r);
        continue;
      }
      job.done(Status(StatusCode::kUnavailable, "broken_store stopped"), nullptr);
    }
    host_.report_state(SWITCHBOARD_STATE_STOPPED);
  }

  void create_session(std::string_view id, int64_t ttl_ms, StoreCallback done) override {
    submit(id, std::move(done), [this, id = std::string(id), ttl_ms] {
      std::lock_guard lock(table_->mu);
      auto now = Clock::now();
      std::erase_if(table_->records, [now](const auto& kv) { return kv.second.expires <= now; });
      auto& e = table_->records[id];  // a live record is kept (two tabs, one cookie)
      e.expires = now + std::chrono::milliseconds(ttl_ms);
      if (mode_ == Mode::kCreateWipes) e.value = {};               // the fault
      if (mode_ == Mode::kCreateWipesData) e.value.data.clear();  // the fault
      return Answer{Status::ok(), e.value};
    });
  }

  void load(std::string_view id, int64_t ttl_ms, StoreCallback done) override {
    submit(id, std::move(done), [this, id = std::string(id), ttl_ms] {
      return update(id, ttl_ms, true, [](SessionRecord&) { return Status::ok(); });
    });
  }

  void add_channels(std::string_view id, const std::vector<std::string>& names, uint32_t max,
                    int64_t ttl_ms, StoreCallback done) override {
    if (mode_ == Mode::kRacyLimitBlunt && running_) {
      // The fault: the limit is checked now, against the set before the queued adds
      // have run, and the add is applied later without checking again.
      size_t would = 0;
      {
        std::lock_guard lock(table_->mu);
        auto it = find_live(id, Clock::now());
        if (it != table_->records.end()) would = union_size(it->second.value.channels, names);
      }
      if (would > max) return done(Status(StatusCode::kLimit, "over the channel limit"), nullptr);
      submit(id, std::move(done), [this, id = std::string(id), names, ttl_ms] {
        return update(id, ttl_ms, write_refreshes(false), [&](SessionRecord& r) {
          insert(r.channels, names);
          return Status::ok();
        });
      });
      return;
    }
    submit(id, std::move(done), [this, id = std::string(id), names, max, ttl_ms] {
      if (mode_ == Mode::kRacyLimitSubtle) return add_with_own_view(id, names, max, ttl_ms);
      return update(id, ttl_ms, write_refreshes(false), [&](SessionRecord& r) {
        if (union_size(r.channels, names) > max)
          return Status(StatusCode::kLimit, "over the channel limit");
        insert(r.channels, names);
        return Status::ok();
      });
    });
  }

  void remove_channels(std::string_view id, const std::vector<std::string>& names, int64_t ttl_ms,
                       StoreCallback done) override {
    submit(id, std::move(done), [this, id = std::string(id), names, ttl_ms] {
      forget(id);
      return update(id, ttl_ms, write_refreshes(false), [&](SessionRecord& r) {
        size_t n = names.size();
        if (mode_ == Mode::kRemoveFirstOnly) n = std::min<size_t>(n, 1);  // the fault
        if (mode_ == Mode::kRemoveSkipsLast && n > 0) --n;                // the fault
        std::erase_if(r.channels, [&](const std::string& c) {
          return std::find(names.begin(), names.begin() + static_cast<long>(n), c) !=
                 names.begin() + static_cast<long>(n);
        });
        return Status::ok();
      });
    });
  }

  void clear_channels(std::string_view id, int64_t ttl_ms, StoreCallback done) override {
    submit(id, std::move(done), [this, id = std::string(id), ttl_ms] {
      forget(id);
      return update(id, ttl_ms, write_refreshes(false), [](SessionRecord& r) {
        r.channels.clear();
        return Status::ok();
      });
    });
  }

  void set_user(std::string_view id, const std::optional<std::string>& user, int64_t ttl_ms,
                StoreCallback done) override {
    submit(id, std::move(done), [this, id = std::string(id), user, ttl_ms] {
      return update(id, ttl_ms, write_refreshes(false), [&](SessionRecord& r) {
        r.user_id = user;
        return Status::ok();
      });
    });
  }

  void set_data(std::string_view id, std::string_view key, const std::optional<std::string>& value,
                int64_t ttl_ms, StoreCallback done) override {
    submit(id, std::move(done), [this, id = std::string(id), key = std::string(key), value, ttl_ms] {
      if (mode_ == Mode::kRacyDataBlunt || mode_ == Mode::kRacyDataSubtle)
        return set_data_racily(id, key, value, ttl_ms);
      return update(id, ttl_ms, write_refreshes(true), [&](SessionRecord& r) {
        put(r.data, key, value);
        return Status::ok();
      });
    });
  }

  static void put(std::vector<std::pair<std::string, std::string>>& data, const std::string& key,
                  const std::optional<std::string>& value) {
    auto it = std::find_if(data.begin(), data.end(), [&](auto& kv) { return kv.first == key; });
    if (!value) {
      if (it != data.end()) data.erase(it);
    } else if (it != data.end()) {
      it->second = *value;
    } else {
      data.emplace_back(key, *value);
    }
  }

  // The data faults: the whole data is written back from a copy, read either just
  // before (blunt: another instance's write in between is lost) or once per
  // session by this instance (subtle: exact alone, blind to another instance).
  Answer set_data_racily(const std::string& id, const std::string& key,
                         const std::optional<std::string>& value, int64_t ttl_ms) {
    std::vector<std::pair<std::string, std::string>> data;
    auto v = data_view_.find(id);
    if (mode_ == Mode::kRacyDataSubtle && v != data_view_.end()) {
      data = v->second;
    } else {
      std::lock_guard lock(table_->mu);
      auto it = find_live(id, Clock::now());
      if (it == table_->records.end()) return {Status(StatusCode::kNotFound, "no such session"), {}};
      data = it->second.value.data;
    }
    if (mode_ == Mode::kRacyDataBlunt) std::this_thread::sleep_for(std::chrono::microseconds(200));
    put(data, key, value);
    if (mode_ == Mode::kRacyDataSubtle) data_view_[id] = data;
    return update(id, ttl_ms, true, [&](SessionRecord& r) {
      r.data = data;
      return Status::ok();
    });
  }

  void remove(std::string_view id, StoreCallback done) override {
    submit(id, std::move(done), [this, id = std::string(id)] {
      forget(id);
      std::lock_guard lock(table_->mu);
      auto it = find_live(id, Clock::now());
      if (it == table_->records.end()) return Answer{Status(StatusCode::kNotFound, "no such session"), {}};
      table_->records.erase(it);
      return Answer{Status::ok(), {}};
    });
  }

 private:
  struct Job {
    std::string id;
    std::function<Answer()> apply;  // runs on the worker
    StoreCallback done;
  };
  static constexpr size_t kMaxQueue = 100000;  // bounds memory; far above what the kit queues

  void submit(std::string_view id, StoreCallback done, std::function<Answer()> apply) {
    if (!running_) return done(Status(StatusCode::kUnavailable, "broken_store stopped"), nullptr);
    {
      std::lock_guard lock(mu_);
      if (queue_.size() < kMaxQueue) {
        queue_.push_back({std::string(id), std::move(apply), std::move(done)});
        cv_.notify_one();
        return;
      }
    }
    done(Status(StatusCode::kUnavailable, "broken_store queue full"), nullptr);
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || drain_ || !queue_.empty(); });
      if (stopping_ || (drain_ && queue_.empty())) return;
      Job job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      if (latency_.count() > 0) std::this_thread::sleep_for(latency_);  // the round trip
      Answer a = job.apply();
      job.done(a.status, a.status.is_ok() && a.record ? &*a.record : nullptr);
      lock.lock();
    }
  }

  // Ends the worker (it may outlive stop() only in kStopLeavesPending).
  void halt() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  bool write_refreshes(bool is_set_data) const {
    if (mode_ == Mode::kTtlLoadOnly) return false;                  // the fault
    if (mode_ == Mode::kTtlWritePartial && is_set_data) return false;  // the fault
    return true;
  }

  // The live record for id (table_->mu held), or end(). The wrong-record faults live here.
  std::map<std::string, Entry, std::less<>>::iterator find_live(std::string_view id, Clock::time_point now) {
    auto& recs = table_->records;
    auto live = [&](auto it) { return it != recs.end() && it->second.expires > now; };
    auto it = recs.find(id);
    if (live(it)) return it;
    if (mode_ == Mode::kWrongRecordBlunt) {  // the fault: "some" session instead of none
      for (auto j = recs.begin(); j != recs.end(); ++j)
        if (live(j)) return j;
    }
    if (mode_ == Mode::kWrongRecordSubtle) {  // the fault: a prefix scan (`id*`) takes the first match
      auto j = recs.lower_bound(id);
      if (live(j) && j->first.starts_with(id)) return j;
    }
    return recs.end();
  }

  // Applies fn to id's live record and refreshes its TTL when asked to.
  template <class Fn>
  Answer update(const std::string& id, int64_t ttl_ms, bool refresh, Fn&& fn) {
    std::lock_guard lock(table_->mu);
    auto now = Clock::now();
    auto it = find_live(id, now);
    if (it == table_->records.end()) return {Status(StatusCode::kNotFound, "no such session"), {}};
    Status st = fn(it->second.value);
    if (!st.is_ok()) return {st, {}};
    if (refresh) it->second.expires = now + std::chrono::milliseconds(ttl_ms);
    return {st, it->second.value};
  }

  // The subtle limit fault: the check uses this instance's view of the set (read
  // once, then kept up to date with its own adds). Exact for one instance; another
  // instance's adds are invisible to it, so two instances together pass the limit.
  Answer add_with_own_view(const std::string& id, const std::vector<std::string>& names,
                           uint32_t max, int64_t ttl_ms) {
    auto v = view_.find(id);
    if (v == view_.end()) {
      std::lock_guard lock(table_->mu);
      auto it = find_live(id, Clock::now());
      if (it == table_->records.end()) return {Status(StatusCode::kNotFound, "no such session"), {}};
      v = view_.emplace(id, it->second.value.channels).first;
    }
    if (union_size(v->second, names) > max) return {Status(StatusCode::kLimit, "over the channel limit"), {}};
    insert(v->second, names);
    return update(id, ttl_ms, write_refreshes(false), [&](SessionRecord& r) {
      insert(r.channels, names);
      return Status::ok();
    });
  }
  void forget(const std::string& id) {
    view_.erase(id);
    data_view_.erase(id);
  }

  static size_t union_size(const std::vector<std::string>& have, const std::vector<std::string>& names) {
    std::set<std::string> u(have.begin(), have.end());
    u.insert(names.begin(), names.end());
    return u.size();
  }
  static void insert(std::vector<std::string>& have, const std::vector<std::string>& names) {
    for (const auto& n : names)
      if (std::find(have.begin(), have.end(), n) == have.end()) have.push_back(n);
  }

  switchboard::Host host_;
  const Mode mode_;
  const std::chrono::milliseconds latency_;
  std::shared_ptr<Table> table_;
  bool running_ = false;  // control thread only
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_: the worker ends now
  bool drain_ = false;     // guarded by mu_: the worker ends when the queue is empty
  std::map<std::string, std::vector<std::string>> view_;  // worker only (kRacyLimitSubtle)
  // worker only (kRacyDataSubtle)
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> data_view_;
};

const switchboard::ConfigKey kKeys[] = {
    {"latency", SWITCHBOARD_CONFIG_DURATION, "0ms",
     "Slept before each operation on the worker, as a round trip; makes operations pending at stop()."},
    {"mode", SWITCHBOARD_CONFIG_STRING, "correct",
     "correct, or the fault: wrong_record_blunt|subtle, remove_first_only, remove_skips_last, "
     "ttl_load_only, ttl_write_partial, stop_leaves_pending, stop_completes_ok, racy_limit_blunt|subtle, "
     "create_wipes, create_wipes_data, racy_data_blunt|subtle."},
    {"table", SWITCHBOARD_CONFIG_STRING, "default",
     "Name of the in-process table; instances with the same name share it."},
};
}  // namespace

SWITCHBOARD_PLUGIN("broken_store", "0.0.1", kKeys, void, BrokenStore)
