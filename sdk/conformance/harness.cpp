#include "harness.hpp"

#include <cstdlib>
#include <cstdio>
#include <mutex>
#include <random>

#include <boost/asio/post.hpp>

#include "tcp_proxy.hpp"

namespace switchboard::conformance {
namespace {

std::string seconds_text(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

void run_command(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  if (rc != 0) throw CaseFailure("broker command failed (" + std::to_string(rc) + "): " + cmd);
}

// Forwards every operation to the store under test and notes the name of the
// one called, so a completion that never comes can be reported by name.
class NamingStore final : public SessionStore {
 public:
  NamingStore(SessionStore& inner, std::shared_ptr<std::atomic<const char*>> name)
      : inner_(inner), name_(std::move(name)) {}
  Status start() override { return inner_.start(); }
  void stop() override { inner_.stop(); }
  void create_session(std::string_view id, int64_t ttl, StoreCallback done) override {
    note("create_session");
    inner_.create_session(id, ttl, std::move(done));
  }
  void load(std::string_view id, int64_t ttl, StoreCallback done) override {
    note("load");
    inner_.load(id, ttl, std::move(done));
  }
  void add_channels(std::string_view id, const std::vector<std::string>& names, uint32_t max, int64_t ttl,
                    StoreCallback done) override {
    note("add_channels");
    inner_.add_channels(id, names, max, ttl, std::move(done));
  }
  void remove_channels(std::string_view id, const std::vector<std::string>& names, int64_t ttl,
                       StoreCallback done) override {
    note("remove_channels");
    inner_.remove_channels(id, names, ttl, std::move(done));
  }
  void clear_channels(std::string_view id, int64_t ttl, StoreCallback done) override {
    note("clear_channels");
    inner_.clear_channels(id, ttl, std::move(done));
  }
  void set_user(std::string_view id, const std::optional<std::string>& user, int64_t ttl,
                StoreCallback done) override {
    note("set_user");
    inner_.set_user(id, user, ttl, std::move(done));
  }
  void set_data(std::string_view id, std::string_view key, const std::optional<std::string>& value, int64_t ttl,
                StoreCallback done) override {
    note("set_data");
    inner_.set_data(id, key, value, ttl, std::move(done));
  }
  void remove(std::string_view id, StoreCallback done) override {
    note("remove");
    inner_.remove(id, std::move(done));
  }

 private:
  void note(const char* op) {
    if (name_) *name_ = op;
    Activity::current().begin(std::string("store ") + op + " (waiting for its completion)");
  }
  SessionStore& inner_;
  std::shared_ptr<std::atomic<const char*>> name_;
};

}  // namespace

Activity& Activity::current() {
  static Activity a;
  return a;
}

void Activity::begin(std::string what) {
  std::lock_guard lock(mu_);
  what_ = std::move(what);
  running_ = true;
  since_ = Clock::now();
}

void Activity::end() {
  std::lock_guard lock(mu_);
  running_ = false;
  ended_ = Clock::now();
}

void Activity::reset() {
  std::lock_guard lock(mu_);
  what_.clear();
  running_ = false;
}

std::string Activity::describe() const {
  std::lock_guard lock(mu_);
  if (what_.empty()) return "";
  if (running_) return what_ + " had been running for " + seconds_text(Clock::now() - since_);
  return "no call was running (the last, " + what_ + ", returned after " + seconds_text(ended_ - since_) + ")";
}

bool KitContext::can_stop_broker() const {
  return proxy != nullptr || (!broker_stop.empty() && !broker_start.empty());
}

void KitContext::stop_broker() const { switch_broker(false); }
void KitContext::start_broker() const { switch_broker(true); }

void KitContext::switch_broker(bool up) const {
  if (proxy) {
    try {
      up ? proxy->restore() : proxy->cut();
    } catch (const std::exception& e) {
      throw CaseFailure(std::string("the kit's proxy could not ") + (up ? "restore" : "cut") + " the broker: " + e.what());
    }
    return;
  }
  const std::string& command = up ? broker_start : broker_stop;
  if (command.empty()) throw CaseFailure(std::string("no ") + (up ? "broker_start" : "broker_stop") + " command configured");
  run_command(command);
}

ControlThread::ControlThread() : work_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}

ControlThread::~ControlThread() {
  work_.reset();
  thread_.join();
}

void ControlThread::post(std::function<void()> fn) { boost::asio::post(ioc_, std::move(fn)); }

TransportUnderTest::TransportUnderTest(const KitContext& kit) : kit_(kit) {
  transport_ = control_.call("the transport's create()", [&] {
    return std::make_unique<plugin::PluginTransport>(
        kit.plugin, kit.config,
        std::make_unique<plugin::HostBridge>("kit", &state_,
                                             [this](std::string_view b) { on_deliver(b); }));
  });
}

TransportUnderTest::~TransportUnderTest() {
  try {
    stop();
    control_.call("the transport's destroy()", [&] {
      transport_.reset();
      return 0;
    });
  } catch (...) {
  }
}

void TransportUnderTest::on_deliver(std::string_view bytes) {
  if (stopped_) ++after_stop_;
  int now = ++in_deliver_;
  int seen = max_concurrent_.load();
  while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
  }
  if (hook_) hook_(bytes);
  {
    std::lock_guard lock(mu_);
    got_.emplace_back(bytes);
  }
  cv_.notify_all();
  --in_deliver_;
}

Status TransportUnderTest::start() {
  stopped_ = false;
  return control_.call("start()", [&] { return transport_->start(); });
}

Status TransportUnderTest::publish(std::string bytes) {
  std::chrono::nanoseconds took{};
  return publish_timed(std::move(bytes), took);
}

Status TransportUnderTest::publish_here(std::string_view bytes) {
  auto t0 = Clock::now();
  Status s = transport_->publish(bytes);
  expect_quick(Clock::now() - t0, "a publish() call from another thread");
  return s;
}

void TransportUnderTest::expect_quick(std::chrono::nanoseconds took,
                                      const std::string& which) const {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took);
  expect(ms <= kit_.scaled(kPublishLimit),
         which + " took " + std::to_string(ms.count()) +
             " ms: publish() must only queue, never wait (T1.02)");
}

Status TransportUnderTest::publish_timed(std::string bytes, std::chrono::nanoseconds& took) {
  ++publishes_;
  Status s = control_.call("publish()", [&] {
    auto t0 = Clock::now();
    Status r = transport_->publish(bytes);
    took = Clock::now() - t0;
    return r;
  });
  expect_quick(took, "publish() call #" + std::to_string(publishes_) + " of an instance");
  return s;
}

std::future<void> TransportUnderTest::stop_async() {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  control_.post([this, done] {
    transport_->stop();
    // Judged at the moment stop() returned, on the thread it returned to.
    in_flight_at_stop_ = in_deliver_.load();
    stopped_ = true;
    done->set_value();
  });
  return fut;
}

void TransportUnderTest::stop() {
  auto fut = stop_async();
  Activity::current().begin("stop()");
  if (fut.wait_for(30s) != std::future_status::ready)
    throw CaseFailure("stop() did not return within 30 s (it must join the plugin's threads promptly)");
  Activity::current().end();
}

bool TransportUnderTest::wait_for(std::chrono::milliseconds limit,
                                  const std::function<bool(const std::vector<std::string>&)>& pred) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, kit_.scaled(limit), [&] { return pred(got_); });
}

bool TransportUnderTest::wait_state(int s, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + kit_.scaled(limit);
  while (Clock::now() < deadline) {
    if (state_.state.load() == s) return true;
    std::this_thread::sleep_for(10ms);
  }
  return state_.state.load() == s;
}

std::vector<std::string> TransportUnderTest::messages() {
  std::lock_guard lock(mu_);
  return got_;
}

size_t TransportUnderTest::count() {
  std::lock_guard lock(mu_);
  return got_.size();
}

StoreUnderTest::StoreUnderTest(const KitContext& kit) : kit_(kit) {
  store_ = control_.call("the store's create()", [&] {
    return std::make_unique<plugin::PluginStore>(
        kit.plugin, kit.config, std::make_unique<plugin::HostBridge>("kit", &state_, nullptr));
  });
}

StoreUnderTest::~StoreUnderTest() {
  try {
    stop();
    control_.call("the store's destroy()", [&] {
      store_.reset();
      return 0;
    });
  } catch (...) {
  }
}

Status StoreUnderTest::start() { return control_.call("the store's start()", [&] { return store_->start(); }); }

void StoreUnderTest::stop() {
  control_.call("the store's stop()", [&] {
    store_->stop();
    return 0;
  }, 30s);
}

uint64_t StoreUnderTest::duplicate_completions() const {
  return duplicates_.load() + store_->ignored_completions();
}

std::future<StoreAnswer> StoreUnderTest::call_async(const Op& op,
                                                    std::shared_ptr<std::atomic<const char*>> called) {
  auto promise = std::make_shared<std::promise<StoreAnswer>>();
  auto fired = std::make_shared<std::atomic<int>>(0);
  auto fut = promise->get_future();
  control_.post([this, op, promise, fired, called] {
    NamingStore named(*store_, called);
    op(named, [this, promise, fired](Status s, const SessionRecord* r) {
      if (fired->fetch_add(1) > 0) {
        ++duplicates_;
        return;
      }
      promise->set_value({s, r ? std::optional<SessionRecord>(*r) : std::nullopt});
    });
  });
  return fut;
}

StoreAnswer StoreUnderTest::call(const Op& op, std::chrono::milliseconds limit) {
  auto called = std::make_shared<std::atomic<const char*>>("operation");
  auto fut = call_async(op, called);
  if (fut.wait_for(kit_.scaled(limit)) != std::future_status::ready)
    throw CaseFailure(std::string("store ") + called->load() + " did not complete within " +
                      std::to_string(kit_.scaled(limit).count()) +
                      " ms (every operation must complete, exactly once)");
  Activity::current().end();
  return fut.get();
}

// 24 random hex digits: ids stay unique across runs against a persistent store.
std::string unique_id(const std::string& prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  char buf[25];
  std::snprintf(buf, sizeof buf, "%016llx%08llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng() & 0xffffffffu));
  return prefix + buf;
}

}  // namespace switchboard::conformance
