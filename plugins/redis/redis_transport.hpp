// The Redis transport: the bus is one Redis pub/sub channel (default `ss:event`,
// SocketStream's), so `redis-cli PUBLISH ss:event '<json>'` from any system
// reaches every server.
//
// Two connections, as Redis requires (a subscribed connection cannot PUBLISH):
// `sub` SUBSCRIBEs to the bus and to this instance's own heartbeat channel; `pub`
// PUBLISHes. Both reconnect with backoff; `sub` resubscribes on every connect.
// The instance reports CONNECTED only while both are up and the subscription is
// confirmed. A subscribed connection is quiet, and PING on it is broken in
// hiredis 0.14, so `pub` publishes a heartbeat to the instance's own channel every
// `heartbeat` and `sub` is reset when nothing (no heartbeat, no message) came on
// it for three periods (dead peer). A busy connection counts as alive: heartbeats
// queued behind a backlog that deliver() drains slowly arrive late.
//
// Threads: one io thread per instance runs both connections; publish() posts to
// it (FIFO, so one publisher's order is kept) and deliver() is called from it.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <thread>

#include "redis_link.hpp"
#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/transport.hpp"

namespace redis_plugin {

// Settings shared by the transport and the store (the plugin's one schema).
struct RedisSettings {
  RedisLink::Options link;
  std::string channel;
  std::string key_prefix;
  std::chrono::milliseconds heartbeat{1000};
  size_t max_pending = 65536;
  static RedisSettings from(const switchboard::PluginConfig& config);
};

class RedisTransport final : public switchboard::Transport {
 public:
  RedisTransport(const switchboard::PluginConfig& config, switchboard::Host host);
  ~RedisTransport() override;
  switchboard::Status start() override;
  switchboard::Status publish(std::string_view bytes) override;
  void stop() override;

 private:
  void subscribe();
  void update_state(const std::string& detail);
  void heartbeat();

  switchboard::Host host_;
  RedisSettings settings_;
  std::string heartbeat_channel_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<RedisLink> sub_;
  std::unique_ptr<RedisLink> pub_;
  boost::asio::steady_timer heartbeat_timer_;
  std::chrono::steady_clock::time_point last_heard_;  // io thread
  bool subscribed_ = false;                                // io thread
  bool ever_up_ = false;                                   // io thread
  int reported_ = -1;                                      // io thread
  std::atomic<bool> connected_{false};
  std::atomic<size_t> pending_{0};
  std::thread thread_;
  bool started_ = false;  // control thread
};

}  // namespace redis_plugin
