#include "session_record.hpp"

#include <boost/json.hpp>
#include <cctype>

namespace nats_plugin {
namespace json = boost::json;

std::string session_key(std::string_view id) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string key = "s.";
  if (id.empty()) return key + "=";
  for (unsigned char ch : id) {
    if (std::isalnum(ch) || ch == '-') {
      key += static_cast<char>(ch);
    } else {
      key += '_';
      key += kHex[ch >> 4];
      key += kHex[ch & 15];
    }
  }
  return key;
}

std::string encode_session(const StoredSession& s) {
  json::object o;
  o["e"] = s.expires_ms;
  if (s.record.user_id) o["u"] = *s.record.user_id;
  json::array channels;
  for (const auto& c : s.record.channels) channels.emplace_back(c);
  o["c"] = std::move(channels);
  json::object data;
  for (const auto& [k, v] : s.record.data) data[k] = v;
  o["d"] = std::move(data);
  return json::serialize(o);
}

std::optional<StoredSession> decode_session(std::string_view bytes) {
  boost::system::error_code ec;
  json::value v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  StoredSession s;
  auto e = o.if_contains("e");
  auto c = o.if_contains("c");
  auto d = o.if_contains("d");
  if (!e || !e->is_int64() || !c || !c->is_array() || !d || !d->is_object()) return std::nullopt;
  s.expires_ms = e->get_int64();
  if (auto u = o.if_contains("u")) {
    if (!u->is_string()) return std::nullopt;
    s.record.user_id = std::string(u->get_string());
  }
  for (const auto& ch : c->get_array()) {
    if (!ch.is_string()) return std::nullopt;
    s.record.channels.emplace_back(ch.get_string());
  }
  for (const auto& kv : d->get_object()) {
    if (!kv.value().is_string()) return std::nullopt;
    s.record.data.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  return s;
}

}  // namespace nats_plugin
