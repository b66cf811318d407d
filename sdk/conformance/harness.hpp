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

// Everything a case needs to make instances and run broker commands.
struct KitContext {
  std::shared_ptr<plugin::LoadedPlugin> plugin;
  plugin::ConfigEntries config;
  std::string broker_stop;   // shell commands (may be empty)
  std::string broker_start;
  double time_scale = 1.0;   // multiplies every wait
  std::chrono::milliseconds scaled(std::chrono::milliseconds d) const {
    return std::chrono::milliseconds(static_cast<long long>(d.count() * time_scale));
  }
  // Runs a broker command; throws CaseFailure when it fails.
  void run_command(const std::string& cmd) const;
};

// Starts the broker again however a case that stopped it ends.
struct BrokerGuard {
  const KitContext& kit;
  ~BrokerGuard() {
    try {
      kit.run_command(kit.broker_start);
    } catch (...) {
    }
  }
};

// A single-threaded executor: the "control thread" of one instance.
class ControlThread {
 public:
  ControlThread();
  ~ControlThread();
  // Runs fn there and waits (bounded) for its result.
  template <class F>
  auto call(F&& fn, std::chrono::milliseconds limit = 10s) -> decltype(fn()) {
    // Shared: after a timeout the task may still run later.
    auto task = std::make_shared<std::packaged_task<decltype(fn())()>>(std::forward<F>(fn));
    auto fut = task->get_future();
    post([task] { (*task)(); });
    if (fut.wait_for(limit) != std::future_status::ready)
      throw CaseFailure("a call into the plugin did not return within " +
                        std::to_string(limit.count()) + " ms (calls must not block)");
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
  explicit TransportUnderTest(const KitContext& kit);
  ~TransportUnderTest();

  Status start();
  Status publish(std::string bytes);
  void stop();

  // Waits until pred(messages) holds or the (scaled) limit passes.
  bool wait_for(std::chrono::milliseconds limit,
                const std::function<bool(const std::vector<std::string>&)>& pred);
  bool wait_state(int state, std::chrono::milliseconds limit);
  std::vector<std::string> messages();
  size_t count();
  int state() const { return state_.state.load(); }
  std::vector<int> states();  // every state reported, in order
  uint64_t deliveries_after_stop() const { return after_stop_.load(); }

 private:
  void on_deliver(std::string_view bytes);

  const KitContext& kit_;
  observe::ComponentState state_;
  std::unique_ptr<plugin::PluginTransport> transport_;
  ControlThread control_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> got_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> after_stop_{0};
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
  StoreAnswer call(const Op& op, std::chrono::milliseconds limit = 10s);
  // Fire-and-forget for concurrency cases; the answer arrives in the future.
  std::future<StoreAnswer> call_async(const Op& op);
  int state() const { return state_.state.load(); }
  // Completions of this instance beyond the first of an operation, or after its
  // stop() returned: the ones the harness saw plus the ones the host ignored.
  uint64_t duplicate_completions() const;

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
