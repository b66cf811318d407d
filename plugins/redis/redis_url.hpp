// Parsing redis://[[user]:password@]host[:port][/db] into connection settings.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace redis_plugin {

struct RedisAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string user;      // ACL user (Redis 6+), empty for the default user
  std::string password;  // empty: no AUTH
  int db = 0;
};

// Throws std::invalid_argument with the reason (the plugin's constructor lets it
// through, so the server refuses to start with that message).
RedisAddress parse_redis_url(const std::string& url);

}  // namespace redis_plugin
