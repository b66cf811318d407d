#include "kafka_transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <random>

namespace kafka_plugin {
using switchboard::Status;
using switchboard::StatusCode;

namespace {


std::string instance_id() {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%d-%08x%08x", static_cast<int>(::getpid()), rd(), rd());
  return buf;
}

switchboard_log_level level_of(int syslog_level) {
  if (syslog_level <= 3) return SWITCHBOARD_LOG_ERROR;
  if (syslog_level == 4) return SWITCHBOARD_LOG_WARN;
  if (syslog_level <= 6) return SWITCHBOARD_LOG_INFO;
  return SWITCHBOARD_LOG_DEBUG;
}

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};

}  // namespace

KafkaTransport::KafkaTransport(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host), settings_(KafkaSettings::from(config)), id_(instance_id()) {}

KafkaTransport::~KafkaTransport() { stop(); }

int KafkaTransport::timeout_ms() const {
  return static_cast<int>(std::min<int64_t>(settings_.request_timeout.count(), 1000));
}

Status KafkaTransport::start() {
  if (started_) return {};
  if (stopped_) return {StatusCode::kInvalid, "a stopped kafka transport cannot restart; create a new instance"};
  char err[512];
  try {
    ConfPtr pc = producer_conf(settings_);
    rd_kafka_conf_set_opaque(pc.get(), this);
    rd_kafka_conf_set_dr_msg_cb(pc.get(), &KafkaTransport::on_delivery);
    rd_kafka_conf_set_error_cb(pc.get(), &KafkaTransport::on_error);
    rd_kafka_conf_set_log_cb(pc.get(), &KafkaTransport::on_log);
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, pc.get(), err, sizeof err);
    if (!producer_) return {StatusCode::kInvalid, std::string("kafka: producer: ") + err};
    pc.release();  // owned by the handle now
    ConfPtr cc = consumer_conf(settings_, "switchboard-" + id_);
    rd_kafka_conf_set_opaque(cc.get(), this);
    rd_kafka_conf_set_error_cb(cc.get(), &KafkaTransport::on_error);
    rd_kafka_conf_set_log_cb(cc.get(), &KafkaTransport::on_log);
    consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, cc.get(), err, sizeof err);
    if (!consumer_) return {StatusCode::kInvalid, std::string("kafka: consumer: ") + err};
    cc.release();
  } catch (const std::invalid_argument& e) {
    return {StatusCode::kInvalid, e.what()};
  }
  rd_kafka_set_log_queue(producer_, nullptr);  // logs into the main queue: served by our polls
  rd_kafka_set_log_queue(consumer_, nullptr);
  rd_kafka_poll_set_consumer(consumer_);  // the consumer's callbacks are served by consumer_poll
  topic_ = rd_kafka_topic_new(producer_, settings_.topic.c_str(), nullptr);
  if (!topic_) return {StatusCode::kInvalid, "kafka: topic handle: " + std::string(rd_kafka_err2str(rd_kafka_last_error()))};
  started_ = true;
  host_.report_state(SWITCHBOARD_STATE_STARTING, "connecting to kafka " + settings_.brokers.front());
  reported_ = SWITCHBOARD_STATE_STARTING;
  thread_ = std::thread([this] { run(); });
  return {};
}

Status KafkaTransport::publish(std::string_view bytes) {
  if (!started_ || stopping_) return {StatusCode::kUnavailable, "not started"};
  if (!connected_) return {StatusCode::kUnavailable, "kafka not connected"};
  rd_kafka_resp_err_t e = rd_kafka_producev(
      producer_, RD_KAFKA_V_RKT(topic_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_VALUE(const_cast<char*>(bytes.data()), bytes.size()),
      RD_KAFKA_V_KEY(id_.data(), id_.size()), RD_KAFKA_V_END);
  switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return {};
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return {StatusCode::kBackpressure, "kafka producer queue full (kafka.queue_messages)"};
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return {StatusCode::kInvalid, "a message of " + std::to_string(bytes.size()) +
                                        " bytes is over kafka's message.max.bytes"};
    default: return {StatusCode::kUnavailable, std::string("kafka: produce: ") + rd_kafka_err2str(e)};
  }
}

void KafkaTransport::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // no deliver() after this
  // What is still queued gets a moment to go out, then is dropped (counted).
  rd_kafka_flush(producer_, 500);
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(producer_, 0);
  rd_kafka_consumer_close(consumer_);
  closed_ = true;  // from here on the callbacks do not call the host
  rd_kafka_topic_destroy(topic_);
  rd_kafka_destroy(producer_);
  rd_kafka_destroy(consumer_);
  topic_ = nullptr;
  producer_ = consumer_ = nullptr;
  host_.report_state(SWITCHBOARD_STATE_STOPPED);
}

// ---- the instance's thread ------------------------------------------------------

void KafkaTransport::run() {
  // Until the first assignment: connect with backoff. After it the consumer is
  // polled whatever the state: librdkafka reconnects by itself, and delivery
  // resumes the moment the broker answers (the health check only reports).
  auto backoff = std::chrono::milliseconds(100);
  while (!stopping_ && !assigned_once_) {
    if (connect()) break;
    serve_producer();
    // Serves the consumer's logs and errors (a message may come too).
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 0)) on_message(m);
    sleep_unless_stopping(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(settings_.reconnect_backoff_max));
  }
  while (!stopping_) {
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 100)) on_message(m);
    serve_producer();
    if (std::chrono::steady_clock::now() >= next_health_) check_health();
  }
}

bool KafkaTransport::sleep_unless_stopping(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stopping_.load(); });
}

void KafkaTransport::serve_producer() { rd_kafka_poll(producer_, 0); }

bool KafkaTransport::ensure_topic(std::string& why) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(settings_.topic.c_str(), settings_.partitions,
                                                  settings_.replication_factor, err, sizeof err);
  if (!nt) {
    why = std::string("kafka: topic ") + settings_.topic + ": " + err;
    return false;
  }
  // Room for the largest event the core takes from the bus (limits.max_bus_message_bytes,
  // 1 MiB) plus the record batch around it: Kafka's default is 1 MB.
  rd_kafka_NewTopic_set_config(nt, "max.message.bytes", std::to_string(settings_.max_message_bytes).c_str());
  rd_kafka_AdminOptions_t* opt = rd_kafka_AdminOptions_new(producer_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opt, static_cast<int>(settings_.request_timeout.count()), err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opt, static_cast<int>(settings_.request_timeout.count()), err,
                                              sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(producer_);
  rd_kafka_CreateTopics(producer_, &nt, 1, opt, q);
  bool ok = false;
  const auto until = std::chrono::steady_clock::now() + settings_.request_timeout + std::chrono::seconds(1);
  why = "kafka: creating topic " + settings_.topic + ": no answer within kafka.request_timeout";
  while (!stopping_ && std::chrono::steady_clock::now() < until) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 100);
    serve_producer();
    if (!ev) continue;
    if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_CREATETOPICS_RESULT) {
      if (rd_kafka_event_error(ev)) {
        why = std::string("kafka: creating topic ") + settings_.topic + ": " + rd_kafka_event_error_string(ev);
      } else {
        size_t n = 0;
        const rd_kafka_topic_result_t** res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
        ok = e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS;
        if (!ok) {
          const char* msg = rd_kafka_topic_result_error_string(res[0]);
          why = "kafka: creating topic " + settings_.topic + ": " + (msg ? msg : rd_kafka_err2str(e));
        }
      }
      rd_kafka_event_destroy(ev);
      break;
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opt);
  rd_kafka_NewTopic_destroy(nt);
  return ok;
}

int KafkaTransport::partition_count(std::string& why) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(consumer_, settings_.topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(consumer_, 0, t, &md, timeout_ms());
  rd_kafka_topic_destroy(t);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    why = std::string("kafka: no broker answers (") + rd_kafka_err2str(e) + ")";
    return -1;
  }
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> hold(md);
  if (md->topic_cnt < 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    why = "kafka: topic " + settings_.topic + ": " +
          (md->topic_cnt < 1 ? std::string("not in the metadata") : rd_kafka_err2str(md->topics[0].err));
    return 0;
  }
  // A topic just created has partitions without a leader for a moment: events
  // published then would wait for the producer's next metadata refresh.
  for (int i = 0; i < md->topics[0].partition_cnt; ++i)
    if (md->topics[0].partitions[i].leader < 0) {
      why = "kafka: topic " + settings_.topic + ": partition " + std::to_string(md->topics[0].partitions[i].id) +
            " has no leader yet";
      return -1;
    }
  return md->topics[0].partition_cnt;
}

bool KafkaTransport::connect() {
  std::string why;
  int n = partition_count(why);
  if (n == 0 && settings_.create_topic) {
    if (!ensure_topic(why)) {
      report(assigned_once_ ? SWITCHBOARD_STATE_RECONNECTING : SWITCHBOARD_STATE_STARTING, why);
      return false;
    }
    n = partition_count(why);
  }
  if (n <= 0) {
    report(assigned_once_ ? SWITCHBOARD_STATE_RECONNECTING : SWITCHBOARD_STATE_STARTING, why);
    return false;
  }
  // Add the partitions not read yet: at start-up from the high watermark (what
  // is already there was published before this server existed), later ones
  // (partitions added to the topic) from their beginning.
  rd_kafka_topic_partition_list_t* add = rd_kafka_topic_partition_list_new(n);
  std::vector<int> added;
  for (int p = 0; p < n; ++p) {
    if (std::find(assigned_.begin(), assigned_.end(), p) != assigned_.end()) continue;
    int64_t low = 0, high = RD_KAFKA_OFFSET_END;
    if (!assigned_once_) {
      rd_kafka_resp_err_t e =
          rd_kafka_query_watermark_offsets(consumer_, settings_.topic.c_str(), p, &low, &high, timeout_ms());
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(add);
        report(SWITCHBOARD_STATE_STARTING, "kafka: watermarks of " + settings_.topic + "[" + std::to_string(p) +
                                               "]: " + rd_kafka_err2str(e));
        return false;
      }
    } else {
      high = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_topic_partition_list_add(add, settings_.topic.c_str(), p)->offset = high;
    added.push_back(p);
  }
  if (!added.empty()) {
    // The producer learns the partitions' leaders now, not at the first publish.
    const rd_kafka_metadata_t* pmd = nullptr;
    if (rd_kafka_metadata(producer_, 0, topic_, &pmd, timeout_ms()) == RD_KAFKA_RESP_ERR_NO_ERROR)
      rd_kafka_metadata_destroy(pmd);
    rd_kafka_error_t* err = rd_kafka_incremental_assign(consumer_, add);
    if (err) {
      std::string text = rd_kafka_error_string(err);
      rd_kafka_error_destroy(err);
      rd_kafka_topic_partition_list_destroy(add);
      report(assigned_once_ ? SWITCHBOARD_STATE_RECONNECTING : SWITCHBOARD_STATE_STARTING,
             "kafka: assign: " + text);
      return false;
    }
    assigned_.insert(assigned_.end(), added.begin(), added.end());
  }
  rd_kafka_topic_partition_list_destroy(add);
  assigned_once_ = true;
  all_down_ = false;
  next_health_ = std::chrono::steady_clock::now() + settings_.health_interval;
  report(SWITCHBOARD_STATE_CONNECTED, "kafka " + settings_.brokers.front() + " topic " + settings_.topic + " (" +
                                          std::to_string(assigned_.size()) + " partition" +
                                          (assigned_.size() == 1 ? "" : "s") + ")");
  return true;
}

void KafkaTransport::check_health() {
  std::string why;
  int n = partition_count(why);
  if (n <= 0) {
    report(SWITCHBOARD_STATE_RECONNECTING, why);
    // While down, look again soon: the way back is reported within ~0.25 s.
    next_health_ = std::chrono::steady_clock::now() +
                   std::min<std::chrono::milliseconds>(settings_.health_interval, std::chrono::milliseconds(250));
    return;
  }
  next_health_ = std::chrono::steady_clock::now() + settings_.health_interval;
  // Back after an outage, or the topic gained partitions: connect() adds what
  // is new and reports CONNECTED.
  if (!connected_ || all_down_ || static_cast<size_t>(n) > assigned_.size()) connect();
}

void KafkaTransport::on_message(rd_kafka_message_t* m) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (!stopping_) host_.deliver({static_cast<const char*>(m->payload), m->len});
  } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    host_.count("consumer_errors");
    log_limited(SWITCHBOARD_LOG_WARN, LogKind::kConsumer, rd_kafka_message_errstr(m));
    if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
      next_health_ = {};  // look again at once (the topic may be gone)
  }
  rd_kafka_message_destroy(m);
}

void KafkaTransport::report(int state, const std::string& detail) {
  connected_ = state == SWITCHBOARD_STATE_CONNECTED;
  if (stopping_ || (state == reported_ && detail == reported_detail_)) return;
  reported_ = state;
  reported_detail_ = detail;
  host_.report_state(static_cast<switchboard_state>(state), detail);
}

void KafkaTransport::log_limited(switchboard_log_level level, LogKind kind, const std::string& text) {
  static constexpr const char* kWhat[] = {"delivery", "consumer", "client", "librdkafka"};
  const auto k = static_cast<size_t>(kind);
  const auto every =
      kind == LogKind::kLibrary || kind == LogKind::kClient ? std::chrono::seconds(30) : std::chrono::seconds(1);
  auto now = std::chrono::steady_clock::now();
  if (last_log_[k] != std::chrono::steady_clock::time_point{} && now - last_log_[k] < every) return;
  last_log_[k] = now;
  host_.log(level, std::string("kafka: ") + kWhat[k] + ": " + text);
}

// ---- librdkafka callbacks: served by rd_kafka_poll / consumer_poll on the
// instance's thread, or by the flush and close in stop() ------------------------

void KafkaTransport::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* t = static_cast<KafkaTransport*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || t->closed_) return;
  t->host_.count("delivery_failed");
  if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
    t->log_limited(SWITCHBOARD_LOG_WARN, LogKind::kDelivery,
                   std::string("an event was not delivered to the topic and is dropped (") + rd_kafka_err2str(m->err) +
                       "; counted in switchboard_plugin_events_total{event=\"delivery_failed\"})");
}

void KafkaTransport::on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* t = static_cast<KafkaTransport*>(opaque);
  if (t->closed_) return;
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    t->all_down_ = true;
    t->report(SWITCHBOARD_STATE_RECONNECTING, std::string("kafka: ") + reason);
    t->next_health_ = {};  // look for the way back at once
    return;
  }
  t->log_limited(SWITCHBOARD_LOG_WARN, LogKind::kClient, reason);
}

void KafkaTransport::on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* t = static_cast<KafkaTransport*>(rd_kafka_opaque(rk));
  if (!t || t->closed_ || level > 4) return;  // warnings and worse; the rest is librdkafka's debug chatter
  // Never above a warning: what matters of an outage is in the state reports.
  t->log_limited(std::min(level_of(level), SWITCHBOARD_LOG_WARN), LogKind::kLibrary, std::string(fac) + ": " + buf);
}

}  // namespace kafka_plugin
