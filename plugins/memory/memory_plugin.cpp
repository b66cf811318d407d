// The plugin entry: name, schema and the two classes.
#include "memory_store.hpp"
#include "memory_transport.hpp"
#include "switchboard/plugin.hpp"

namespace {
const switchboard::ConfigKey kKeys[] = {
    {"bus", SWITCHBOARD_CONFIG_STRING, "default",
     "Name of the in-process bus; instances with the same name see each other's messages."},
    {"max_queue_messages", SWITCHBOARD_CONFIG_INT, "65536",
     "Messages queued per instance before publish reports backpressure (bounds memory)."},
    {"max_sessions", SWITCHBOARD_CONFIG_INT, "100000",
     "Most live session records in the table; creating one more is refused (the upgrade gets "
     "503) until some expire. 0: no bound."},
    {"store", SWITCHBOARD_CONFIG_STRING, "default",
     "Name of the in-process session table; store instances with the same name share it."},
    {"sweep_interval", SWITCHBOARD_CONFIG_DURATION, "60s",
     "How often expired sessions are swept (they are also dropped when touched)."},
};
}  // namespace

SWITCHBOARD_PLUGIN_DESCRIBED("memory", "0.1.0",
                             "in-process transport and session store (one server process).",
                             SWITCHBOARD_CAP_SELF_ECHO | SWITCHBOARD_CAP_PUBLISH_ANY_THREAD,
                             kKeys, memory_plugin::MemoryTransport, memory_plugin::MemoryStore)
