// The NATS session store: one JetStream KV bucket (nats.bucket, created when
// missing, with nats.replicas and nats.storage). A session is one key
// (session_record.hpp) holding the whole record and its expiry time.
//
// Every change is a compare-and-set on the key's revision (kvStore_Update with the
// revision read): two servers changing one session at once never lose an update,
// and the channel limit is checked against the record the write replaces. A
// conflict re-reads and retries, at most 64 times, then completes UNAVAILABLE.
//
// TTL: nats-server 2.9 has no per-key TTL, so each record carries its expiry (wall
// clock, ms) and every operation, loads included, rewrites it (sliding). An
// expired record is NOT_FOUND at once. The bucket's own max age
// (nats.bucket_max_age, above session.ttl) removes what nobody touches again.
//
// Threads: the KV calls block, so they run on nats.store_workers threads of the
// instance, never on the control thread. Operations on one session id always go
// to the same worker, in the order they were issued; at most nats.max_pending
// wait (one more completes at once with UNAVAILABLE). While the connection is
// down an operation waits for it at most nats.connect_timeout from when it was
// issued (time spent queued counts), then completes UNAVAILABLE. stop() completes every operation still queued with UNAVAILABLE
// and waits for the ones running, so none completes after it returns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nats_connection.hpp"
#include "session_record.hpp"
#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/session_store.hpp"

namespace nats_plugin {

class NatsStore final : public switchboard::SessionStore {
 public:
  NatsStore(const switchboard::PluginConfig& config, switchboard::Host host);
  ~NatsStore() override;
  switchboard::Status start() override;
  void stop() override;

  void create_session(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) override;
  void load(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) override;
  void add_channels(std::string_view id, const std::vector<std::string>& names, uint32_t max_channels,
                    int64_t ttl_ms, switchboard::StoreCallback done) override;
  void remove_channels(std::string_view id, const std::vector<std::string>& names, int64_t ttl_ms,
                       switchboard::StoreCallback done) override;
  void clear_channels(std::string_view id, int64_t ttl_ms, switchboard::StoreCallback done) override;
  void set_user(std::string_view id, const std::optional<std::string>& user, int64_t ttl_ms,
                switchboard::StoreCallback done) override;
  void set_data(std::string_view id, std::string_view key, const std::optional<std::string>& value_json,
                int64_t ttl_ms, switchboard::StoreCallback done) override;
  void remove(std::string_view id, switchboard::StoreCallback done) override;

 private:
  // A change to a live record: OK to write it, LIMIT to refuse (nothing written).
  using Change = std::function<switchboard::Status(switchboard::SessionRecord&)>;
  struct Job {
    const char* op;
    std::function<void()> run;        // completes `done` itself
    switchboard::StoreCallback done;  // for completing it UNAVAILABLE at stop
    // Waiting for a connection ends here: connect_timeout after submit(), so an
    // operation queued behind others during an outage does not wait its own
    // connect_timeout again after theirs.
    std::chrono::steady_clock::time_point connect_deadline;
  };
  struct Worker {
    std::deque<Job> queue;  // guarded by NatsStore::mu_
    std::thread thread;
  };

  void submit(const char* op, std::string_view id, switchboard::StoreCallback done, std::function<void()> run);
  void work(Worker& w);
  // Worker threads: the bucket, once the connection is up (nullptr + status when not).
  kvStore* bucket(switchboard::Status& st);
  // Whether a write failed because the bucket no longer exists (then forgotten).
  bool bucket_gone(kvStore* kv, natsStatus s);
  void update(const std::string& id, int64_t ttl_ms, const Change& change, const switchboard::StoreCallback& done);
  void create(const std::string& id, int64_t ttl_ms, const switchboard::StoreCallback& done);
  void erase(const std::string& id, const switchboard::StoreCallback& done);
  switchboard::Status fits(const std::string& value) const;
  void report(NatsConnection::State state, const std::string& detail);

  switchboard::Host host_;
  NatsSettings settings_;
  std::unique_ptr<NatsConnection> conn_;
  std::mutex kv_mu_;
  jsCtx* js_ = nullptr;      // guarded by kv_mu_
  kvStore* kv_ = nullptr;    // guarded by kv_mu_
  std::vector<kvStore*> retired_;  // guarded by kv_mu_: handles of a bucket that went away
  uint64_t checked_at_ = 0;        // guarded by kv_mu_: conn_->connects() when the bucket was last seen
  std::atomic<bool> warned_ttl_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Worker>> workers_;
  size_t pending_ = 0;     // guarded by mu_: jobs queued, not yet taken
  bool stopping_ = false;  // guarded by mu_
  bool started_ = false;   // control thread
  bool stopped_ = false;   // control thread
};

}  // namespace nats_plugin
