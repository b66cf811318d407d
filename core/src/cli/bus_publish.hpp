// `switchboard publish --config FILE ...`: one message published through the
// configured transport plugin, loaded and started by the server's own
// PluginHost (transport only: no session store is loaded).
//
// The transport ABI has no "flushed" callback: a plugin's publish() only queues
// (the Redis plugin drops what is still queued when it stops). So the command
// waits for the proof every transport gives: its own message delivered back from
// the bus (self-echo, SWITCHBOARD_CAP_SELF_ECHO; the Redis plugin's subscribed
// connection, NATS with echo on, the Kafka consumer reading the topic). Seen
// back, the broker has taken it and every server subscribed to the bus gets it.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "cli/outcome.hpp"
#include "config/settings.hpp"

namespace switchboard::cli {

// Loads the transport of settings from plugin_dirs; one that is not shared
// between processes (memory: the message would reach nobody) is handed to
// if_unshared when given, else refused. Otherwise starts it,
// waits until it reports CONNECTED, publishes `message`, waits until the same
// bytes come back from the bus, stops it. Everything within `timeout`.
// kExitOk; kExitFailed (not shared, the plugin failed to load or start, not
// connected in time, publish refused); kExitUnknown (published, not seen back in
// time: it may or may not be delivered).
Outcome publish_on_bus(const config::Settings& settings, const std::vector<std::string>& plugin_dirs,
                       const std::string& message, std::chrono::milliseconds timeout,
                       const std::function<Outcome()>& if_unshared = {});

}  // namespace switchboard::cli
