// The Redis session store. A session is two keys: a hash `<prefix>s:<id>`
// (field `u` = user id, `d:<key>` = data JSON, `c` = created marker) and a set
// `<prefix>s:<id>:ch` of channels. Every operation is one Lua script, so it is
// atomic against every other server: the channel limit is checked and applied in
// one step, two servers adding channels at once lose nothing, and each operation
// refreshes both keys' TTL (PEXPIRE) and returns the whole record.
//
// Threads: one io thread per instance; operations are posted to it and complete
// from it. A command without a reply within command_timeout drops the connection
// (its callbacks complete with UNAVAILABLE). While the connection is down (at
// start-up, or reconnecting) an operation waits for it at most connect_timeout,
// then completes with UNAVAILABLE: a blip costs a short wait, an outage a quick
// error, never a hang.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "redis_link.hpp"
#include "redis_transport.hpp"
#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/session_store.hpp"

namespace redis_plugin {

class RedisStore final : public switchboard::SessionStore {
 public:
  RedisStore(const switchboard::PluginConfig& config, switchboard::Host host);
  ~RedisStore() override;
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

 private:
  // Runs one script with KEYS = the session's two keys and ARGV = args.
  void run(const char* script, std::string_view id, std::vector<std::string> args,
           switchboard::StoreCallback done);

  struct Waiting {
    std::vector<std::string> argv;
    RedisLink::ReplyFn finish;
    std::chrono::steady_clock::time_point deadline;
  };
  void flush_waiting();   // io thread: the link came up
  void expire_waiting();  // io thread: every 100 ms

  switchboard::Host host_;
  RedisSettings settings_;
  std::deque<Waiting> waiting_;  // io thread; bounded by max_pending
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<RedisLink> link_;
  std::unique_ptr<boost::asio::steady_timer> expiry_;  // after io_: destroyed before it
  std::thread thread_;
  bool started_ = false;
};

}  // namespace redis_plugin
