// The dispatcher: the host's one thread-safe deliver(bytes). It parses each bus
// message once and posts one shared Delivery to every event loop, which fans it
// out from its own index shard. A channel message's frames (one per channel) are
// built lazily, once, by the first loop with subscribers there, within a bound on
// the bytes one message may expand to (routing/channel_frames.hpp). Malformed
// messages are counted and logged (throttled), never delivered.
//
// Thread-safety: deliver() may be called from any plugin thread; per bus topic
// the plugin calls it from one thread at a time, and each loop receives
// deliveries in that order (asio::post to a single-threaded io_context is FIFO).
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "routing/channel_frames.hpp"
#include "routing/envelope.hpp"
#include "routing/index.hpp"

namespace switchboard::routing {

class Dispatcher {
 public:
  using Post = std::function<void(std::shared_ptr<const Delivery>)>;  // to every loop

  // max_expansion_bytes: limits.max_bus_expansion_bytes, the most bytes of client
  // frames one bus message may be turned into.
  Dispatcher(DecodeLimits limits, uint64_t max_expansion_bytes, observe::Metrics& metrics,
             Post post_to_loops);

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
  DecodeLimits limits_;
  observe::Metrics& metrics_;
  Post post_;
  std::function<void(const std::string&)> session_applied_;
  observe::ThrottledLog malformed_log_{std::chrono::seconds(10)};
  ChannelFrames::Bound expansion_;
};

}  // namespace switchboard::routing
