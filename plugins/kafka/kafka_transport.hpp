// The Kafka transport: the bus is one topic (default `ss.event`), so any Kafka
// producer writing JSON events to it reaches every server.
//
// Broadcast, not load balancing: each instance assign()s every partition of the
// topic itself, starting at the high watermark at start-up — no shared consumer
// group, no rebalance, no offset commits (its group.id is its own and unused).
// Partitions that appear later are read from their beginning. The topic is
// created when missing (kafka.partitions, 1 by default: one total order);
// TOPIC_ALREADY_EXISTS is success. With several partitions order holds per
// partition; this instance keys its messages with an id of its own, so one
// server's publishes stay on one partition, in order.
//
// At-most-once, never twice: the producer keeps one request in flight (a lone
// event goes out at once; events published meanwhile form the next request: a
// request per event would swamp a broker at ~10k events/s) and never retries a
// request; a
// message not acknowledged within kafka.message_timeout is dropped and counted
// (delivery_failed). A consumer that finds its position gone (the topic was
// re-created) skips to the end.
//
// Threads: one thread of the instance does everything that calls the host: it
// connects (creates the topic, reads the partitions and their watermarks,
// assigns), then polls the consumer (messages → deliver(), one at a time in
// partition order), serves the producer's delivery reports and librdkafka's logs
// and errors (routed into the handles' queues: no librdkafka thread calls the
// host), and checks the broker every kafka.health_interval (metadata request).
// publish() runs on the host's control thread and only enqueues.
// stop() joins that thread, gives queued publishes a short flush, and destroys
// the handles: after it returns nothing calls the host.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kafka_settings.hpp"
#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/transport.hpp"

namespace kafka_plugin {

class KafkaTransport final : public switchboard::Transport {
 public:
  KafkaTransport(const switchboard::PluginConfig& config, switchboard::Host host);
  ~KafkaTransport() override;
  switchboard::Status start() override;
  switchboard::Status publish(std::string_view bytes) override;
  void stop() override;

 private:
  void run();                 // the instance's thread
  bool connect();             // topic, partitions, watermarks, assign; false when not (yet)
  bool ensure_topic(std::string& why);
  int partition_count(std::string& why);  // -1 when unknown
  void check_health();
  void serve_producer();
  void on_message(rd_kafka_message_t* m);
  void report(int state, const std::string& detail);
  // Warnings and errors, at most one line a second per kind (librdkafka's own
  // lines and client errors every 30 s: they repeat on every reconnect attempt).
  enum class LogKind : size_t { kDelivery, kConsumer, kClient, kLibrary, kCount };
  void log_limited(switchboard_log_level level, LogKind kind, const std::string& text);
  bool sleep_unless_stopping(std::chrono::milliseconds d);
  int timeout_ms() const;

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

  switchboard::Host host_;
  KafkaSettings settings_;
  std::string id_;  // this instance: its consumer group and its message key
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_t* consumer_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;  // the producer's handle of the topic
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};  // as last reported; publish() reads it
  std::atomic<bool> closed_{false};     // stop() is destroying the handles: callbacks stay silent
  std::mutex mu_;
  std::condition_variable cv_;          // wakes the thread's sleeps at stop
  // The instance's thread only:
  std::vector<int> assigned_;           // partitions read
  bool assigned_once_ = false;
  bool all_down_ = false;               // librdkafka said every broker is down
  std::chrono::steady_clock::time_point next_health_{};
  int reported_ = -1;
  std::string reported_detail_;
  std::chrono::steady_clock::time_point last_log_[static_cast<size_t>(LogKind::kCount)]{};
  bool started_ = false;  // control thread
  bool stopped_ = false;  // control thread
};

}  // namespace kafka_plugin
