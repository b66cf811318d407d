// The template plugin: a complete, conforming transport in this file and a
// session store in template_store.{hpp,cpp}, registered together at the bottom
// (SWITCHBOARD_PLUGIN). The transport is an in-process bus (every started
// instance in the process sees every message, itself included) so it builds and
// passes the conformance kit with nothing to install. Replace the Bus with your
// message queue's client:
//
//   start()   connect (asynchronously!) and subscribe; report CONNECTED when ready
//   publish() hand the bytes to the client; never block; OK / BACKPRESSURE / UNAVAILABLE
//   deliver   call host_.deliver(bytes) for every message the broker sends you,
//             from one thread at a time, in broker order
//   stop()    disconnect, join your threads; no callback after it returns
//
// Threading (docs/threading.md): start/publish/stop come from one host thread,
// never concurrently. Host callbacks (deliver, log, report_state) may be called
// from any of your threads.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "switchboard/plugin.hpp"
#include "template_store.hpp"

namespace {

using switchboard::Status;
using switchboard::StatusCode;

class TemplateTransport;

// Stand-in for a broker: the started instances of this process.
struct Bus {
  std::mutex mu;
  std::vector<TemplateTransport*> members;
  static Bus& get() {
    static Bus bus;
    return bus;
  }
};

class TemplateTransport final : public switchboard::Transport {
 public:
  // Config keys arrive validated with defaults filled in (see kKeys below).
  TemplateTransport(const switchboard::PluginConfig& config, switchboard::Host host)
      : host_(host), max_queue_(static_cast<size_t>(config.get_int("max_queue"))) {
    if (max_queue_ == 0) throw std::invalid_argument("template.max_queue must be at least 1");
  }
  ~TemplateTransport() override { stop(); }

  Status start() override {
    {
      std::lock_guard lock(mu_);
      if (running_) return {};
      running_ = true;
    }
    thread_ = std::thread([this] { run(); });
    {
      std::lock_guard lock(Bus::get().mu);
      Bus::get().members.push_back(this);
    }
    host_.report_state(SWITCHBOARD_STATE_CONNECTED, "in-process template bus");
    return {};
  }

  // OK promises that every instance on the bus (this one included) delivers the
  // message, so it is all or nothing: if any queue is full, report BACKPRESSURE
  // (the server counts the drop) and queue it nowhere. Never answer OK and drop.
  // A broker-backed transport answers OK once the broker has accepted the message.
  Status publish(std::string_view bytes) override {
    {
      std::lock_guard lock(mu_);
      if (!running_) return {StatusCode::kUnavailable, "not started"};
    }
    std::lock_guard bus_lock(Bus::get().mu);  // one global order, like a broker topic
    // Queues grow only here, under the bus lock: room found now is still there below.
    for (auto* m : Bus::get().members)
      if (!m->has_room()) return {StatusCode::kBackpressure, "an instance's queue is full"};
    for (auto* m : Bus::get().members) m->enqueue(bytes);
    return {};
  }

  void stop() override {
    {
      std::lock_guard bus_lock(Bus::get().mu);
      std::erase(Bus::get().members, this);
    }
    {
      std::lock_guard lock(mu_);
      if (!running_) return;
      running_ = false;
    }
    cv_.notify_all();
    thread_.join();  // after this, no deliver() can come from us
    host_.report_state(SWITCHBOARD_STATE_STOPPED);
  }

 private:
  bool has_room() {
    std::lock_guard lock(mu_);
    return !running_ || queue_.size() < max_queue_;  // a stopping instance takes nothing
  }
  void enqueue(std::string_view bytes) {
    std::lock_guard lock(mu_);
    if (!running_) return;
    queue_.emplace_back(bytes);
    cv_.notify_one();
  }

  // The one delivery thread: broker order in, broker order out.
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return !queue_.empty() || !running_; });
      if (!running_) return;
      std::string message = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      host_.deliver(message);
      lock.lock();
    }
  }

  switchboard::Host host_;
  const size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  bool running_ = false;           // guarded by mu_
  std::thread thread_;
};

// The plugin's config schema: the server validates the YAML section `template:`
// against it and lists it in `switchboard config-reference`.
const switchboard::ConfigKey kKeys[] = {
    {"max_queue", SWITCHBOARD_CONFIG_INT, "65536",
     "Messages queued per instance; while any instance's queue is this full, publish reports "
     "backpressure."},
    {"max_pending", SWITCHBOARD_CONFIG_INT, "10000",
     "Session-store operations waiting for the store before new ones fail with UNAVAILABLE."},
};

}  // namespace

// name (used in the config), version, schema, Transport class (or void),
// SessionStore class (or void). A transport-only plugin passes void last and
// drops template_store.*; a store-only plugin passes void for the transport.
SWITCHBOARD_PLUGIN("template", "0.1.0", kKeys, TemplateTransport, template_plugin::TemplateStore)
