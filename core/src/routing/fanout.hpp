// The fan-out: everything between the transport's deliver(bytes) and the
// connections' queues. It parses each bus message once, turns it into one
// shared Delivery (frames built once: a channel message's frames, one per
// channel, lazily by the first loop with subscribers there, within a bound on
// the bytes one message may expand to — routing/channel_frames.hpp), appends it
// to every event loop's inbox (routing/inbox.hpp) and posts a drain to the
// loops that have none pending. On each loop the drain takes a batch of the
// inbox and hands each delivery to the loop's index shard (routing/index.hpp),
// which queues the frames on the matching connections. Malformed messages are
// counted and logged (throttled), never delivered.
//
// Thread-safety: deliver() may be called from any plugin thread; per bus topic
// the plugin calls it from one thread at a time, and each loop receives
// deliveries in that order (each inbox is FIFO). A drain runs on its loop's
// thread and touches only that loop's shard. The Fanout must outlive the loops'
// io_contexts (a drain may be pending until a loop stops).
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "routing/channel_frames.hpp"
#include "routing/envelope.hpp"
#include "routing/inbox.hpp"
#include "routing/index.hpp"

namespace switchboard::routing {

class Fanout {
 public:
  // One event loop as the fan-out sees it: where to post, which shard to use.
  struct Loop {
    boost::asio::io_context* ioc;
    IndexShard* shard;  // touched only on that io_context's thread
  };
  struct Limits {
    DecodeLimits decode;
    uint64_t max_expansion_bytes;  // limits.max_bus_expansion_bytes
    size_t loop_inbox;             // limits.loop_inbox
  };
  // Deliveries taken from an inbox per drain: the loop's own I/O runs between batches.
  static constexpr size_t kDrainBatch = 256;

  Fanout(Limits limits, observe::Metrics& metrics, std::vector<Loop> loops);

  // The host's deliver(bytes): any thread.
  void deliver(std::string_view bytes);

  // Called (on some loop thread) once every loop has applied a _session envelope
  // that carries a nonce. Set before the transport starts.
  void on_session_applied(std::function<void(const std::string& nonce)> fn) {
    session_applied_ = std::move(fn);
  }

  // Builds the delivery for a decoded envelope (exposed for tests). Frames of a
  // channel message are not built here: see Delivery::channel_frames.
  static std::shared_ptr<Delivery> build(Envelope&& e, ChannelFrames::Bound bound = {});

 private:
  struct LoopInbox {
    Loop loop;
    Inbox inbox;
  };
  void post_drain(LoopInbox& l);

  DecodeLimits limits_;
  observe::Metrics& metrics_;
  std::vector<std::unique_ptr<LoopInbox>> loops_;
  std::function<void(const std::string&)> session_applied_;
  observe::ThrottledLog malformed_log_{std::chrono::seconds(10)};
  ChannelFrames::Bound expansion_;
};

}  // namespace switchboard::routing
