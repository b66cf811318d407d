// The NATS transport: the bus is one core NATS subject (default `ss.event`), so
// any NATS client publishing to it reaches every server.
//
// One connection per instance (echo on: a server receives its own publishes, in
// the server's order for its connection). Connecting runs on a thread of its own,
// so start() never blocks; the library reconnects forever with a short jittered
// wait and resubscribes; PINGs detect a dead peer. CONNECTED is reported once the
// connection is up and the subscription is registered, RECONNECTING while it is
// not, FAILED when the library gives up (it never does with the settings used).
//
// At-most-once. publish() is refused (UNAVAILABLE) while the connection is down,
// so nothing queues during an outage. In the moment between a connection dying
// and the library noticing, a publish goes to the library's reconnect buffer
// (nats.reconnect_buffer bytes; when full, BACKPRESSURE) and is sent once after
// the reconnect: never twice, but possibly before other servers resubscribed.
//
// Threads: the library's per-subscription thread calls deliver(), one message at
// a time in the server's order. stop() stops delivery, closes the connection and
// waits for that thread to finish its last deliver() before it returns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "nats_connection.hpp"
#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/transport.hpp"

namespace nats_plugin {

class NatsTransport final : public switchboard::Transport {
 public:
  NatsTransport(const switchboard::PluginConfig& config, switchboard::Host host);
  ~NatsTransport() override;
  switchboard::Status start() override;
  switchboard::Status publish(std::string_view bytes) override;
  void stop() override;

 private:
  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* self);
  static void on_subscription_done(void* self);
  void subscribe(natsConnection* nc);  // the connecting thread
  void on_error(natsSubscription* sub, natsStatus err);
  // Counts the messages the library dropped since the last look (Host::count).
  void count_drops(natsSubscription* sub);
  void report(const std::string& detail);

  switchboard::Host host_;
  NatsSettings settings_;
  std::unique_ptr<NatsConnection> conn_;
  natsSubscription* sub_ = nullptr;  // set on the connecting thread; read after it is joined
  std::atomic<bool> subscribed_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> dropped_seen_{0};  // the library's drop count already counted
  uint64_t received_ = 0;                 // the subscription's thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool sub_done_ = false;        // guarded by mu_: the subscription's thread has finished
  int reported_ = -1;            // guarded by mu_
  std::string reported_detail_;  // guarded by mu_
  std::chrono::steady_clock::time_point last_drop_log_{};  // guarded by mu_
  bool started_ = false;  // control thread
  bool stopped_ = false;  // control thread
};

}  // namespace nats_plugin
