#include <catch2/catch.hpp>

#include "rpc/rate_limiter.hpp"

using switchboard::rpc::TokenBucket;

TEST_CASE("token bucket: burst of one second, then the rate", "[rpc]") {
  auto t0 = TokenBucket::Clock::now();
  TokenBucket b(10);
  int ok = 0;
  for (int i = 0; i < 20; ++i) ok += b.take(t0);
  CHECK(ok == 10);
  CHECK_FALSE(b.take(t0 + std::chrono::milliseconds(50)));
  CHECK(b.take(t0 + std::chrono::milliseconds(160)));  // ~1.6 tokens back
  CHECK_FALSE(b.take(t0 + std::chrono::milliseconds(160)));
}
