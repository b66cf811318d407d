#include "publish/bus_publisher.hpp"

#include <stdexcept>

#include "routing/finite_numbers.hpp"

namespace switchboard::publish {

BusPublisher::BusPublisher(const config::Settings& settings, plugin::PluginHost& host)
    : settings_(settings), host_(host) {}

bool BusPublisher::send(routing::Target target, const std::vector<std::string>& targets,
                        std::string_view event, const boost::json::array& args) {
  if (event.empty()) throw std::invalid_argument("publish: the event name is empty");
  if (target != routing::Target::kAll && targets.empty())
    throw std::invalid_argument("publish: no target given");
  // Every server would refuse it from the bus (limits.max_bus_targets): say so here.
  if (targets.size() > settings_.limits.max_bus_targets)
    throw std::invalid_argument("publish: " + std::to_string(targets.size()) +
                                " targets, over limits.max_bus_targets (" +
                                std::to_string(settings_.limits.max_bus_targets) + ")");
  if (!routing::all_numbers_finite(args))
    throw std::invalid_argument(std::string("publish: the arguments ") +
                                routing::kNonFiniteNumber);
  for (const auto& t : targets) {
    size_t max = target == routing::Target::kUser ? settings_.limits.user_id_bytes
                                                  : settings_.limits.channel_name_bytes;
    if (t.empty() || t.size() > max)
      throw std::invalid_argument("publish: target '" + t.substr(0, 64) +
                                  "' is empty or longer than " + std::to_string(max) + " bytes");
  }
  std::string bytes = routing::encode_publish(target, targets, event, args);
  if (bytes.size() > settings_.limits.max_bus_message_bytes)
    throw std::invalid_argument("publish: the message is " + std::to_string(bytes.size()) +
                                " bytes, over limits.max_bus_message_bytes");
  return host_.publish(std::move(bytes));
}

bool BusPublisher::publish_all(std::string_view event, boost::json::array args) {
  return send(routing::Target::kAll, {}, event, args);
}
bool BusPublisher::publish_channel(const Names& channels, std::string_view event,
                                   boost::json::array args) {
  return send(routing::Target::kChannel, channels.get(), event, args);
}
bool BusPublisher::publish_user(const Names& users, std::string_view event,
                                boost::json::array args) {
  return send(routing::Target::kUser, users.get(), event, args);
}
bool BusPublisher::publish_socket_id(std::string_view id, std::string_view event,
                                     boost::json::array args) {
  return send(routing::Target::kSocket, {std::string(id)}, event, args);
}

}  // namespace switchboard::publish
