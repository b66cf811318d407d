// Deliveries on their way to one event loop. The dispatcher's thread appends;
// the loop drains everything queued in one handler. A busy loop thus takes a
// burst of deliveries per wake-up (and one post) instead of one post and one
// wake-up per delivery; an idle loop still gets each one at once. FIFO.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "routing/index.hpp"

namespace switchboard::routing {

class Inbox {
 public:
  // True when the caller must post a drain to the loop (none is pending).
  bool push(std::shared_ptr<const Delivery> d) {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(d));
    if (drain_pending_) return false;
    drain_pending_ = true;
    return true;
  }
  // Loop thread: swaps everything queued into `out` (emptied first); the next
  // push asks for a new drain.
  void take(std::vector<std::shared_ptr<const Delivery>>& out) {
    out.clear();
    std::lock_guard lock(mu_);
    out.swap(items_);
    drain_pending_ = false;
  }

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<const Delivery>> items_;  // guarded by mu_
  bool drain_pending_ = false;                          // guarded by mu_
};

}  // namespace switchboard::routing
