// A connection's outbound event frames: a bounded queue of shared immutable
// frames and the one write built from them. Pure — no socket, no loop — so it is
// unit-tested on its own (tests/unit/outbound_queue_test.cpp); the WebSocket
// connection writes what take() returns and calls written() when the write ends.
//
// One frame waiting goes out as it is (shared, no copy); several are copied into
// one batch frame "[f1,f2,...]" (docs/protocol.md), so a whole burst is a single
// contiguous write whatever its length. The bound counts the bytes waiting plus
// the bytes of the write in flight (limits.send_queue_bytes): a frame that would
// pass it is refused and the caller cuts the connection off.
//
// Not thread-safe: the owning loop's thread only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "routing/index.hpp"

namespace switchboard::net {

class OutboundQueue {
 public:
  explicit OutboundQueue(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Queues `frame` unless the bytes waiting and in flight would pass the bound.
  bool push(const routing::Frame& frame);
  // Frames waiting (the write in flight excluded).
  bool empty() const { return waiting_.empty(); }
  size_t frames() const { return waiting_.size(); }
  // Bytes waiting plus bytes in flight: what the bound counts.
  size_t bytes() const { return bytes_; }
  bool in_flight() const { return in_flight_; }

  // Everything waiting as one payload (one frame as is, several as a batch
  // frame); it stays valid until written(). Requires !empty() and !in_flight().
  std::string_view take();
  // The payload take() returned has been written (or the write failed): its
  // bytes leave the bound.
  void written();
  // The connection is closing: what waits is dropped (a write in flight stays
  // until written()).
  void drop_waiting();
  // Frees what it can (the connection ended); a payload in flight stays valid
  // until written().
  void release();

  // Buffers kept between writes up to these sizes (larger ones are freed, so an
  // idle connection holds no write memory after a burst).
  static constexpr size_t kKeepSlots = 16;
  static constexpr size_t kKeepBatchBytes = 4096;

 private:
  const size_t max_bytes_;
  std::vector<routing::Frame> waiting_;  // oldest first
  size_t bytes_ = 0;                     // waiting_ + in flight
  size_t in_flight_bytes_ = 0;
  bool in_flight_ = false;
  routing::Frame single_;  // in flight: one frame as it is
  std::string batch_;      // in flight: several as one batch frame
};

}  // namespace switchboard::net
