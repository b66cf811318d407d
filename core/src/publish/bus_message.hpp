// The one bus message a publish becomes (docs/external-publishing.md, format v1),
// for app publishes (BusPublisher) and the `switchboard publish` command alike,
// and the limits every server reads bus messages with. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

#include "config/settings.hpp"
#include "routing/envelope.hpp"

namespace switchboard::publish {

// The limits a server applies to every message it takes from the bus
// (decode_envelope), from its limits.* settings.
routing::DecodeLimits bus_decode_limits(const config::Settings::Limits& limits);

// Encodes a publish to `targets` (none for kAll; the one socketId for kSocket)
// after the checks an app publish gets: a non-empty event, at least one target,
// at most limits.max_bus_targets of them, each non-empty and within its length
// limit, finite numbers only, the whole message within
// limits.max_bus_message_bytes. Throws std::invalid_argument with a one-line
// reason starting "publish: ".
std::string build_bus_message(const config::Settings::Limits& limits, routing::Target target,
                              const std::vector<std::string>& targets, std::string_view event,
                              const boost::json::array& args);

}  // namespace switchboard::publish
