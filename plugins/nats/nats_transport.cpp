#include "nats_transport.hpp"

#include <unistd.h>

namespace nats_plugin {
using switchboard::Status;
using switchboard::StatusCode;

NatsTransport::NatsTransport(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host), settings_(NatsSettings::from(config)) {
  conn_ = std::make_unique<NatsConnection>(
      settings_, "switchboard-transport-" + std::to_string(::getpid()),
      NatsConnection::Events{[this](NatsConnection::State, const std::string& detail) { report(detail); },
                             [this](natsSubscription* sub, natsStatus err) { on_error(sub, err); }});
}

NatsTransport::~NatsTransport() { stop(); }

Status NatsTransport::start() {
  if (started_) return {};
  if (stopped_) return {StatusCode::kInvalid, "a stopped nats transport cannot restart; create a new instance"};
  started_ = true;
  host_.report_state(SWITCHBOARD_STATE_STARTING, "connecting to nats " + conn_->where());
  conn_->start([this](natsConnection* nc) { subscribe(nc); });
  return {};
}

void NatsTransport::subscribe(natsConnection* nc) {
  natsSubscription* sub = nullptr;
  natsStatus s = natsConnection_Subscribe(&sub, nc, settings_.subject.c_str(), &NatsTransport::on_message, this);
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub, settings_.pending_messages,
                                                          static_cast<int>(settings_.pending_bytes));
  if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(sub, &NatsTransport::on_subscription_done, this);
  if (s != NATS_OK) {
    if (sub) natsSubscription_Destroy(sub);
    host_.report_state(SWITCHBOARD_STATE_FAILED, nats_error("subscribe to " + settings_.subject, s));
    return;
  }
  sub_ = sub;
  // When connected, make sure the server has registered the subscription before
  // CONNECTED is reported (a reconnect resends it before anything else).
  if (conn_->connected()) natsConnection_FlushTimeout(nc, settings_.request_timeout.count());
  subscribed_ = true;
  report("");
}

void NatsTransport::on_message(natsConnection*, natsSubscription* sub, natsMsg* msg, void* self) {
  auto* t = static_cast<NatsTransport*>(self);
  if (!t->stopping_)
    t->host_.deliver({natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))});
  natsMsg_Destroy(msg);
  // The library reports a slow consumer once when it starts dropping, not per
  // message dropped: look at the running count now and then.
  if (++t->received_ % 4096 == 0) t->count_drops(sub);
}

void NatsTransport::count_drops(natsSubscription* sub) {
  int64_t total = 0;
  if (natsSubscription_GetDropped(sub, &total) != NATS_OK) return;
  int64_t seen = dropped_seen_.load();
  while (total > seen && !dropped_seen_.compare_exchange_weak(seen, total)) {
  }
  if (total > seen) host_.count("slow_consumer_dropped", static_cast<uint64_t>(total - seen));
}

void NatsTransport::on_subscription_done(void* self) {
  auto* t = static_cast<NatsTransport*>(self);
  // The last touch of `t`: stop() may return as soon as the lock is free.
  std::lock_guard lock(t->mu_);
  t->sub_done_ = true;
  t->cv_.notify_all();
}

void NatsTransport::on_error(natsSubscription* sub, natsStatus err) {
  if (err != NATS_SLOW_CONSUMER) {
    host_.log(SWITCHBOARD_LOG_WARN, nats_error("asynchronous error", err));
    return;
  }
  if (sub) count_drops(sub);
  const int64_t dropped = dropped_seen_.load();
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now - last_drop_log_ < std::chrono::seconds(1)) return;  // one line a second at most
  last_drop_log_ = now;
  host_.log(SWITCHBOARD_LOG_WARN,
            "nats: slow consumer: " + std::to_string(dropped) + " messages on " + settings_.subject +
                " dropped so far because this server did not keep up (counted in "
                "switchboard_plugin_events_total{event=\"slow_consumer_dropped\"}; raise "
                "nats.pending_messages / nats.pending_bytes, or add servers)");
}

void NatsTransport::report(const std::string& detail) {
  const bool up = conn_->connected() && subscribed_;
  const auto conn = conn_->state();
  // Until the subscription exists the instance is starting (start() said so);
  // afterwards the library keeps it across reconnects.
  if (!subscribed_ && conn != NatsConnection::State::kClosed) return;
  int state = up ? SWITCHBOARD_STATE_CONNECTED
                 : conn == NatsConnection::State::kClosed ? SWITCHBOARD_STATE_FAILED
                                                          : SWITCHBOARD_STATE_RECONNECTING;
  std::string text = up ? "nats " + conn_->where() + " subject " + settings_.subject
                        : (detail.empty() ? "subscribing to " + settings_.subject : detail);
  std::lock_guard lock(mu_);
  if (stopping_ || (state == reported_ && text == reported_detail_)) return;
  reported_ = state;
  reported_detail_ = text;
  host_.report_state(static_cast<switchboard_state>(state), text);
}

Status NatsTransport::publish(std::string_view bytes) {
  if (!started_ || stopping_) return {StatusCode::kUnavailable, "not started"};
  natsConnection* nc = conn_->get();
  if (nc == nullptr || !conn_->connected()) return {StatusCode::kUnavailable, "nats not connected"};
  natsStatus s = natsConnection_Publish(nc, settings_.subject.c_str(), bytes.data(), static_cast<int>(bytes.size()));
  switch (s) {
    case NATS_OK: return {};
    case NATS_MAX_PAYLOAD:
      return {StatusCode::kInvalid, "a message of " + std::to_string(bytes.size()) +
                                        " bytes is over the nats server's max_payload"};
    case NATS_INSUFFICIENT_BUFFER: return {StatusCode::kBackpressure, "nats reconnect buffer full"};
    default: return {StatusCode::kUnavailable, nats_error("publish", s)};
  }
}

void NatsTransport::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;  // deliver() no more; a deliver() in progress finishes
  conn_->close();    // joins the connecting thread, closes the subscription with the connection
  if (sub_) {
    // The subscription's thread calls on_subscription_done after its last message.
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return sub_done_; });
    lock.unlock();
    count_drops(sub_);
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
  }
  host_.report_state(SWITCHBOARD_STATE_STOPPED);
}

}  // namespace nats_plugin
