#include "publish/bus_message.hpp"

#include <stdexcept>

#include "routing/finite_numbers.hpp"

namespace switchboard::publish {

routing::DecodeLimits bus_decode_limits(const config::Settings::Limits& l) {
  return {l.max_bus_message_bytes, l.json_max_depth, l.channel_name_bytes, l.user_id_bytes,
          l.max_bus_targets};
}

std::string build_bus_message(const config::Settings::Limits& limits, routing::Target target,
                              const std::vector<std::string>& targets, std::string_view event,
                              const boost::json::array& args) {
  if (event.empty()) throw std::invalid_argument("publish: the event name is empty");
  if (target != routing::Target::kAll && targets.empty())
    throw std::invalid_argument("publish: no target given");
  // Every server would refuse it from the bus (limits.max_bus_targets): say so here.
  if (targets.size() > limits.max_bus_targets)
    throw std::invalid_argument("publish: " + std::to_string(targets.size()) +
                                " targets, over limits.max_bus_targets (" +
                                std::to_string(limits.max_bus_targets) + ")");
  if (!routing::all_numbers_finite(args))
    throw std::invalid_argument(std::string("publish: the arguments ") +
                                routing::kNonFiniteNumber);
  for (const auto& t : targets) {
    size_t max = target == routing::Target::kUser ? limits.user_id_bytes : limits.channel_name_bytes;
    if (t.empty() || t.size() > max)
      throw std::invalid_argument("publish: target '" + t.substr(0, 64) +
                                  "' is empty or longer than " + std::to_string(max) + " bytes");
  }
  std::string bytes = routing::encode_publish(target, targets, event, args);
  if (bytes.size() > limits.max_bus_message_bytes)
    throw std::invalid_argument("publish: the message is " + std::to_string(bytes.size()) +
                                " bytes, over limits.max_bus_message_bytes");
  return bytes;
}

}  // namespace switchboard::publish
