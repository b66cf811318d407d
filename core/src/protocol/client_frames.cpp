#include "protocol/client_frames.hpp"

#include <boost/json.hpp>

namespace switchboard::protocol {
namespace json = boost::json;

std::string event_frame_head(std::string_view event, std::string_view params_json) {
  std::string e = json::serialize(json::string_view(event.data(), event.size()));
  std::string out;
  out.reserve(24 + e.size() + params_json.size());
  out += R"({"t":"event","e":)";
  out += e;
  out += R"(,"p":)";
  out += params_json;
  return out;
}

std::string channel_frame_tail(std::string_view channel) {
  std::string out = R"(,"c":)";
  out += json::serialize(json::string_view(channel.data(), channel.size()));
  out += '}';
  return out;
}

std::string event_frame(std::string_view event, std::string_view params_json,
                        const std::string* channel) {
  std::string out = event_frame_head(event, params_json);
  if (channel) out += channel_frame_tail(*channel);
  else out += '}';
  return out;
}

std::string ready_frame(std::string_view socket_id) {
  json::object o;
  o["t"] = "ready";
  o["socketId"] = socket_id;
  o["v"] = 1;
  return json::serialize(o);
}

std::string reply_frame(uint64_t id, const json::value& result) {
  json::object o;
  o["t"] = "reply";
  o["id"] = id;
  o["r"] = result;
  return json::serialize(o);
}

std::string error_reply_frame(uint64_t id, std::string_view code, std::string_view message) {
  json::object o;
  o["t"] = "reply";
  o["id"] = id;
  o["err"] = {{"code", code}, {"message", message}};
  return json::serialize(o);
}

std::string error_frame(std::string_view code, std::string_view message) {
  json::object o;
  o["t"] = "error";
  o["err"] = {{"code", code}, {"message", message}};
  return json::serialize(o);
}

}  // namespace switchboard::protocol
