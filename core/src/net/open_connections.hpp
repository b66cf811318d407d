// The server's open WebSocket connections as control state: shutdown closes
// them with 1001 and waits here (bounded) until the last one has gone. The
// /metrics gauge switchboard_connections counts the same connections for
// observers; nothing decides anything from the gauge. Any thread; one mutex,
// taken once when a connection opens and once when it closes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace switchboard::net {

class OpenConnections {
 public:
  void opened() {
    std::lock_guard lock(mu_);
    ++open_;
  }
  void closed() {
    std::lock_guard lock(mu_);
    if (--open_ == 0) none_.notify_all();
  }
  // Blocks until no connection is open or the deadline passes; true when none is.
  bool wait_none(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return none_.wait_until(lock, deadline, [this] { return open_ == 0; });
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return open_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable none_;
  size_t open_ = 0;  // guarded by mu_
};

}  // namespace switchboard::net
