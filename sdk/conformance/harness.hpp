// The conformance kit's harness: plugin instances driven the way the server
// drives them (each instance's calls from its own single control thread), with
// everything they report captured for the cases to assert on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include "observe/metrics.hpp"
#include "plugin/proxies.hpp"

namespace switchboard::conformance {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Thrown by expect(); the case fails with its message.
struct CaseFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
inline void expect(bool ok, const std::string& what) {
  if (!ok) throw CaseFailure(what);
}

class TcpProxy;

// What the running case is doing, for the watchdog's message when the case
// outlives its budget ("publish() had been running for 2.0 s"). One case runs at
// a time; any thread may set or read it.
class Activity {
 public:
  static Activity& current();
  void begin(std::string what);
  void end();
  // "publish() had been running for 2.0 s", or "no call was running (the last,
  // publish(), returned after 2.0 s)"; empty before the first call.
  std::string describe() const;
  void reset();

 private:
  mutable std::mutex mu_;
  std::string what_;       // guarded by mu_
  bool running_ = false;   // guarded by mu_
  Clock::time_point since_{}, ended_{};  // guarded by mu_
};

// Everything a case needs to make instances and take the broker away.
struct KitContext {
  std::shared_ptr<plugin::LoadedPlugin> plugin;
  plugin::ConfigEntries config;
  std::string broker_stop;   // shell commands (may be empty)
  std::string broker_start;
  TcpProxy* proxy = nullptr;  // conformance.proxy: cut/restore instead of commands
  double time_scale = 1.0;   // multiplies every wait
  std::chrono::milliseconds scaled(std::chrono::milliseconds d) const {
    return std::chrono::milliseconds(static_cast<long long>(d.count() * time_scale));
  }
  // Whether the outage cases can run (a proxy, or both commands).
  bool can_stop_broker() const;
  // Take the broker away / bring it back (the proxy, or the commands); throw
  // CaseFailure when that fails.
  void stop_broker() const;
  void start_broker() const;

 private:
  void switch_broker(bool up) const;
};

// Starts the broker again however a case that stopped it ends.
struct BrokerGuard {
  const KitContext& kit;
  ~BrokerGuard() {
    try {
      kit.start_broker();
    } catch (...) {
    }
  }
};

// A single-threaded executor: the "control thread" of one instance.
class ControlThread {
 public:
  ControlThread();
  ~ControlThread();
  // Runs fn there and waits (bounded) for its result; `what` names the plugin
  // call for messages ("publish()").
  template <class F>
  auto call(const std::string& what, F&& fn, std::chrono::milliseconds limit = 10s) -> decltype(fn()) {
    // Shared: after a timeout the task may still run later.
    auto task = std::make_shared<std::packaged_task<decltype(fn())()>>(std::forward<F>(fn));
    auto fut = task->get_future();
    Activity::current().begin(what);
    post([task] { (*task)(); });
    if (fut.wait_for(limit) != std::future_status::ready)
      throw CaseFailure(what + " did not return within " + std::to_string(limit.count()) +
                        " ms (calls into a plugin must not block)");
    Activity::current().end();
    return fut.get();
  }
  void post(std::function<void()> fn);

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// One transport instance with its deliveries and state reports recorded.
class TransportUnderTest {
 public:
  // The longest any publish() may take in any case (scaled); T1.02 is stricter.
  static constexpr auto kPublishLimit = 1s;

  explicit TransportUnderTest(const KitContext& kit);
  ~TransportUnderTest();

  // Runs on the plugin's delivery thread inside every deliver(), before the kit
  // records the message (a slow consumer, or one held mid-deliver). Set it before
  // start(); it must outlive the instance's threads (declare what it uses first).
  using DeliverHook = std::function<void(std::string_view)>;
  void set_deliver_hook(DeliverHook hook) { hook_ = std::move(hook); }

  Status start();
  // Fails the case (CaseFailure) when the call takes longer than kPublishLimit.
  Status publish(std::string bytes);
  // publish() on the calling thread, not the control thread: only for a plugin
  // declaring SWITCHBOARD_CAP_PUBLISH_ANY_THREAD (T2.08). Fails the case past
  // kPublishLimit too.
  Status publish_here(std::string_view bytes);
  // publish(), also giving how long the call took on the control thread.
  Status publish_timed(std::string bytes, std::chrono::nanoseconds& took);
  void stop();
  // Posts stop() to the control thread; the future is ready when it returned.
  std::future<void> stop_async();

  // Waits until pred(messages) holds or the (scaled) limit passes.
  bool wait_for(std::chrono::milliseconds limit,
                const std::function<bool(const std::vector<std::string>&)>& pred);
  bool wait_state(int state, std::chrono::milliseconds limit);
  std::vector<std::string> messages();
  size_t count();
  int state() const { return state_.state.load(); }
  std::vector<int> states();  // every state reported, in order
  // deliver() calls that began after stop() returned.
  uint64_t deliveries_after_stop() const { return after_stop_.load(); }
  // deliver() calls still running at the moment stop() returned.
  int in_flight_at_stop() const { return in_flight_at_stop_.load(); }
  // The most deliver() calls of this instance seen running at once (1 conforms).
  int max_concurrent_deliveries() const { return max_concurrent_.load(); }

 private:
  void on_deliver(std::string_view bytes);
  // T1.02: a publish() call (`which`, for the message) that took longer than
  // kPublishLimit fails the case.
  void expect_quick(std::chrono::nanoseconds took, const std::string& which) const;

  const KitContext& kit_;
  observe::ComponentState state_;
  std::unique_ptr<plugin::PluginTransport> transport_;
  ControlThread control_;
  DeliverHook hook_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> got_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> after_stop_{0};
  std::atomic<int> in_deliver_{0};
  std::atomic<int> max_concurrent_{0};
  std::atomic<int> in_flight_at_stop_{0};
  uint64_t publishes_ = 0;  // calls of publish(), numbered in messages
};

struct StoreAnswer {
  Status status;
  std::optional<SessionRecord> record;
};

// One session-store instance; every call waits (bounded) for its completion and
// checks it arrives exactly once.
class StoreUnderTest {
 public:
  explicit StoreUnderTest(const KitContext& kit);
  ~StoreUnderTest();
  Status start();
  void stop();

  using Op = std::function<void(SessionStore&, StoreCallback)>;
  // Runs op on the control thread and waits (scaled limit) for its completion; a
  // timeout fails the case naming the store operation op called.
  StoreAnswer call(const Op& op, std::chrono::milliseconds limit = 10s);
  // Fire-and-forget for concurrency cases; the answer arrives in the future.
  // `called`, when given, receives the name of the operation op called.
  std::future<StoreAnswer> call_async(const Op& op,
                                      std::shared_ptr<std::atomic<const char*>> called = nullptr);
  int state() const { return state_.state.load(); }
  // Completions of this instance beyond the first of an operation, or after its
  // stop() returned: the ones the harness saw plus the ones the host ignored.
  uint64_t duplicate_completions() const;
  // Operations the plugin's stop() left pending (the host answered them).
  size_t host_answered_at_stop() const { return store_->answered_at_stop(); }

 private:
  const KitContext& kit_;
  observe::ComponentState state_;
  std::unique_ptr<plugin::PluginStore> store_;
  ControlThread control_;
  std::atomic<uint64_t> duplicates_{0};
};

// "P3", "a17": built with append (GCC 12 misreports `"x" + std::to_string(n)`
// under -O3 as an overlapping memcpy).
inline std::string numbered(std::string_view prefix, long n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// A fresh session id for each use, so cases never see each other's data.
std::string unique_id(const std::string& prefix);

}  // namespace switchboard::conformance
