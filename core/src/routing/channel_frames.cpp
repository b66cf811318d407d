#include "routing/channel_frames.hpp"

#include "protocol/client_frames.hpp"
#include "observe/metrics.hpp"

namespace switchboard::routing {

ChannelFrames::ChannelFrames(std::string_view event, std::string_view params_json,
                             size_t channel_count, Bound bound)
    : head_(protocol::event_frame_head(event, params_json)),
      count_(channel_count),
      bound_(std::move(bound)),
      once_(std::make_unique<std::once_flag[]>(channel_count)),
      frames_(std::make_unique<Frame[]>(channel_count)) {}

Frame ChannelFrames::get(size_t i, const std::string& name) const {
  if (i >= count_) return nullptr;
  std::call_once(once_[i], [&] { frames_[i] = build(name); });
  return frames_[i];
}

Frame ChannelFrames::build(const std::string& name) const {
  std::string tail = protocol::channel_frame_tail(name);
  const uint64_t size = head_.size() + tail.size();
  if (bytes_.fetch_add(size, std::memory_order_relaxed) + size > bound_.max_bytes) {
    bytes_.fetch_sub(size, std::memory_order_relaxed);
    if (bound_.refused) observe::bump(*bound_.refused);
    if (bound_.log)
      bound_.log->warn("bus", "a bus message for " + std::to_string(count_) +
                                  " channels would expand past limits.max_bus_expansion_bytes (" +
                                  std::to_string(bound_.max_bytes) +
                                  " bytes): subscribers of its other channels miss it");
    return nullptr;
  }
  std::string frame;
  frame.reserve(size);
  frame += head_;
  frame += tail;
  built_.fetch_add(1, std::memory_order_relaxed);
  return std::make_shared<const std::string>(std::move(frame));
}

}  // namespace switchboard::routing
