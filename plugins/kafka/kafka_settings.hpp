// The kafka plugin's settings: the validated `kafka:` section, and the librdkafka
// configurations built from it for the producer and the consumer. Every bad value
// is one std::invalid_argument naming the key (the host prints it and refuses to
// start).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "switchboard/plugin_config.hpp"

namespace kafka_plugin {

struct KafkaSettings {
  std::vector<std::string> brokers;  // host:port
  std::string topic;
  int partitions = 1;
  int replication_factor = 1;
  bool create_topic = true;
  std::chrono::milliseconds message_timeout{10000};
  std::chrono::milliseconds linger{0};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds fetch_wait_max{10};
  std::chrono::milliseconds reconnect_backoff_max{1000};
  std::chrono::milliseconds health_interval{1000};
  int64_t queue_messages = 100000;
  int64_t max_message_bytes = 2 << 20;
  // kafka.properties, split at the first '='.
  std::vector<std::pair<std::string, std::string>> properties;

  static KafkaSettings from(const switchboard::PluginConfig& config);
};

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// The producer's and the consumer's configuration: our low-latency defaults, then
// kafka.properties on top (each checked by librdkafka: an unknown property or a
// bad value throws naming it). group_id is this instance's own consumer group
// (it never joins or commits; librdkafka needs one for assign()).
ConfPtr producer_conf(const KafkaSettings& s);
ConfPtr consumer_conf(const KafkaSettings& s, const std::string& group_id);

}  // namespace kafka_plugin
