// The plugin entry: `redis`, a transport and a session store sharing one schema.
#include "redis_store.hpp"
#include "redis_transport.hpp"
#include "switchboard/plugin.hpp"

namespace {
const switchboard::ConfigKey kKeys[] = {
    {"url", SWITCHBOARD_CONFIG_STRING, "redis://127.0.0.1:6379/0",
     "redis://[[user]:password@]host[:port][/db]. No TLS: hiredis 0.14 has none."},
    {"channel", SWITCHBOARD_CONFIG_STRING, "ss:event",
     "Pub/sub channel of the bus (SocketStream's default); external systems PUBLISH here."},
    {"key_prefix", SWITCHBOARD_CONFIG_STRING, "ss:",
     "Prefix of the session keys (<prefix>s:<id> and <prefix>s:<id>:ch)."},
    {"connect_timeout", SWITCHBOARD_CONFIG_DURATION, "2s", "Give up a connection attempt after this."},
    {"command_timeout", SWITCHBOARD_CONFIG_DURATION, "2s",
     "A command unanswered this long means a dead peer: reconnect (store calls fail)."},
    {"reconnect_max", SWITCHBOARD_CONFIG_DURATION, "1s",
     "Longest wait between reconnect attempts (exponential from 100ms, jittered)."},
    {"heartbeat", SWITCHBOARD_CONFIG_DURATION, "1s",
     "Heartbeat through the subscribed connection; three periods with nothing received on it "
     "(no heartbeat, no message) reset it."},
    {"max_pending", SWITCHBOARD_CONFIG_INT, "65536",
     "Publishes waiting for Redis before publish reports backpressure (bounds memory)."},
};
}  // namespace

SWITCHBOARD_PLUGIN_DESCRIBED("redis", "0.1.0",
                             "Redis pub/sub transport and Redis session store (hiredis).",
                             SWITCHBOARD_CAP_SELF_ECHO | SWITCHBOARD_CAP_SHARED | SWITCHBOARD_CAP_PUBLISH_ANY_THREAD, kKeys, redis_plugin::RedisTransport,
                             redis_plugin::RedisStore)
