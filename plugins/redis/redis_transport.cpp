#include "redis_transport.hpp"

#include <boost/asio/post.hpp>
#include <future>

#include "switchboard/status.hpp"

namespace redis_plugin {
namespace asio = boost::asio;
using switchboard::Status;
using switchboard::StatusCode;

RedisSettings RedisSettings::from(const switchboard::PluginConfig& c) {
  RedisSettings s;
  s.link.address = parse_redis_url(c.get_string("url"));
  s.link.connect_timeout = std::chrono::milliseconds(c.get_duration_ms("connect_timeout"));
  s.link.command_timeout = std::chrono::milliseconds(c.get_duration_ms("command_timeout"));
  s.link.reconnect_max = std::chrono::milliseconds(c.get_duration_ms("reconnect_max"));
  s.heartbeat = std::chrono::milliseconds(c.get_duration_ms("heartbeat"));
  s.channel = c.get_string("channel");
  s.key_prefix = c.get_string("key_prefix");
  s.max_pending = static_cast<size_t>(c.get_int("max_pending"));
  if (s.channel.empty()) throw std::invalid_argument("redis.channel must not be empty");
  if (s.link.connect_timeout.count() < 1 || s.link.command_timeout.count() < 1)
    throw std::invalid_argument("redis timeouts must be positive");
  if (s.link.reconnect_max < s.link.reconnect_min) s.link.reconnect_max = s.link.reconnect_min;
  if (s.heartbeat.count() < 100) throw std::invalid_argument("redis.heartbeat must be at least 100ms");
  if (s.max_pending == 0) throw std::invalid_argument("redis.max_pending must be at least 1");
  return s;
}

RedisTransport::RedisTransport(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host),
      settings_(RedisSettings::from(config)),
      work_(io_.get_executor()),
      heartbeat_timer_(io_) {
  static std::atomic<uint64_t> instances{0};
  heartbeat_channel_ = settings_.channel + ":hb:" + std::to_string(::getpid()) + ":" +
                       std::to_string(instances++);
  sub_ = std::make_unique<RedisLink>(io_, settings_.link,
                                     RedisLink::Events{[this] { subscribe(); },
                                                       [this](const std::string& why) {
                                                         subscribed_ = false;
                                                         update_state("subscriber: " + why);
                                                       }});
  pub_ = std::make_unique<RedisLink>(io_, settings_.link,
                                     RedisLink::Events{[this] { update_state(""); },
                                                       [this](const std::string& why) {
                                                         update_state("publisher: " + why);
                                                       }});
}

RedisTransport::~RedisTransport() { stop(); }

Status RedisTransport::start() {
  if (started_) return {};
  if (thread_.joinable()) return {StatusCode::kInvalid, "a stopped redis transport cannot restart; create a new instance"};
  started_ = true;
  host_.report_state(SWITCHBOARD_STATE_STARTING, "connecting to redis");
  thread_ = std::thread([this] { io_.run(); });
  asio::post(io_, [this] {
    sub_->start();
    pub_->start();
    last_heard_ = std::chrono::steady_clock::now();
    heartbeat();
  });
  return {};
}

void RedisTransport::subscribe() {
  const std::string& bus = settings_.channel;
  // One persistent callback for both channels: ["message", channel, payload],
  // ["subscribe", channel, count]; NULL when the connection goes.
  auto on_message = [this, bus](redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    std::string_view kind(r->element[0]->str, r->element[0]->len);
    std::string_view channel(r->element[1]->str, r->element[1]->len);
    if (kind == "message") {
      // Any message proves the connection alive: behind a backlog that a slow
      // deliver() drains, the heartbeats come late, and resetting the connection
      // then would drop every message still queued in it.
      last_heard_ = std::chrono::steady_clock::now();
      if (channel == bus) host_.deliver({r->element[2]->str, r->element[2]->len});
    } else if (kind == "subscribe" && channel == bus) {
      subscribed_ = true;
      last_heard_ = std::chrono::steady_clock::now();
      update_state("");
    }
  };
  if (!sub_->command({"SUBSCRIBE", bus, heartbeat_channel_}, on_message, true))
    sub_->reset("SUBSCRIBE could not be sent");
}

void RedisTransport::heartbeat() {
  if (pub_->ready()) pub_->command({"PUBLISH", heartbeat_channel_, "hb"}, nullptr);
  if (subscribed_ && std::chrono::steady_clock::now() - last_heard_ > 3 * settings_.heartbeat)
    sub_->reset("nothing heard on the subscribed connection (not even its heartbeat) for " +
                std::to_string(3 * settings_.heartbeat.count()) + " ms");
  heartbeat_timer_.expires_after(settings_.heartbeat);
  heartbeat_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) heartbeat();
  });
}

void RedisTransport::update_state(const std::string& detail) {
  bool up = subscribed_ && sub_->ready() && pub_->ready();
  connected_ = up;
  ever_up_ = ever_up_ || up;
  if (!up && !ever_up_ && detail.empty()) return;  // still starting: one link is up, not both
  int state = up ? SWITCHBOARD_STATE_CONNECTED : SWITCHBOARD_STATE_RECONNECTING;
  // Same state again: report only a new reason for being up (never flood a
  // reconnecting log with every failed attempt).
  if (state == reported_ && (detail.empty() || !up)) return;
  reported_ = state;
  const auto& a = settings_.link.address;
  host_.report_state(static_cast<switchboard_state>(state),
                     up ? "redis " + a.host + ":" + std::to_string(a.port) + " channel " + settings_.channel
                        : detail);
}

Status RedisTransport::publish(std::string_view bytes) {
  if (!started_) return {StatusCode::kUnavailable, "not started"};
  if (!connected_) return {StatusCode::kUnavailable, "redis not connected"};
  if (pending_.load() >= settings_.max_pending)
    return {StatusCode::kBackpressure, "too many publishes waiting for redis"};
  ++pending_;
  asio::post(io_, [this, msg = std::string(bytes)] {
    bool sent = pub_->command({"PUBLISH", settings_.channel, msg}, [this](redisReply*) { --pending_; });
    if (!sent) --pending_;  // lost between the check and now: at-most-once
  });
  return {};
}

void RedisTransport::stop() {
  if (!started_) return;
  started_ = false;
  std::promise<void> done;
  asio::post(io_, [this, &done] {
    heartbeat_timer_.cancel();
    sub_->stop();
    pub_->stop();
    connected_ = false;
    done.set_value();
  });
  done.get_future().wait();
  work_.reset();
  io_.stop();
  thread_.join();
  host_.report_state(SWITCHBOARD_STATE_STOPPED);
}

}  // namespace redis_plugin
