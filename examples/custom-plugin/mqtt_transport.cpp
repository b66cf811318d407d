// mqtt_transport.cpp — the `mqtt` transport: Switchboard's bus carried by an MQTT
// broker through libmosquitto. A worked third-party plugin: it includes only the
// installed SDK headers and libmosquitto, and builds out of tree.
//
// What it does
//   Every instance publishes each bus message to one MQTT topic (`mqtt.topic`) and
//   subscribes to that same topic, so every server on the broker — the publisher
//   included — receives every message. MQTT 3.1.1 has no "no local" option: the
//   broker sends a client its own publications when they match its subscription.
//   That is the self-echo the transport contract asks for, and it gives every
//   server one broker order per topic, external publishers included.
//
// Semantics
//   At-most-once: QoS 0 both ways and a clean session, so the broker keeps nothing
//   for a server that is away and nothing is retried. publish() while the broker is
//   unreachable returns UNAVAILABLE at once; nothing is queued for later. Retained
//   messages are not bus traffic (they would replay an old event on every
//   resubscribe) and are dropped. With mqtt.tls_ca_file set the connection uses
//   TLS and the broker's certificate and host name are verified.
//
// Threads
//   - Host control thread: constructor, start(), publish(), stop(). Only stop()
//     waits, for the network thread to finish (bounded, see Stop).
//   - One network thread per instance, ours. It makes every connect call and runs
//     every libmosquitto callback, so Host::deliver() is called from one thread in
//     the order the broker sent the messages.
//   publish() appends to libmosquitto's outgoing queue (libmosquitto locks it, as
//   mosquitto_threaded_set asks) and wakes the network thread through an eventfd.
//
//   Why not mosquitto_loop_start(): its loop uses select(), and when the client's
//   socket number is >= FD_SETSIZE (1024) — normal in a server holding thousands of
//   WebSocket connections — mosquitto_loop() returns MOSQ_ERR_INVAL and the thread
//   exits without any callback: the transport would go deaf for good after a
//   reconnect. It also counts reconnect delays in whole seconds, connects (and
//   resolves the host name) inside start(), and can only be stopped promptly by
//   pthread_cancel. So this plugin drives libmosquitto's documented external-loop
//   API (mosquitto_socket, mosquitto_want_write, mosquitto_loop_read/write/misc)
//   with poll().
//
// Failures
//   The network thread reconnects by itself with exponential backoff (250 ms
//   doubling to 2 s; back to 250 ms after a good connection) and subscribes again
//   on every connection, so a broker restart is survived. States: STARTING →
//   CONNECTED once the broker has acknowledged the subscription; RECONNECTING while
//   the broker cannot be reached; FAILED while the broker refuses us or an error
//   looks like configuration (credentials, ACL, TLS, protocol). FAILED still
//   retries, so fixing the broker heals it without a restart.
//
// Stop
//   stop() closes the gate every callback passes before it calls the host (a flag
//   under mu_; callbacks hold mu_ while they call the host, so stop() also waits
//   for one in progress), then asks the network thread to leave: it sends
//   DISCONNECT, gives it up to kDisconnectWait to be written, and exits; stop()
//   joins it. When stop() returns no callback can arrive.
//   Lock rule: never call libmosquitto while holding mu_ or pending_mu_
//   (libmosquitto runs our callbacks with its own locks held; they take ours).

#include <mosquitto.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "switchboard/plugin.hpp"

namespace mqtt_plugin {
namespace {

using switchboard::Status;
using switchboard::StatusCode;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Reconnect backoff: the floor retries a blip quickly without hammering a broker
// that is starting; the cap bounds how long a server stays deaf once the broker
// is back.
constexpr milliseconds kBackoffMin{250};
constexpr milliseconds kBackoffMax{2000};

// How long a stopping instance lets DISCONNECT reach the socket: plenty on a
// working network, short enough that a stalled broker cannot hold up a shutdown.
constexpr milliseconds kDisconnectWait{1000};

// The poll timeout: mosquitto_loop_misc() (keepalive pings, the keepalive
// deadline) must run about once a second even when nothing else happens.
constexpr int kPollTimeoutMs = 1000;

// Packets read per wake-up before the thread looks at writes and the keepalive
// again: a flood from the broker cannot starve our own publishes.
constexpr int kReadBatch = 64;

// MQTT's largest packet is 268,435,455 bytes (a 4-byte remaining length); the
// topic and the header come out of it.
constexpr size_t kMaxMqttPacket = 268435455;

// libmosquitto accepts a keepalive of 5..65535 s.
constexpr int64_t kMinKeepaliveMs = 5000;
constexpr int64_t kMaxKeepaliveMs = 65535 * int64_t{1000};

// libmosquitto is initialised once per process and never cleaned up: another
// plugin in the process may use it too, and a plugin is never unloaded while one
// of its instances is alive.
void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string mosq_error(int rc) {
  // MOSQ_ERR_ERRNO means "look at errno"; std::error_code reads it thread-safely.
  if (rc == MOSQ_ERR_ERRNO) return std::error_code(errno, std::generic_category()).message();
  // libmosquitto 2.0.11 has no text for these two.
  if (rc == MOSQ_ERR_KEEPALIVE) return "no answer from the broker within the keepalive";
  if (rc == MOSQ_ERR_MALFORMED_PACKET) return "malformed packet from the broker";
  std::string text = mosquitto_strerror(rc);
  if (text == "Unknown error.") text += " (libmosquitto code " + std::to_string(rc) + ")";
  return text;
}

// Errors that retrying will not cure until someone changes a configuration
// (ours or the broker's): reported as FAILED rather than RECONNECTING.
bool looks_like_configuration(int rc) {
  switch (rc) {
    case MOSQ_ERR_CONN_REFUSED:
    case MOSQ_ERR_PROTOCOL:
    case MOSQ_ERR_TLS:
    case MOSQ_ERR_TLS_HANDSHAKE:
    case MOSQ_ERR_AUTH:
    case MOSQ_ERR_ACL_DENIED:
    case MOSQ_ERR_NOT_SUPPORTED:
    case MOSQ_ERR_MALFORMED_PACKET:
    case MOSQ_ERR_OCSP: return true;
    default: return false;
  }
}

bool valid_utf8(const std::string& s) {
  return s.size() <= 65535 &&
         mosquitto_validate_utf8(s.data(), static_cast<int>(s.size())) == MOSQ_ERR_SUCCESS;
}

// A publish topic names exactly one topic: brokers reject wildcards in PUBLISH
// (MQTT 3.1.1 §4.7.1), and our subscription would match more than we publish.
std::string checked_topic(const std::string& topic) {
  if (topic.empty()) throw std::invalid_argument("mqtt.topic must not be empty");
  for (char wildcard : {'+', '#'})
    if (topic.find(wildcard) != std::string::npos)
      throw std::invalid_argument("mqtt.topic '" + topic + "' contains the wildcard '" +
                                  std::string(1, wildcard) +
                                  "'; a publish topic must name one topic, e.g. ss/event");
  if (topic.front() == '$')
    throw std::invalid_argument("mqtt.topic '" + topic +
                                "' starts with '$', which brokers reserve for themselves");
  if (!valid_utf8(topic) ||
      mosquitto_pub_topic_check2(topic.data(), topic.size()) != MOSQ_ERR_SUCCESS)
    throw std::invalid_argument(
        "mqtt.topic is not a valid MQTT topic (UTF-8, at most 65535 bytes)");
  return topic;
}

// prefix-<64 random bits in hex>: two servers, or two instances in one process,
// never share an id (the broker would disconnect the older one).
std::string unique_client_id(const std::string& prefix) {
  std::random_device rd;
  uint64_t bits = (uint64_t{rd()} << 32) ^ rd();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string suffix(16, '0');
  for (auto& c : suffix) {
    c = kHex[bits & 0xf];
    bits >>= 4;
  }
  return prefix.empty() ? suffix : prefix + "-" + suffix;
}

int64_t int_in_range(const switchboard::PluginConfig& config, const char* key, int64_t min,
                     int64_t max) {
  int64_t v = config.get_int(key);
  if (v < min || v > max)
    throw std::invalid_argument("mqtt." + std::string(key) + " must be " +
                                (max == INT64_MAX
                                     ? "at least " + std::to_string(min)
                                     : std::to_string(min) + ".." + std::to_string(max)) +
                                ", got " + std::to_string(v));
  return v;
}

int keepalive_seconds(const switchboard::PluginConfig& config) {
  int64_t ms = config.get_duration_ms("keepalive");
  if (ms < kMinKeepaliveMs || ms > kMaxKeepaliveMs)
    throw std::invalid_argument("mqtt.keepalive must be 5s..65535s (libmosquitto's range)");
  return static_cast<int>((ms + 999) / 1000);  // MQTT counts whole seconds
}

}  // namespace

class MqttTransport final : public switchboard::Transport {
 public:
  MqttTransport(const switchboard::PluginConfig& config, switchboard::Host host);
  ~MqttTransport() override;
  MqttTransport(const MqttTransport&) = delete;
  MqttTransport& operator=(const MqttTransport&) = delete;

  Status start() override;
  Status publish(std::string_view bytes) override;
  void stop() override;

 private:
  // The network thread: connect, pump, back off, until stop().
  void run();
  // Services one connection attempt until its socket closes or stop() is seen.
  void pump();
  bool stop_requested();
  void wake();

  // libmosquitto callbacks, all on the network thread; obj is the instance.
  static void on_connect(mosquitto* mosq, void* obj, int rc);
  static void on_subscribe(mosquitto* mosq, void* obj, int mid, int count, const int* granted);
  static void on_message(mosquitto* mosq, void* obj, const mosquitto_message* message);
  static void on_publish(mosquitto* mosq, void* obj, int mid);
  static void on_disconnect(mosquitto* mosq, void* obj, int rc);
  static void on_log(mosquitto* mosq, void* obj, int level, const char* text);

  // Reports a state unless stop() has closed the gate.
  void report(switchboard_state state, const std::string& detail);
  // Forgets the publishes libmosquitto still held: it drops its outgoing queue
  // when a connection ends, without an on_publish for them.
  void reset_pending();
  std::string where() const;

  const switchboard::Host host_;
  const std::string broker_host_;
  const int port_;
  const std::string topic_;
  const std::string client_id_;
  const int keepalive_s_;
  const size_t max_pending_bytes_;
  bool tls_ = false;           // set once in the constructor
  mosquitto* mosq_ = nullptr;  // owned; freed in the destructor
  int wake_fd_ = -1;           // owned eventfd: publish() and stop() wake the network thread
  std::thread thread_;         // the network thread; joined by stop()

  std::mutex mu_;
  std::condition_variable stop_cv_;  // interrupts the reconnect backoff
  bool started_ = false;             // guarded by mu_
  bool stop_requested_ = false;      // guarded by mu_
  bool gate_open_ = false;           // guarded by mu_; the host may be called only while true

  // Publishes handed to libmosquitto and not yet written to the socket, oldest
  // first (libmosquitto writes in order and reports each QoS 0 write through
  // on_publish), so a stalled connection cannot grow memory without bound.
  std::mutex pending_mu_;
  std::deque<size_t> pending_;  // guarded by pending_mu_
  size_t pending_bytes_ = 0;    // guarded by pending_mu_
  uint64_t connection_ = 0;     // guarded by pending_mu_; bumped by reset_pending

  std::atomic<bool> available_{false};     // connected and subscribed: publish() sends
  std::atomic<bool> wake_pending_{false};  // an eventfd write not yet consumed

  // Network thread only.
  int subscribe_mid_ = -1;
  bool subscribed_ = false;       // this connection reached CONNECTED (resets the backoff)
  bool refused_ = false;          // the broker refused this connection; FAILED is reported
  bool warned_retained_ = false;  // log the first dropped retained message only
};

MqttTransport::MqttTransport(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host),
      broker_host_(config.get_string("host")),
      port_(static_cast<int>(int_in_range(config, "port", 1, 65535))),
      topic_(checked_topic(config.get_string("topic"))),
      client_id_(unique_client_id(config.get_string("client_id_prefix"))),
      keepalive_s_(keepalive_seconds(config)),
      max_pending_bytes_(
          static_cast<size_t>(int_in_range(config, "max_pending_bytes", 1, INT64_MAX))) {
  if (broker_host_.empty()) throw std::invalid_argument("mqtt.host must not be empty");
  if (!valid_utf8(client_id_))
    throw std::invalid_argument("mqtt.client_id_prefix must be UTF-8 and shorter than 64 KiB");
  const std::string& user = config.get_string("username");
  const std::string& password = config.get_string("password");
  if (user.empty() && !password.empty())
    throw std::invalid_argument("mqtt.password is set but mqtt.username is empty");
  if (!valid_utf8(user)) throw std::invalid_argument("mqtt.username must be UTF-8");
  const std::string& ca = config.get_string("tls_ca_file");
  const std::string& cert = config.get_string("tls_cert_file");
  const std::string& key = config.get_string("tls_key_file");
  if (cert.empty() != key.empty())
    throw std::invalid_argument("mqtt.tls_cert_file and mqtt.tls_key_file go together");
  if (!cert.empty() && ca.empty())
    throw std::invalid_argument(
        "mqtt.tls_cert_file needs mqtt.tls_ca_file (TLS is off without it)");

  init_library_once();
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0)
    throw std::runtime_error("mqtt: eventfd: " +
                             std::error_code(errno, std::generic_category()).message());
  mosq_ = mosquitto_new(client_id_.c_str(), /*clean_session=*/true, this);
  if (mosq_ == nullptr) {
    std::string why = mosq_error(MOSQ_ERR_ERRNO);
    ::close(wake_fd_);
    throw std::runtime_error("mqtt: cannot create a libmosquitto client: " + why);
  }
  // A throwing constructor gets no destructor: free what we hold ourselves.
  try {
    // Tells libmosquitto that a thread of ours runs the loop while another (the
    // host's, in publish()) calls it too.
    mosquitto_threaded_set(mosq_, true);
    // 3.1.1 pins the self-echo: a client always receives its own matching
    // publications (under MQTT 5 that would depend on a subscription option).
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    // Small bus messages should leave at once, not wait for Nagle.
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    if (!user.empty()) {
      int rc = mosquitto_username_pw_set(mosq_, user.c_str(),
                                         password.empty() ? nullptr : password.c_str());
      if (rc != MOSQ_ERR_SUCCESS)
        throw std::invalid_argument("mqtt.username/password rejected: " + mosq_error(rc));
    }
    if (!ca.empty()) {
      // Verifies the broker's certificate and host name (libmosquitto's default).
      int rc = mosquitto_tls_set(mosq_, ca.c_str(), nullptr, cert.empty() ? nullptr : cert.c_str(),
                                 key.empty() ? nullptr : key.c_str(), nullptr);
      if (rc != MOSQ_ERR_SUCCESS)
        throw std::invalid_argument("mqtt.tls_*: cannot use the TLS files (" + mosq_error(rc) +
                                    "); check that they exist and are readable PEM");
      tls_ = true;
    }
    mosquitto_connect_callback_set(mosq_, &on_connect);
    mosquitto_subscribe_callback_set(mosq_, &on_subscribe);
    mosquitto_message_callback_set(mosq_, &on_message);
    mosquitto_publish_callback_set(mosq_, &on_publish);
    mosquitto_disconnect_callback_set(mosq_, &on_disconnect);
    mosquitto_log_callback_set(mosq_, &on_log);
  } catch (...) {
    mosquitto_destroy(mosq_);
    ::close(wake_fd_);
    throw;
  }
}

MqttTransport::~MqttTransport() {
  stop();
  mosquitto_destroy(mosq_);  // also closes a socket a stalled DISCONNECT left open
  ::close(wake_fd_);
}

std::string MqttTransport::where() const {
  return (tls_ ? "mqtts://" : "mqtt://") + broker_host_ + ":" + std::to_string(port_) + " topic '" +
         topic_ + "'";
}

Status MqttTransport::start() {
  {
    std::lock_guard lock(mu_);
    if (stop_requested_)
      return {StatusCode::kInvalid, "mqtt: a stopped transport cannot be restarted"};
    if (started_) return {};
    started_ = true;
    gate_open_ = true;
  }
  report(SWITCHBOARD_STATE_STARTING, "connecting to " + where() + " as " + client_id_);
  // Every network call (name resolution included) happens on the network
  // thread, so start() returns at once whatever the broker is doing.
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    std::lock_guard lock(mu_);
    gate_open_ = false;
    return {StatusCode::kError, std::string("mqtt: cannot start the network thread: ") + e.what()};
  }
  return {};
}

Status MqttTransport::publish(std::string_view bytes) {
  if (!available_.load(std::memory_order_acquire))
    return {StatusCode::kUnavailable, "mqtt: not connected to " + where()};
  if (bytes.size() + topic_.size() + 16 > kMaxMqttPacket)
    return {StatusCode::kInvalid, "mqtt: a " + std::to_string(bytes.size()) +
                                      "-byte message is over MQTT's packet limit"};
  uint64_t connection = 0;
  {
    std::lock_guard lock(pending_mu_);
    // A message always fits an empty queue, so a bound below one message's size
    // slows that message down instead of refusing it forever.
    if (pending_bytes_ > 0 && pending_bytes_ + bytes.size() > max_pending_bytes_)
      return {StatusCode::kBackpressure, "mqtt: " + std::to_string(pending_bytes_) +
                                             " bytes not yet written to the broker "
                                             "(mqtt.max_pending_bytes)"};
    pending_.push_back(bytes.size());
    pending_bytes_ += bytes.size();
    connection = connection_;
  }
  // QoS 0, not retained: at-most-once, and nothing replays to later subscribers.
  int rc = mosquitto_publish(mosq_, nullptr, topic_.c_str(), static_cast<int>(bytes.size()),
                             bytes.data(), 0, false);
  if (rc == MOSQ_ERR_SUCCESS) {
    wake();
    return {};
  }
  {
    // Take the reservation back. Only this thread appends, so it is the newest
    // entry — unless the connection ended meanwhile and reset_pending() cleared it.
    std::lock_guard lock(pending_mu_);
    if (connection == connection_ && !pending_.empty()) {
      pending_bytes_ -= pending_.back();
      pending_.pop_back();
    }
  }
  switch (rc) {
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST:
      return {StatusCode::kUnavailable, "mqtt: connection to " + where() + " lost"};
    case MOSQ_ERR_NOMEM:
    case MOSQ_ERR_OVERSIZE_PACKET:
      return {StatusCode::kBackpressure,
              "mqtt: libmosquitto cannot queue the message: " + mosq_error(rc)};
    case MOSQ_ERR_PAYLOAD_SIZE: return {StatusCode::kInvalid, "mqtt: message too large for MQTT"};
    default: return {StatusCode::kError, "mqtt: publish failed: " + mosq_error(rc)};
  }
}

void MqttTransport::stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stop_requested_) return;
    stop_requested_ = true;
    gate_open_ = false;  // from here on no callback reaches the host
  }
  available_.store(false, std::memory_order_release);
  stop_cv_.notify_all();  // ends a backoff wait
  wake();                 // ends a poll
  if (thread_.joinable()) thread_.join();
  reset_pending();
  host_.report_state(SWITCHBOARD_STATE_STOPPED, where());
}

bool MqttTransport::stop_requested() {
  std::lock_guard lock(mu_);
  return stop_requested_;
}

void MqttTransport::wake() {
  // One eventfd write per wake-up, however many publishes arrive before the
  // network thread runs: the thread clears the flag before it looks for work.
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  // The eventfd is non-blocking; it can only be "full" when it is already signalled.
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void MqttTransport::run() {
  milliseconds backoff = kBackoffMin;
  bool first = true;
  while (!stop_requested()) {
    subscribed_ = false;
    // Non-blocking connect (a host name is resolved here, on our thread). The
    // first call also gives libmosquitto the address; later ones reuse it.
    int rc = first ? mosquitto_connect_async(mosq_, broker_host_.c_str(), port_, keepalive_s_)
                   : mosquitto_reconnect_async(mosq_);
    bool settings_rejected = first && (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM);
    if (!settings_rejected) first = false;
    if (rc == MOSQ_ERR_SUCCESS) {
      pump();
      available_.store(false, std::memory_order_release);  // however the connection ended
    } else if (settings_rejected) {
      report(SWITCHBOARD_STATE_FAILED,
             "libmosquitto rejected the connection settings: " + mosq_error(rc));
    } else {
      report(
          looks_like_configuration(rc) ? SWITCHBOARD_STATE_FAILED : SWITCHBOARD_STATE_RECONNECTING,
          "cannot connect to " + where() + ": " + mosq_error(rc));
    }
    if (subscribed_) backoff = kBackoffMin;  // a working connection ended: retry quickly
    std::unique_lock lock(mu_);
    if (stop_cv_.wait_for(lock, backoff, [this] { return stop_requested_; })) break;
    backoff = std::min(backoff * 2, kBackoffMax);
  }
}

void MqttTransport::pump() {
  bool leaving = false;
  Clock::time_point leave_by{};
  while (true) {
    int fd = mosquitto_socket(mosq_);
    if (fd < 0) return;  // the connection ended (on_disconnect has run)
    if (!leaving && stop_requested()) {
      // Queue DISCONNECT; libmosquitto closes the socket once it is written.
      leaving = true;
      leave_by = Clock::now() + kDisconnectWait;
      mosquitto_disconnect(mosq_);
    }
    int timeout = kPollTimeoutMs;
    if (leaving) {
      auto left = std::chrono::duration_cast<milliseconds>(leave_by - Clock::now()).count();
      if (left <= 0) return;  // stalled: mosquitto_destroy() closes the socket
      timeout = static_cast<int>(std::min<int64_t>(left, timeout));
    }
    // poll(), not select(): the socket number may well be above FD_SETSIZE.
    pollfd fds[2] = {
        {fd, static_cast<short>(POLLIN | (mosquitto_want_write(mosq_) ? POLLOUT : 0)), 0},
        {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, timeout) < 0 && errno != EINTR) {
      report(SWITCHBOARD_STATE_FAILED,
             "poll: " + std::error_code(errno, std::generic_category()).message());
      return;  // the next connect attempt closes this socket
    }
    if (fds[0].revents & POLLNVAL) return;
    if (fds[1].revents & POLLIN) {
      uint64_t count = 0;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
      // Cleared before we look at the queue, so a publish after this point wakes us again.
      wake_pending_.store(false, std::memory_order_release);
    }
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      // A call reads at most one packet; keep reading while more is buffered
      // (libmosquitto leaves errno at EAGAIN once the socket is drained).
      for (int i = 0; i < kReadBatch; ++i) {
        errno = 0;
        if (mosquitto_loop_read(mosq_, 1) != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) < 0)
          return;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      }
    }
    if ((fds[0].revents & POLLOUT) && mosquitto_loop_write(mosq_, 1) != MOSQ_ERR_SUCCESS) return;
    // Keepalive: sends PINGREQ, and closes a connection that stopped answering
    // (also bounds a connect attempt that never completes).
    if (mosquitto_loop_misc(mosq_) != MOSQ_ERR_SUCCESS) return;
  }
}

void MqttTransport::report(switchboard_state state, const std::string& detail) {
  std::lock_guard lock(mu_);
  if (gate_open_) host_.report_state(state, detail);
}

void MqttTransport::reset_pending() {
  std::lock_guard lock(pending_mu_);
  pending_.clear();
  pending_bytes_ = 0;
  ++connection_;
}

void MqttTransport::on_connect(mosquitto* mosq, void* obj, int rc) {
  auto* self = static_cast<MqttTransport*>(obj);
  self->reset_pending();  // a connection can also end without on_disconnect (a reconnect closes it)
  if (rc != 0) {
    // CONNACK refusal (credentials, client id, ...). We keep retrying — that
    // heals once the broker's config is fixed — but report FAILED meanwhile.
    self->refused_ = true;
    self->report(SWITCHBOARD_STATE_FAILED,
                 std::string("broker refused the connection: ") + mosquitto_connack_string(rc));
    return;
  }
  self->refused_ = false;
  // Subscribe on every connection: with a clean session the broker forgot our
  // subscription when the previous connection ended (a broker restart, say).
  int sub = mosquitto_subscribe(mosq, &self->subscribe_mid_, self->topic_.c_str(), 0);
  if (sub != MOSQ_ERR_SUCCESS)
    self->report(SWITCHBOARD_STATE_FAILED,
                 "cannot subscribe to '" + self->topic_ + "': " + mosq_error(sub));
}

void MqttTransport::on_subscribe(mosquitto* mosq, void* obj, int mid, int count,
                                 const int* granted) {
  auto* self = static_cast<MqttTransport*>(obj);
  if (mid != self->subscribe_mid_) return;
  if (count < 1 || granted == nullptr || granted[0] > 2) {  // 0x80: refused (e.g. an ACL)
    self->report(SWITCHBOARD_STATE_FAILED,
                 "broker refused the subscription to '" + self->topic_ + "'; retrying");
    // Leave and come back with the backoff, as for a refused connection: a
    // connection that cannot receive is no use, and the ACL may get fixed.
    mosquitto_disconnect(mosq);
    return;
  }
  // CONNECTED only now: before the broker holds the subscription, other servers'
  // messages (and our own echo) would be missed.
  self->subscribed_ = true;
  self->available_.store(true, std::memory_order_release);
  self->report(SWITCHBOARD_STATE_CONNECTED, self->where() + " as " + self->client_id_);
}

void MqttTransport::on_message(mosquitto*, void* obj, const mosquitto_message* message) {
  auto* self = static_cast<MqttTransport*>(obj);
  // Held while delivering, so that stop() cannot return in the middle of it.
  std::lock_guard lock(self->mu_);
  if (!self->gate_open_) return;
  if (message->retain) {
    // Only the replay of a retained message to a new subscription has the flag
    // (3.1.1 §3.3.1.3): an old event, not bus traffic.
    if (!self->warned_retained_) {
      self->warned_retained_ = true;
      self->host_.log(SWITCHBOARD_LOG_WARN,
                      "dropped a retained message on '" + self->topic_ +
                          "' (publish bus messages without the retain flag); not logged again");
    }
    return;
  }
  static const char kEmpty = '\0';  // never hand the host a null pointer, even for 0 bytes
  const char* data = message->payloadlen > 0 ? static_cast<const char*>(message->payload) : &kEmpty;
  self->host_.deliver({data, static_cast<size_t>(message->payloadlen)});
}

void MqttTransport::on_publish(mosquitto*, void* obj, int) {
  auto* self = static_cast<MqttTransport*>(obj);
  std::lock_guard lock(self->pending_mu_);
  if (self->pending_.empty()) return;  // written just before a reset: already forgotten
  self->pending_bytes_ -= self->pending_.front();
  self->pending_.pop_front();
}

void MqttTransport::on_disconnect(mosquitto*, void* obj, int rc) {
  auto* self = static_cast<MqttTransport*>(obj);
  self->available_.store(false, std::memory_order_release);
  self->reset_pending();
  if (rc == MOSQ_ERR_SUCCESS) return;                         // our own DISCONNECT
  if (rc == MOSQ_ERR_CONN_REFUSED && self->refused_) return;  // FAILED already reported
  bool config = looks_like_configuration(rc);
  self->report(config ? SWITCHBOARD_STATE_FAILED : SWITCHBOARD_STATE_RECONNECTING,
               "no connection to " + self->where() + " (" + mosq_error(rc) + "); retrying");
}

void MqttTransport::on_log(mosquitto*, void* obj, int level, const char* text) {
  // libmosquitto's warnings and errors carry details a state report cannot
  // (why a handshake failed, say); its debug chatter is dropped.
  if ((level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) == 0) return;
  auto* self = static_cast<MqttTransport*>(obj);
  std::lock_guard lock(self->mu_);
  if (self->gate_open_) self->host_.log(SWITCHBOARD_LOG_WARN, std::string("libmosquitto: ") + text);
}

namespace {
const switchboard::ConfigKey kKeys[] = {
    {"host", SWITCHBOARD_CONFIG_STRING, "127.0.0.1", "Broker host name or address."},
    {"port", SWITCHBOARD_CONFIG_INT, "1883", "Broker TCP port."},
    {"topic", SWITCHBOARD_CONFIG_STRING, "ss/event",
     "The one MQTT topic every server publishes to and subscribes to; no + or # wildcards."},
    {"client_id_prefix", SWITCHBOARD_CONFIG_STRING, "switchboard",
     "Client id prefix; each instance appends -<16 random hex digits> so ids never collide."},
    {"keepalive", SWITCHBOARD_CONFIG_DURATION, "10s",
     "MQTT keepalive (5s..65535s); a connection gone silent is dropped within about 2x this."},
    {"username", SWITCHBOARD_CONFIG_STRING, "", "Broker user name; empty connects anonymously."},
    {"password", SWITCHBOARD_CONFIG_STRING, "", "Broker password (needs username)."},
    {"max_pending_bytes", SWITCHBOARD_CONFIG_INT, "8388608",
     "Bytes published but not yet written to the socket before publish reports backpressure "
     "(8 MiB: bounds memory while the broker is slow)."},
    {"tls_ca_file", SWITCHBOARD_CONFIG_STRING, "",
     "PEM CA file that signed the broker's certificate; setting it turns TLS on (host name "
     "verified)."},
    {"tls_cert_file", SWITCHBOARD_CONFIG_STRING, "",
     "PEM client certificate, for brokers that authenticate clients by certificate."},
    {"tls_key_file", SWITCHBOARD_CONFIG_STRING, "",
     "Unencrypted PEM private key of tls_cert_file."},
};
}  // namespace

}  // namespace mqtt_plugin

// SHARED: instances in different server processes see each other through the broker.
SWITCHBOARD_PLUGIN_DESCRIBED("mqtt", "0.1.0",
                             "MQTT 3.1.1 broker as the bus (libmosquitto, QoS 0, self-echo).",
                             SWITCHBOARD_CAP_SHARED, mqtt_plugin::kKeys, mqtt_plugin::MqttTransport,
                             void)
