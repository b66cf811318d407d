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
#include "sync/mutex.hpp"

namespace switchboard::net {

class OpenConnections {
 public:
  void opened() {
    sync::Lock lock(mu_);
    ++open_;
  }
  void closed() {
    sync::Lock lock(mu_);
    if (--open_ == 0) none_.notify_all();
  }
  // Blocks until no connection is open or the deadline passes; true when none is.
  bool wait_none(std::chrono::steady_clock::time_point deadline) {
    sync::Lock lock(mu_);
    while (open_ != 0)
      if (none_.wait_until(lock, deadline) == std::cv_status::timeout) return open_ == 0;
    return true;
  }
  size_t count() const {
    sync::Lock lock(mu_);
    return open_;
  }

 private:
  mutable sync::Mutex mu_;
  std::condition_variable_any none_;
  size_t open_ SB_GUARDED_BY(mu_) = 0;
};

}  // namespace switchboard::net
