// Token bucket: `rate` tokens per second, holding at most `rate` (a burst of one
// second). One per connection, used on its loop thread only.
#pragma once

#include <algorithm>
#include <chrono>

namespace switchboard::rpc {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TokenBucket(double rate) : rate_(rate), tokens_(rate), last_(Clock::now()) {}

  bool take(Clock::time_point now = Clock::now()) {
    if (now > last_) {
      double elapsed = std::chrono::duration<double>(now - last_).count();
      last_ = now;
      tokens_ = std::min(rate_, tokens_ + elapsed * rate_);
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace switchboard::rpc
