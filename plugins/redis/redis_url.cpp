#include "redis_url.hpp"

#include <cstdlib>

namespace redis_plugin {

RedisAddress parse_redis_url(const std::string& url) {
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0)
    throw std::invalid_argument("redis.url must start with redis:// (got '" + url + "')");
  RedisAddress a;
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos && slash + 1 < rest.size()) {
    std::string db = rest.substr(slash + 1);
    char* end = nullptr;
    long n = std::strtol(db.c_str(), &end, 10);
    if (db.empty() || *end != '\0' || n < 0 || n > 1000)
      throw std::invalid_argument("redis.url: bad database number '" + db + "'");
    a.db = static_cast<int>(n);
  }
  auto at = authority.rfind('@');
  if (at != std::string::npos) {
    std::string cred = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = cred.find(':');
    if (colon == std::string::npos) {
      a.password = cred;
    } else {
      a.user = cred.substr(0, colon);
      a.password = cred.substr(colon + 1);
    }
  }
  std::string host = authority;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:6379
    auto close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument("redis.url: bad IPv6 host");
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() == ':') authority = "x" + authority;  // port follows
    else authority.clear();
  }
  auto colon = authority.rfind(':');
  if (colon != std::string::npos) {
    if (host == authority) host = authority.substr(0, colon);
    std::string port = authority.substr(colon + 1);
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 1 || p > 65535)
      throw std::invalid_argument("redis.url: bad port '" + port + "'");
    a.port = static_cast<uint16_t>(p);
  }
  if (host.empty()) throw std::invalid_argument("redis.url: no host in '" + url + "'");
  a.host = host;
  return a;
}

}  // namespace redis_plugin
