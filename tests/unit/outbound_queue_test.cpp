// net::OutboundQueue: the bound (waiting + in flight), one frame as is, several
// as one batch frame, bytes released on written(), dropping on close.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "net/outbound_queue.hpp"

using switchboard::net::OutboundQueue;
using switchboard::routing::Frame;

namespace {
Frame frame(std::string s) { return std::make_shared<const std::string>(std::move(s)); }
}  // namespace

TEST_CASE("one waiting frame is written as it is, shared, not copied", "[unit][outbound]") {
  OutboundQueue q(100);
  Frame f = frame(R"({"e":"a"})");
  REQUIRE(q.push(f));
  CHECK(q.frames() == 1);
  auto payload = q.take();
  CHECK(payload == *f);
  CHECK(payload.data() == f->data());  // the shared frame itself
  CHECK(q.in_flight());
  CHECK(q.empty());
  CHECK(q.bytes() == f->size());  // in flight still counts
  q.written();
  CHECK_FALSE(q.in_flight());
  CHECK(q.bytes() == 0);
}

TEST_CASE("several waiting frames leave as one batch frame, in order", "[unit][outbound]") {
  OutboundQueue q(100);
  REQUIRE(q.push(frame("1")));
  REQUIRE(q.push(frame(R"({"x":2})")));
  REQUIRE(q.push(frame("3")));
  CHECK(q.take() == R"([1,{"x":2},3])");
  CHECK(q.bytes() == 9);  // the frames' bytes, not the batch's brackets and commas
  // Frames queued while a write is in flight wait for the next write.
  REQUIRE(q.push(frame("4")));
  CHECK(q.frames() == 1);
  CHECK(q.bytes() == 10);
  q.written();
  CHECK(q.bytes() == 1);
  CHECK(q.take() == "4");
  q.written();
  CHECK(q.bytes() == 0);
}

TEST_CASE("the bound counts waiting and in-flight bytes, a frame past it is refused",
          "[unit][outbound]") {
  OutboundQueue q(10);
  REQUIRE(q.push(frame("12345")));
  q.take();  // 5 in flight
  REQUIRE(q.push(frame("1234")));  // 9
  CHECK_FALSE(q.push(frame("12")));  // 11 > 10: refused, nothing changes
  CHECK(q.frames() == 1);
  CHECK(q.bytes() == 9);
  REQUIRE(q.push(frame("1")));  // exactly at the bound
  CHECK(q.bytes() == 10);
  q.written();
  CHECK(q.push(frame("12345")));  // room again once the write is done
}

TEST_CASE("closing drops what waits but not the write in flight", "[unit][outbound]") {
  OutboundQueue q(100);
  REQUIRE(q.push(frame("aa")));
  REQUIRE(q.push(frame("bb")));
  auto payload = q.take();
  REQUIRE(q.push(frame("cc")));
  q.drop_waiting();
  CHECK(q.empty());
  CHECK(q.bytes() == 4);
  q.release();  // the connection ended while the write is still out
  CHECK(payload == "[aa,bb]");  // still valid
  q.written();
  CHECK(q.bytes() == 0);
}
