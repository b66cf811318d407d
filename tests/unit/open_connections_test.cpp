// net::OpenConnections: what shutdown waits on (not the /metrics gauge).
#include <catch2/catch.hpp>

#include <thread>

#include "net/open_connections.hpp"

using switchboard::net::OpenConnections;
using Clock = std::chrono::steady_clock;

TEST_CASE("shutdown's wait ends when the last connection closes, or at its deadline",
          "[unit][shutdown]") {
  OpenConnections open;
  CHECK(open.wait_none(Clock::now()));  // none open: at once
  open.opened();
  open.opened();
  auto t0 = Clock::now();
  CHECK_FALSE(open.wait_none(t0 + std::chrono::milliseconds(50)));
  CHECK(Clock::now() - t0 >= std::chrono::milliseconds(50));
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    open.closed();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    open.closed();
  });
  CHECK(open.wait_none(Clock::now() + std::chrono::seconds(30)));
  CHECK(open.count() == 0);
  closer.join();
}
