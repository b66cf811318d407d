// The `broken_transport` plugin: a transport with one deliberate fault, chosen by
// `mode`, to prove the conformance kit's T-cases catch every class of transport
// fault (each mode must fail the case written for its class; mode=correct, the
// fault-free base, must pass every T-case). Two variants per class: a blunt one and
// a subtle one that passes the obvious test.
//
// Like the memory transport, every instance in one process is on one in-process
// bus; each has its own bounded queue and one delivery thread calling deliver() in
// order; publish is all or nothing (OK when every member queued it, BACKPRESSURE
// when a queue is full). Built with the public SDK only. The modes:
//   correct                no fault.
//   slow_publish_blunt     every publish() sleeps 30 ms: publish must not block the control
//                          thread (threading.md rule 1; T1.02).
//   slow_publish_subtle    every 1000th publish() sleeps 2 s: the same rule, met on average only.
//   drain_after_stop       stop() returns with the thread still delivering its backlog: no
//                          deliver() after stop() returns (T1.03).
//   return_mid_deliver     stop() drops the backlog but does not join: a deliver() in progress
//                          ends after stop() returned (T1.03).
//   overlap_pool           four delivery threads share the queue: deliver() from one thread at
//                          a time, in bus order (threading.md rule 3; T2.03, order T2.05).
//   overlap_inline_echo    the self-echo is delivered inside publish(), racing the delivery
//                          thread: one deliver() at a time, none inside a control call
//                          (threading.md rules 3, 4; T2.03).
//   echo_truncated         the self-echo is cut to 65536 bytes: payloads byte-exact (T2.06).
//   echo_cstring           the self-echo is cut at the first NUL byte: payloads byte-exact (T2.06).
//   drop_when_full_blunt   queues hold 64; a full member drops the message and publish says OK:
//                          an accepted (OK) message is delivered (T2.04/T2.05).
//   drop_when_full_subtle  a full member discards its oldest queued message and publish says OK:
//                          the same rule, broken only behind a backlog of 4096.
//   stop_hangs             stop() never returns (a deliberate hang): the kit abandons the case
//                          at its budget, names what was running, and still writes its report.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "switchboard/plugin.hpp"

namespace {
using switchboard::Status;
using switchboard::StatusCode;
using Message = std::shared_ptr<const std::string>;

enum class Mode {
  kCorrect,
  kSlowPublishBlunt,
  kSlowPublishSubtle,
  kDrainAfterStop,
  kReturnMidDeliver,
  kOverlapPool,
  kOverlapInlineEcho,
  kEchoTruncated,
  kEchoCString,
  kDropWhenFullBlunt,
  kDropWhenFullSubtle,
  kStopHangs,
};

Mode mode_of(const std::string& s) {
  static const std::map<std::string, Mode> kModes = {
      {"correct", Mode::kCorrect},
      {"slow_publish_blunt", Mode::kSlowPublishBlunt},
      {"slow_publish_subtle", Mode::kSlowPublishSubtle},
      {"drain_after_stop", Mode::kDrainAfterStop},
      {"return_mid_deliver", Mode::kReturnMidDeliver},
      {"overlap_pool", Mode::kOverlapPool},
      {"overlap_inline_echo", Mode::kOverlapInlineEcho},
      {"echo_truncated", Mode::kEchoTruncated},
      {"echo_cstring", Mode::kEchoCString},
      {"drop_when_full_blunt", Mode::kDropWhenFullBlunt},
      {"drop_when_full_subtle", Mode::kDropWhenFullSubtle},
      {"stop_hangs", Mode::kStopHangs},
  };
  auto it = kModes.find(s);
  if (it == kModes.end())
    throw std::invalid_argument("broken_transport.mode: unknown mode '" + s + "'");
  return it->second;
}

constexpr size_t kQueueMessages = 4096;
constexpr size_t kSmallQueueMessages = 64;  // kDropWhenFullBlunt
constexpr size_t kPoolThreads = 4;          // kOverlapPool
constexpr size_t kTruncateAt = 65536;       // kEchoTruncated

class BrokenTransport;

// The one in-process bus: every started instance in this process. Never destroyed
// (an instance a hung kit case abandoned may outlive static destruction).
class Bus {
 public:
  static Bus& get() {
    static Bus* bus = new Bus;
    return *bus;
  }
  void join(BrokenTransport* t) {
    std::lock_guard lock(mu_);
    members_.push_back(t);
  }
  void leave(BrokenTransport* t) {
    std::lock_guard lock(mu_);
    std::erase(members_, t);
  }
  // All or nothing, as the memory bus: queues grow only here, under mu_, so the room
  // checked is still there when we enqueue. Returns false for BACKPRESSURE; sets
  // `inline_echo` when the publisher delivers its own copy itself.
  bool publish(BrokenTransport* from, std::string_view bytes,
               std::optional<std::string>& inline_echo);

 private:
  std::mutex mu_;
  std::vector<BrokenTransport*> members_;  // guarded by mu_
};

class BrokenTransport final : public switchboard::Transport {
 public:
  BrokenTransport(const switchboard::PluginConfig& c, switchboard::Host host)
      : host_(host),
        mode_(mode_of(c.get_string("mode"))),
        capacity_(mode_ == Mode::kDropWhenFullBlunt ? kSmallQueueMessages : kQueueMessages) {}
  ~BrokenTransport() override {
    stop();
    join_threads();  // whatever a faulty stop() left running
  }

  Status start() override {
    if (running_) return {};
    join_threads();  // a thread left by an earlier faulty stop()
    {
      std::lock_guard lock(mu_);
      queue_.clear();
      accepting_ = true;
      exit_ = drain_ = false;
    }
    const size_t n = mode_ == Mode::kOverlapPool ? kPoolThreads : 1;
    for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
    Bus::get().join(this);
    running_ = true;
    host_.report_state(SWITCHBOARD_STATE_CONNECTED, "in-process bus (broken_transport)");
    return {};
  }

  Status publish(std::string_view bytes) override {
    if (mode_ == Mode::kSlowPublishBlunt)
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    if (mode_ == Mode::kSlowPublishSubtle && ++publish_calls_ % 1000 == 0)
      std::this_thread::sleep_for(std::chrono::seconds(2));
    if (!running_) return {StatusCode::kUnavailable, "broken_transport not started"};
    std::optional<std::string> inline_echo;
    if (!Bus::get().publish(this, bytes, inline_echo))
      return {StatusCode::kBackpressure, "broken_transport queue full (an instance is behind)"};
    if (inline_echo) host_.deliver(*inline_echo);  // the fault of kOverlapInlineEcho
    return {};
  }

  void stop() override {
    if (!running_) return;
    if (mode_ == Mode::kStopHangs)  // the fault: the calling thread never comes back
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    running_ = false;
    {
      std::lock_guard lock(mu_);
      accepting_ = false;
      if (mode_ == Mode::kDrainAfterStop) {
        drain_ = true;  // the fault: the thread delivers the backlog after we return
      } else {
        exit_ = true;
        queue_.clear();
      }
    }
    cv_.notify_all();
    Bus::get().leave(this);
    // The faults: neither mode joins; the destructor does.
    if (mode_ != Mode::kDrainAfterStop && mode_ != Mode::kReturnMidDeliver) join_threads();
    host_.report_state(SWITCHBOARD_STATE_STOPPED);
  }

  Mode mode() const { return mode_; }

  // Called by the bus under its lock (any publisher's thread). A stopping member
  // takes nothing and refuses nothing; the dropping modes never refuse.
  bool has_room() {
    std::lock_guard lock(mu_);
    if (!accepting_) return true;
    if (mode_ == Mode::kDropWhenFullBlunt || mode_ == Mode::kDropWhenFullSubtle) return true;
    return queue_.size() < capacity_;
  }
  void enqueue(const Message& m) {
    {
      std::lock_guard lock(mu_);
      if (!accepting_) return;
      if (queue_.size() >= capacity_) {
        if (mode_ == Mode::kDropWhenFullBlunt) return;  // the fault: dropped, publish says OK
        if (mode_ == Mode::kDropWhenFullSubtle) queue_.pop_front();  // the fault: oldest lost
      }
      queue_.push_back(m);
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return exit_ || drain_ || !queue_.empty(); });
      if (exit_) return;
      if (queue_.empty()) return;  // drain_ and nothing left
      Message m = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      host_.deliver(*m);
      lock.lock();
    }
  }

  void join_threads() {
    {
      std::lock_guard lock(mu_);
      if (!drain_) exit_ = true;  // a draining thread finishes its backlog first
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

  switchboard::Host host_;
  const Mode mode_;
  const size_t capacity_;
  bool running_ = false;        // control thread only
  uint64_t publish_calls_ = 0;  // control thread only
  std::vector<std::thread> threads_;  // control thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> queue_;  // guarded by mu_
  bool accepting_ = false;     // guarded by mu_: on the bus, taking messages
  bool exit_ = false;          // guarded by mu_: delivery threads end now
  bool drain_ = false;         // guarded by mu_: delivery threads end when the queue is empty
};

bool Bus::publish(BrokenTransport* from, std::string_view bytes,
                  std::optional<std::string>& inline_echo) {
  const Mode mode = from->mode();
  std::lock_guard lock(mu_);
  for (auto* m : members_) {
    if (m == from && mode == Mode::kOverlapInlineEcho) continue;  // its own copy is not queued
    if (!m->has_room()) return false;
  }
  auto msg = std::make_shared<const std::string>(bytes);
  Message echo = msg;
  if (mode == Mode::kEchoTruncated)  // the fault: the self-echo cut to its first 64 KiB
    echo = std::make_shared<const std::string>(bytes.substr(0, kTruncateAt));
  if (mode == Mode::kEchoCString)  // the fault: the self-echo copied as a C string
    echo = std::make_shared<const std::string>(bytes.substr(0, bytes.find('\0')));
  for (auto* m : members_) {
    if (m != from) {
      m->enqueue(msg);
    } else if (mode == Mode::kOverlapInlineEcho) {
      inline_echo.emplace(bytes);  // delivered by publish(), on the control thread
    } else {
      m->enqueue(echo);
    }
  }
  return true;
}

const switchboard::ConfigKey kKeys[] = {
    {"mode", SWITCHBOARD_CONFIG_STRING, "correct",
     "correct, or the fault: slow_publish_blunt|subtle, drain_after_stop, return_mid_deliver, "
     "overlap_pool, overlap_inline_echo, echo_truncated, echo_cstring, "
     "drop_when_full_blunt|subtle."},
};
}  // namespace

SWITCHBOARD_PLUGIN("broken_transport", "0.0.1", kKeys, BrokenTransport, void)
