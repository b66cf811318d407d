// The template session store: a complete, conforming SessionStore. Its "server"
// is a table in this process (every instance shares it, as every Switchboard
// server shares your database), and one worker thread per instance stands in for
// the network round trip, so every operation is asynchronous exactly as it is
// with a real client. Replace the Table with your database's client:
//
//   start()        connect (asynchronously); report CONNECTED when ready
//   operations     send the request and return at once; complete `done` exactly
//                  once, from any thread, with the record after the change
//   add_channels   one atomic step on the server (a Redis script, a SQL
//                  transaction, a compare-and-set loop): set union + limit check
//   every op       refresh the session's sliding TTL on the server
//   stop()         complete everything still pending with kUnavailable, join
//                  your threads; no completion after it returns
//
// Threading (docs/threading.md): start, stop and the operations come from one
// host control thread, never concurrently.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/session_store.hpp"

namespace template_plugin {

class TemplateStore final : public switchboard::SessionStore {
 public:
  TemplateStore(const switchboard::PluginConfig& config, switchboard::Host host);
  ~TemplateStore() override;

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

  // What one round trip to the server answers: a status and, when OK, the record.
  struct Answer {
    switchboard::Status status;
    std::optional<switchboard::SessionRecord> record;
  };

 private:
  // A request in flight: the work the server does, and whom to tell.
  struct Op {
    std::function<Answer()> request;
    switchboard::StoreCallback done;
  };

  // Queues the request for the worker, or completes it at once with kUnavailable
  // (stopped, or too many pending). Returns at once either way.
  void submit(std::function<Answer()> request, switchboard::StoreCallback done);
  void run();  // the worker: one request at a time, in submission order

  switchboard::Host host_;
  const size_t max_pending_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> pending_;  // guarded by mu_
  bool running_ = false;    // guarded by mu_
  std::thread worker_;
};

}  // namespace template_plugin
