// Caps on how fast session records are created: per client IP and in total.
// A record is created on a WebSocket upgrade that has no usable session (see
// SessionService::open), so these bound how fast one client -- or everybody --
// can grow the session store. Token buckets: per IP `per_ip_per_minute` tokens a
// minute with a burst of one minute's worth; in total `total_per_second` a second
// with a burst of kTotalBurstSeconds' worth. Thread-safe (one mutex; called once
// per record creation, never on the delivery path).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include "sync/mutex.hpp"

namespace switchboard::session {

class CreationLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // The total bucket holds this many seconds of its rate (restart storms).
  static constexpr double kTotalBurstSeconds = 10;
  // Past this many tracked IPs, idle (full) buckets are pruned.
  static constexpr size_t kPruneAbove = 4096;

  CreationLimiter(uint32_t per_ip_per_minute, uint32_t total_per_second);

  // 0 when one creation for `ip` is allowed (and counted); otherwise the whole
  // seconds to wait before asking again (for Retry-After), nothing counted.
  // `per_ip` says which cap refused.
  uint32_t try_acquire(const std::string& ip, Clock::time_point now, bool& per_ip);

  // IPs currently tracked (tests, and to show the map stays bounded).
  size_t tracked_ips() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  static void refill(Bucket& b, double capacity, double per_second, Clock::time_point now);
  void prune(Clock::time_point now) SB_REQUIRES(mu_);

  const double ip_capacity_;
  const double ip_rate_;  // per second
  const double total_capacity_;
  const double total_rate_;
  mutable sync::Mutex mu_;
  Bucket total_ SB_GUARDED_BY(mu_);
  std::unordered_map<std::string, Bucket> per_ip_ SB_GUARDED_BY(mu_);
  size_t prune_at_ SB_GUARDED_BY(mu_) = kPruneAbove;
};

}  // namespace switchboard::session
