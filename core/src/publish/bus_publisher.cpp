#include "publish/bus_publisher.hpp"

#include "publish/bus_message.hpp"

namespace switchboard::publish {

BusPublisher::BusPublisher(const config::Settings& settings, plugin::PluginHost& host)
    : settings_(settings), host_(host) {}

bool BusPublisher::send(routing::Target target, const std::vector<std::string>& targets,
                        std::string_view event, const boost::json::array& args) {
  return host_.publish(build_bus_message(settings_.limits, target, targets, event, args));
}

bool BusPublisher::disconnect(bool by_user, const std::vector<std::string>& targets,
                              bool reconnect) {
  return host_.publish(routing::encode_disconnect(by_user, targets, reconnect));
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
