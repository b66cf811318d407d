// The client frames of one channel-targeted bus message: one frame per listed
// channel (each names its channel), built lazily. A loop asks for a channel's
// frame only when its own index shard has subscribers there, so channels nobody
// on this server subscribes to cost nothing, and each frame is built once however
// many loops want it. The bytes one message may expand to are bounded: a frame
// past the bound is not built (counted, logged throttled) and that channel's
// subscribers miss the event, instead of one bus message costing the process
// gigabytes.
//
// Thread-safety: get() may be called from every loop thread at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "observe/log.hpp"
#include "routing/index.hpp"

namespace switchboard::routing {

class ChannelFrames {
 public:
  struct Bound {
    uint64_t max_bytes = 16u << 20;              // limits.max_bus_expansion_bytes
    std::atomic<uint64_t>* refused = nullptr;    // bumped per frame not built; may be null,
                                                 // else must outlive every delivery
    std::shared_ptr<observe::ThrottledLog> log;  // may be null
  };

  ChannelFrames(std::string_view event, std::string_view params_json, size_t channel_count,
                Bound bound);

  // The frame for the i-th listed channel, `name`. Null when building it would take
  // this message's frames past the bound.
  Frame get(size_t i, const std::string& name) const;

  // Frames built so far (tests and diagnostics).
  size_t built() const { return built_.load(std::memory_order_relaxed); }

 private:
  Frame build(const std::string& name) const;

  std::string head_;  // {"t":"event","e":…,"p":…   shared by every channel's frame
  size_t count_;
  Bound bound_;
  std::unique_ptr<std::once_flag[]> once_;
  std::unique_ptr<Frame[]> frames_;  // frames_[i] is written once, inside once_[i]
  mutable std::atomic<uint64_t> bytes_{0};
  mutable std::atomic<size_t> built_{0};
};

}  // namespace switchboard::routing
