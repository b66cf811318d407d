// The Publisher behind app.publish() and req.publish(): validates the call,
// encodes SocketStream's envelope once and hands it to the transport (via the
// plugin host's control thread). Every server, this one included, delivers it
// when it comes back from the bus. Thread-safe.
#pragma once

#include "config/settings.hpp"
#include "plugin/plugin_host.hpp"
#include "routing/envelope.hpp"
#include "switchboard/publisher.hpp"

namespace switchboard::publish {

class BusPublisher final : public Publisher {
 public:
  BusPublisher(const config::Settings& settings, plugin::PluginHost& host);

  bool publish_all(std::string_view event, boost::json::array args) override;
  bool publish_channel(const Names& channels, std::string_view event,
                       boost::json::array args) override;
  bool publish_user(const Names& users, std::string_view event, boost::json::array args) override;
  bool publish_socket_id(std::string_view id, std::string_view event,
                         boost::json::array args) override;

  // Puts a _disconnect order on the bus (routing::encode_disconnect): every server
  // closes the named connections, or every connection of the named users. The
  // targets were checked against the bus limits by the caller (decode_envelope).
  // Returns false like a publish the transport refuses.
  bool disconnect(bool by_user, const std::vector<std::string>& targets, bool reconnect);

 private:
  bool send(routing::Target target, const std::vector<std::string>& targets,
            std::string_view event, const boost::json::array& args);

  const config::Settings& settings_;
  plugin::PluginHost& host_;
};

}  // namespace switchboard::publish
