// Protocol v1 frames sent to clients (docs/protocol.md), built as strings once and
// shared between connections.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace switchboard::protocol {

// {"t":"event","e":<event>,"p":<params_json>[,"c":<channel>]}
std::string event_frame(std::string_view event, std::string_view params_json,
                        const std::string* channel);
// The same frame in two parts, so that one event sent to many channels is
// serialized once: head = {"t":"event","e":<event>,"p":<params_json>
// and tail = ,"c":<channel>}   (event_frame() == head + tail).
std::string event_frame_head(std::string_view event, std::string_view params_json);
std::string channel_frame_tail(std::string_view channel);
std::string ready_frame(std::string_view socket_id);
// The caller makes sure result holds only finite numbers (routing/finite_numbers.hpp).
std::string reply_frame(uint64_t id, const boost::json::value& result);
std::string error_reply_frame(uint64_t id, std::string_view code, std::string_view message);
std::string error_frame(std::string_view code, std::string_view message);

}  // namespace switchboard::protocol
