// The memory transport: an in-process bus. Every instance configured with the
// same `bus` name in one process sees every message published on it (itself
// included). Each instance delivers from its own thread through a bounded queue,
// so publish never calls back into the host inline. publish is all or nothing:
// OK when every instance on the bus queued the message, BACKPRESSURE (queued
// nowhere) when any queue is full.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/transport.hpp"

namespace memory_plugin {

class Bus;

class MemoryTransport final : public switchboard::Transport {
 public:
  MemoryTransport(const switchboard::PluginConfig& config, switchboard::Host host);
  ~MemoryTransport() override;
  switchboard::Status start() override;
  switchboard::Status publish(std::string_view bytes) override;
  void stop() override;

  // Called by the bus under its lock (any publisher's thread): whether the queue
  // takes one more message, then the message itself.
  bool has_room();
  void enqueue(const std::shared_ptr<const std::string>& message);

 private:
  void run();

  switchboard::Host host_;
  std::string bus_name_;
  size_t max_queue_;
  std::shared_ptr<Bus> bus_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const std::string>> queue_;  // guarded by mu_
  bool running_ = false;                                  // guarded by mu_
  std::thread thread_;
};

}  // namespace memory_plugin
