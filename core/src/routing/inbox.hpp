// Deliveries on their way to one event loop. The fan-out (any transport thread) appends;
// the loop drains them in batches. A busy loop thus takes a burst of deliveries
// per wake-up (and one post) instead of one post and one wake-up per delivery;
// an idle loop still gets each one at once. FIFO.
//
// Bounded (limits.loop_inbox): a loop stalled by a blocking handler must not
// grow memory without limit. Past the bound an event is refused (the caller
// counts it); a session change never is — dropping one would leave that
// session's connections on this loop with a stale user or channel set.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "routing/index.hpp"
#include "sync/mutex.hpp"

namespace switchboard::routing {

class Inbox {
 public:
  explicit Inbox(size_t max) : max_(max) {}

  enum class Push {
    kPostDrain,  // queued; the caller must post a drain to the loop (none is pending)
    kQueued,     // queued; a drain is already on its way
    kFull,       // refused: max deliveries are waiting (never for a session change)
  };
  Push push(std::shared_ptr<const Delivery> d) {
    sync::Lock lock(mu_);
    if (items_.size() >= max_ && d->kind != Delivery::Kind::kSession) return Push::kFull;
    items_.push_back(std::move(d));
    if (drain_pending_) return Push::kQueued;
    drain_pending_ = true;
    return Push::kPostDrain;
  }
  // Loop thread: moves up to `batch` deliveries into `out` (emptied first).
  // Returns true when more wait: the caller posts another drain (the pending
  // flag stays set, so pushes meanwhile do not post one of their own).
  bool take(std::vector<std::shared_ptr<const Delivery>>& out, size_t batch) {
    out.clear();
    sync::Lock lock(mu_);
    const size_t n = std::min(batch, items_.size());
    std::move(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(n), std::back_inserter(out));
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(n));
    drain_pending_ = !items_.empty();
    return drain_pending_;
  }

 private:
  const size_t max_;
  sync::Mutex mu_;
  std::deque<std::shared_ptr<const Delivery>> items_ SB_GUARDED_BY(mu_);
  bool drain_pending_ SB_GUARDED_BY(mu_) = false;
};

}  // namespace switchboard::routing
