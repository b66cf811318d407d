// A loopback for test-only transports: messages pushed here are handed to the
// host's deliver() from one thread, in order. stop() joins the thread; after it
// nothing is delivered. Used by the `fault` and `broken` plugins.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "switchboard/host.hpp"

namespace test_plugins {

class Loopback {
 public:
  explicit Loopback(switchboard::Host host) : host_(host) {}
  ~Loopback() { stop(); }

  void start() {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    thread_ = std::thread([this] { run(); });
  }
  // False once stopped.
  bool push(std::string_view bytes) {
    std::lock_guard lock(mu_);
    if (!running_) return false;
    queue_.emplace_back(bytes);
    cv_.notify_one();
    return true;
  }
  // True if it was running.
  bool stop() {
    {
      std::lock_guard lock(mu_);
      if (!running_) return false;
      running_ = false;
    }
    cv_.notify_all();
    thread_.join();
    return true;
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return !queue_.empty() || !running_; });
      if (!running_) return;
      std::string m = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      host_.deliver(m);
      lock.lock();
    }
  }

  switchboard::Host host_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  bool running_ = false;           // guarded by mu_
  std::thread thread_;
};

}  // namespace test_plugins
