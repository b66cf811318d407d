// The plugin entry: `nats`, a transport (core NATS) and a session store (JetStream
// KV) sharing one schema.
#include "nats_store.hpp"
#include "nats_transport.hpp"
#include "switchboard/plugin.hpp"

namespace {
const switchboard::ConfigKey kKeys[] = {
    {"servers", SWITCHBOARD_CONFIG_STRING_LIST, "[nats://127.0.0.1:4222]",
     "Server URLs (nats://host:port, tls://host:port); the client picks one and fails over to the others."},
    {"subject", SWITCHBOARD_CONFIG_STRING, "ss.event",
     "Subject of the bus; external systems publish here. Tokens separated by '.', no wildcard, no leading '$'."},
    {"user", SWITCHBOARD_CONFIG_STRING, "", "User name (with password); empty connects without one."},
    {"password", SWITCHBOARD_CONFIG_STRING, "", "Password of user."},
    {"token", SWITCHBOARD_CONFIG_STRING, "", "Authentication token (instead of user/password)."},
    {"credentials_file", SWITCHBOARD_CONFIG_STRING, "",
     "A .creds file (user JWT and NKey seed) for a decentralised-auth server."},
    {"nkey", SWITCHBOARD_CONFIG_STRING, "", "Public NKey of the user (with nkey_seed_file)."},
    {"nkey_seed_file", SWITCHBOARD_CONFIG_STRING, "", "File holding the NKey seed that signs the server's nonce."},
    {"tls_ca_file", SWITCHBOARD_CONFIG_STRING, "",
     "PEM CA that signed the server's certificate; setting it turns TLS on (certificate and host name verified)."},
    {"tls_cert_file", SWITCHBOARD_CONFIG_STRING, "", "PEM client certificate, for servers that verify clients."},
    {"tls_key_file", SWITCHBOARD_CONFIG_STRING, "", "PEM private key of tls_cert_file."},
    {"connect_timeout", SWITCHBOARD_CONFIG_DURATION, "2s",
     "Give up one connection attempt after this; store calls wait at most this long for a connection."},
    {"request_timeout", SWITCHBOARD_CONFIG_DURATION, "2s", "Wait at most this long for a JetStream reply."},
    {"reconnect_wait", SWITCHBOARD_CONFIG_DURATION, "250ms",
     "Wait between reconnect attempts to one server (plus up to half of it, random); attempts never stop."},
    {"ping_interval", SWITCHBOARD_CONFIG_DURATION, "2s",
     "PING the server this often; two unanswered mean a dead connection (reconnect)."},
    {"send_asap", SWITCHBOARD_CONFIG_BOOL, "true",
     "Write each publish to the socket at once (lowest latency). false lets the client library gather "
     "publishes for about a millisecond: fewer writes at tens of thousands of publishes a second, ~0.5 ms "
     "more per hop."},
    {"pending_messages", SWITCHBOARD_CONFIG_INT, "65536",
     "Messages received but not yet delivered before the library drops more (a slow consumer; logged)."},
    {"pending_bytes", SWITCHBOARD_CONFIG_INT, "67108864", "The same bound in bytes."},
    {"reconnect_buffer", SWITCHBOARD_CONFIG_INT, "1048576",
     "Bytes of publishes the library may hold while it notices a dead connection; sent once after the "
     "reconnect. Full: publish reports backpressure."},
    {"max_pending", SWITCHBOARD_CONFIG_INT, "65536",
     "Store operations waiting for a worker before one more completes unavailable (bounds memory)."},
    {"store_workers", SWITCHBOARD_CONFIG_INT, "2",
     "Threads running the store's blocking KV calls (one session's operations always on one, in order)."},
    {"bucket", SWITCHBOARD_CONFIG_STRING, "switchboard_sessions",
     "JetStream KV bucket of the sessions, created when missing ([A-Za-z0-9_-])."},
    {"replicas", SWITCHBOARD_CONFIG_INT, "1", "Replicas of a bucket this store creates (1 to 5)."},
    {"storage", SWITCHBOARD_CONFIG_STRING, "file", "Storage of a bucket this store creates: file or memory."},
    {"bucket_max_age", SWITCHBOARD_CONFIG_DURATION, "15d",
     "Max age of a bucket this store creates: removes records nobody touches again. Keep it above twice "
     "session.ttl (the core's user index lives that long)."},
};
}  // namespace

SWITCHBOARD_PLUGIN_DESCRIBED("nats", "0.1.0",
                             "NATS transport (core NATS subject) and JetStream KV session store (cnats).",
                             SWITCHBOARD_CAP_SELF_ECHO | SWITCHBOARD_CAP_SHARED | SWITCHBOARD_CAP_PUBLISH_ANY_THREAD, kKeys, nats_plugin::NatsTransport, nats_plugin::NatsStore)
