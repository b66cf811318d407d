#include "kafka_settings.hpp"

#include <cctype>
#include <stdexcept>

namespace kafka_plugin {

namespace {

// Kafka topic names: [a-zA-Z0-9._-], 1 to 249 characters, not "." or "..".
void check_topic(const std::string& t) {
  if (t.empty() || t.size() > 249)
    throw std::invalid_argument("kafka.topic must be 1 to 249 characters, got '" + t + "'");
  if (t == "." || t == "..") throw std::invalid_argument("kafka.topic may not be '.' or '..'");
  for (char ch : t)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-'))
      throw std::invalid_argument("kafka.topic '" + t + "' may hold only letters, digits, '.', '_' and '-'");
}

// Properties the plugin sets itself: overriding them would break the broadcast
// (a shared group, committed offsets) or duplicate a plugin key.
const char* reserved_why(const std::string& key) {
  if (key == "bootstrap.servers" || key == "metadata.broker.list") return "set kafka.brokers instead";
  if (key == "group.id") return "each server uses a consumer group of its own (never shared: a shared group "
                                "would hand each event to one server only)";
  if (key == "enable.auto.commit" || key == "enable.auto.offset.store" || key == "auto.offset.reset" ||
      key == "enable.partition.eof")
    return "the plugin reads from the end of the topic and never commits offsets";
  if (key == "message.timeout.ms" || key == "delivery.timeout.ms") return "set kafka.message_timeout instead";
  if (key == "linger.ms" || key == "queue.buffering.max.ms") return "set kafka.linger instead";
  if (key == "log.queue" || key.rfind("dr_", 0) == 0 || key.find("_cb") != std::string::npos)
    return "the plugin routes librdkafka's callbacks itself";
  return nullptr;
}

void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value, const std::string& origin) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::invalid_argument(origin + ": " + err);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

using Props = std::vector<std::pair<std::string, std::string>>;

// Our settings for one handle, then kafka.properties (which may override any of
// them except the reserved ones, which it cannot name).
ConfPtr build(const KafkaSettings& s, const Props& role) {
  ConfPtr conf(rd_kafka_conf_new());
  set(conf.get(), "bootstrap.servers", join(s.brokers), "kafka.brokers");
  set(conf.get(), "reconnect.backoff.max.ms", std::to_string(s.reconnect_backoff_max.count()),
      "kafka.reconnect_backoff_max");
  const Props shared = {
      {"socket.nagle.disable", "true"},
      {"reconnect.backoff.ms", "50"},
      // Logs and errors wait in the handle's queue until our thread polls it: no
      // librdkafka thread ever calls into the host, and nothing does after stop().
      {"log.queue", "true"},
  };
  for (const auto& [k, v] : shared) set(conf.get(), k, v, k);
  for (const auto& [k, v] : role) set(conf.get(), k, v, k);
  for (const auto& [k, v] : s.properties) set(conf.get(), k, v, "kafka.properties '" + k + "'");
  return conf;
}

}  // namespace

KafkaSettings KafkaSettings::from(const switchboard::PluginConfig& c) {
  using ms = std::chrono::milliseconds;
  KafkaSettings s;
  s.brokers = c.get_list("brokers");
  if (s.brokers.empty()) throw std::invalid_argument("kafka.brokers must name at least one broker (host:port)");
  for (const auto& b : s.brokers)
    if (b.empty() || b.find_first_of(" \t\r\n,") != std::string::npos)
      throw std::invalid_argument("kafka.brokers: '" + b + "' is not a host:port");
  s.topic = c.get_string("topic");
  check_topic(s.topic);
  s.partitions = static_cast<int>(c.get_int_in("partitions", 1, 10000));
  s.replication_factor = static_cast<int>(c.get_int_in("replication_factor", 1, 32));
  s.create_topic = c.get_bool("create_topic");
  s.message_timeout = c.get_duration_in("message_timeout", ms(100), ms(900'000));
  s.linger = c.get_duration_in("linger", ms(0), ms(1000));
  s.request_timeout = c.get_duration_in("request_timeout", ms(100), ms(300'000));
  s.fetch_wait_max = c.get_duration_in("fetch_wait_max", ms(0), ms(10'000));
  s.reconnect_backoff_max = c.get_duration_in("reconnect_backoff_max", ms(10), ms(3'600'000));
  s.health_interval = c.get_duration_in("health_interval", ms(100), ms(60'000));
  s.queue_messages = c.get_int_in("queue_messages", 1, 10'000'000);
  s.max_message_bytes = c.get_int_in("max_message_bytes", 1024, 1'000'000'000);
  for (const auto& p : c.get_list("properties")) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("kafka.properties: '" + p + "' is not name=value");
    std::string key = p.substr(0, eq);
    if (const char* why = reserved_why(key))
      throw std::invalid_argument("kafka.properties: '" + key + "' is set by the plugin: " + why);
    s.properties.emplace_back(std::move(key), p.substr(eq + 1));
  }
  // Built once here so that a bad property fails at start-up, naming itself.
  producer_conf(s);
  consumer_conf(s, "switchboard-check");
  return s;
}

ConfPtr producer_conf(const KafkaSettings& s) {
  return build(s, {
                      {"linger.ms", std::to_string(s.linger.count())},
                      // One request in flight: a lone event goes out at once, and the
                      // events published while a request is out gather into the next
                      // one (a request per event swamps a broker at ~10k events/s).
                      // Also keeps one server's events in order.
                      {"max.in.flight.requests.per.connection", "1"},
                      // At-most-once: a produce request that failed is not sent again
                      // (a retry after a lost reply would deliver the event twice).
                      {"enable.idempotence", "false"},
                      {"message.send.max.retries", "0"},
                      {"queue.buffering.max.messages", std::to_string(s.queue_messages)},
                      {"message.max.bytes", std::to_string(s.max_message_bytes)},
                      {"message.timeout.ms", std::to_string(s.message_timeout.count())},
                  });
}

ConfPtr consumer_conf(const KafkaSettings& s, const std::string& group_id) {
  return build(s, {
                      {"group.id", group_id},
                      {"enable.auto.commit", "false"},
                      {"enable.auto.offset.store", "false"},
                      {"enable.partition.eof", "false"},
                      // A position the broker no longer has (the topic was re-created):
                      // skip to the end rather than replay what was delivered.
                      {"auto.offset.reset", "latest"},
                      {"fetch.wait.max.ms", std::to_string(s.fetch_wait_max.count())},
                      {"fetch.error.backoff.ms", "50"},
                      {"fetch.message.max.bytes", std::to_string(s.max_message_bytes)},
                  });
}

}  // namespace kafka_plugin
