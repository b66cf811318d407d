// Protocol v1 frames sent to clients (docs/protocol.md), built as strings once and
// shared between connections.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace switchboard::net {

// {"t":"event","e":<event>,"p":<params_json>[,"c":<channel>]}
std::string event_frame(std::string_view event, std::string_view params_json,
                        const std::string* channel);
std::string ready_frame(std::string_view socket_id);
std::string reply_frame(uint64_t id, const boost::json::value& result);
std::string error_reply_frame(uint64_t id, std::string_view code, std::string_view message);
std::string error_frame(std::string_view code, std::string_view message);

}  // namespace switchboard::net
