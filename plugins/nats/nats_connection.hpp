// Settings and the connection shared by the NATS transport and store (the plugin's
// one schema), on the NATS C client (Debian's libnats-dev, cnats 3.4).
//
// A NatsConnection connects on its own thread (natsConnection_Connect blocks for the
// handshake even with RetryOnFailedConnect), reconnects forever with a short jittered
// wait, detects a dead peer by PINGs, and reports every change of the library's
// connection state to its owner. The library's callbacks run on library threads:
// they only update atomics and call the owner's `on_state`, which copies what it needs.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "switchboard/plugin_config.hpp"

namespace nats_plugin {

struct NatsSettings {
  std::vector<std::string> servers;
  std::string user, password, token, credentials_file, nkey, nkey_seed_file;
  std::string tls_ca_file, tls_cert_file, tls_key_file;
  std::string subject;
  std::string bucket;
  int replicas = 1;
  bool memory_storage = false;
  std::chrono::milliseconds bucket_max_age{0};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{2000};
  std::chrono::milliseconds reconnect_wait{250};
  std::chrono::milliseconds ping_interval{2000};
  bool send_asap = true;
  int pending_messages = 65536;
  int64_t pending_bytes = 64 << 20;
  int64_t reconnect_buffer = 1 << 20;
  size_t max_pending = 65536;
  int store_workers = 2;
  // Validates and converts; throws std::invalid_argument naming the key.
  static NatsSettings from(const switchboard::PluginConfig& config);
};

// "nats: <library text> (<status name>)" for a failed call.
std::string nats_error(const std::string& what, natsStatus s);

class NatsConnection {
 public:
  enum class State { kConnecting, kConnected, kReconnecting, kClosed };
  struct Events {
    // Any library thread, or the connecting thread; detail is a reason.
    std::function<void(State, const std::string& detail)> state;
    // An asynchronous error the library reports (a slow consumer's drops, a
    // permissions violation); any library thread. May be empty.
    std::function<void(natsSubscription*, natsStatus)> error;
  };
  // Runs on the connecting thread once the connection object exists (connected,
  // or still retrying in the background): subscribe there.
  using ReadyFn = std::function<void(natsConnection*)>;

  NatsConnection(const NatsSettings& settings, std::string name, Events events);
  ~NatsConnection();
  // Starts connecting on a thread of its own; returns at once.
  void start(ReadyFn on_ready);
  // Closes the connection and joins the connecting thread. Idempotent.
  void close();

  // The connection once created (null before, and after close()).
  natsConnection* get() const { return conn_.load(); }
  State state() const { return state_.load(); }
  // How many times the connection came up (a reconnect counts): a server may have
  // restarted, and lost what it kept in memory, since a caller last looked.
  uint64_t connects() const { return connects_.load(); }
  bool connected() const { return state() == State::kConnected; }
  // Waits up to `limit` for the connection to be up; false when it is not.
  bool wait_connected(std::chrono::milliseconds limit);
  std::string where() const;

 private:
  static void on_disconnected(natsConnection*, void* self);
  static void on_reconnected(natsConnection*, void* self);
  static void on_connected(natsConnection*, void* self);
  static void on_closed(natsConnection*, void* self);
  static void on_error(natsConnection*, natsSubscription*, natsStatus, void* self);
  void set(State s, const std::string& detail);

  const NatsSettings& settings_;
  std::string name_;
  Events events_;
  natsOptions* opts_ = nullptr;
  std::atomic<natsConnection*> conn_{nullptr};
  std::atomic<State> state_{State::kConnecting};
  std::atomic<uint64_t> connects_{0};
  std::atomic<bool> closing_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_seen_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace nats_plugin
