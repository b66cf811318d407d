#include "session/creation_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include "sync/mutex.hpp"

namespace switchboard::session {

CreationLimiter::CreationLimiter(uint32_t per_ip_per_minute, uint32_t total_per_second)
    : ip_capacity_(per_ip_per_minute),
      ip_rate_(per_ip_per_minute / 60.0),
      total_capacity_(total_per_second * kTotalBurstSeconds),
      total_rate_(total_per_second),
      total_{total_capacity_, Clock::time_point()} {}

void CreationLimiter::refill(Bucket& b, double capacity, double per_second, Clock::time_point now) {
  if (now > b.at) {
    double dt = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(capacity, b.tokens + dt * per_second);
    b.at = now;
  }
}

void CreationLimiter::prune(Clock::time_point now) {
  // A bucket that has refilled completely carries no information: drop it.
  for (auto it = per_ip_.begin(); it != per_ip_.end();) {
    refill(it->second, ip_capacity_, ip_rate_, now);
    it = it->second.tokens >= ip_capacity_ ? per_ip_.erase(it) : std::next(it);
  }
  // Every tracked IP created a record within the last minute, and the total
  // bucket bounds how many did, so the map stays bounded; prune again when it
  // has doubled rather than on every insert.
  prune_at_ = std::max(kPruneAbove, per_ip_.size() * 2);
}

uint32_t CreationLimiter::try_acquire(const std::string& ip, Clock::time_point now, bool& per_ip) {
  sync::Lock lock(mu_);
  if (total_.at == Clock::time_point()) total_.at = now;
  refill(total_, total_capacity_, total_rate_, now);
  Bucket fresh{ip_capacity_, now};
  auto it = per_ip_.find(ip);
  Bucket& b = it != per_ip_.end() ? it->second : fresh;
  refill(b, ip_capacity_, ip_rate_, now);
  auto wait = [](double tokens, double rate) {
    return static_cast<uint32_t>(std::max(1.0, std::ceil((1.0 - tokens) / rate)));
  };
  if (b.tokens < 1.0) {
    per_ip = true;
    return wait(b.tokens, ip_rate_);
  }
  if (total_.tokens < 1.0) {
    per_ip = false;
    return wait(total_.tokens, total_rate_);
  }
  total_.tokens -= 1.0;
  b.tokens -= 1.0;
  // Only allowed creations add an entry, so the map grows no faster than the
  // total cap allows.
  if (it == per_ip_.end()) {
    if (per_ip_.size() >= prune_at_) prune(now);
    per_ip_.emplace(ip, b);
  }
  return 0;
}

size_t CreationLimiter::tracked_ips() const {
  sync::Lock lock(mu_);
  return per_ip_.size();
}

}  // namespace switchboard::session
