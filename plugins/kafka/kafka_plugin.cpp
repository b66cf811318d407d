// The plugin entry: `kafka`, a transport on one Kafka topic. No session store:
// Kafka has no atomic key-value store; pair it with the redis or nats store
// (docs/operations.md).
#include "kafka_transport.hpp"
#include "switchboard/plugin.hpp"

namespace {
const switchboard::ConfigKey kKeys[] = {
    {"brokers", SWITCHBOARD_CONFIG_STRING_LIST, "[127.0.0.1:9092]",
     "Bootstrap brokers (host:port); the client learns the rest of the cluster from them."},
    {"topic", SWITCHBOARD_CONFIG_STRING, "ss.event",
     "Topic of the bus ([a-zA-Z0-9._-]); external producers write events here."},
    {"partitions", SWITCHBOARD_CONFIG_INT, "1",
     "Partitions of the topic when this plugin creates it (1: one total order; more: order per partition)."},
    {"replication_factor", SWITCHBOARD_CONFIG_INT, "1", "Replication factor of the topic when this plugin creates it."},
    {"create_topic", SWITCHBOARD_CONFIG_BOOL, "true",
     "Create the topic when it is missing (false: wait for it, for clusters where servers may not create topics)."},
    {"message_timeout", SWITCHBOARD_CONFIG_DURATION, "10s",
     "An event the broker has not acknowledged within this is dropped and counted (never delivered late)."},
    {"linger", SWITCHBOARD_CONFIG_DURATION, "0ms",
     "How long the producer waits for more events before it sends (linger.ms). Events published while a "
     "request is out are batched anyway; raise it to trade latency for fewer, larger requests."},
    {"request_timeout", SWITCHBOARD_CONFIG_DURATION, "5s", "Wait at most this long for an admin or metadata reply."},
    {"fetch_wait_max", SWITCHBOARD_CONFIG_DURATION, "10ms",
     "Longest the broker holds a fetch open when there is nothing new (fetch.wait.max.ms)."},
    {"reconnect_backoff_max", SWITCHBOARD_CONFIG_DURATION, "1s",
     "Longest wait between reconnect attempts to a broker; attempts never stop."},
    {"health_interval", SWITCHBOARD_CONFIG_DURATION, "1s",
     "Ask the cluster for the topic's metadata this often: notices a hung broker and new partitions."},
    {"queue_messages", SWITCHBOARD_CONFIG_INT, "100000",
     "Events waiting in the producer before publish reports backpressure (bounds memory)."},
    {"max_message_bytes", SWITCHBOARD_CONFIG_INT, "2097152",
     "Largest event the producer sends, and the topic's max.message.bytes when this plugin creates it "
     "(Kafka's own default, 1 MB, is below limits.max_bus_message_bytes)."},
    {"properties", SWITCHBOARD_CONFIG_STRING_LIST, "[]",
     "More librdkafka properties as name=value (SASL, TLS, ...), checked by librdkafka at start."},
};
}  // namespace

SWITCHBOARD_PLUGIN_DESCRIBED("kafka", "0.1.0", "Kafka transport (one topic, every server reads every partition; librdkafka).",
                             SWITCHBOARD_CAP_SELF_ECHO | SWITCHBOARD_CAP_SHARED | SWITCHBOARD_CAP_PUBLISH_ANY_THREAD, kKeys, kafka_plugin::KafkaTransport, void)
