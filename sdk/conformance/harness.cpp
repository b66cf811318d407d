#include "harness.hpp"

#include <cstdlib>

#include <boost/asio/post.hpp>

#include "session/ids.hpp"

namespace switchboard::conformance {

void KitContext::run_command(const std::string& cmd) const {
  if (cmd.empty()) throw CaseFailure("no broker command configured");
  int rc = std::system(cmd.c_str());
  if (rc != 0) throw CaseFailure("broker command failed (" + std::to_string(rc) + "): " + cmd);
}

ControlThread::ControlThread() : work_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}

ControlThread::~ControlThread() {
  work_.reset();
  thread_.join();
}

void ControlThread::post(std::function<void()> fn) { boost::asio::post(ioc_, std::move(fn)); }

TransportUnderTest::TransportUnderTest(const KitContext& kit) : kit_(kit) {
  transport_ = control_.call([&] {
    return std::make_unique<plugin::PluginTransport>(
        kit.plugin, kit.config,
        std::make_unique<plugin::HostBridge>("kit", &state_,
                                             [this](std::string_view b) { on_deliver(b); }));
  });
}

TransportUnderTest::~TransportUnderTest() {
  try {
    stop();
    control_.call([&] {
      transport_.reset();
      return 0;
    });
  } catch (...) {
  }
}

void TransportUnderTest::on_deliver(std::string_view bytes) {
  if (stopped_) ++after_stop_;
  std::lock_guard lock(mu_);
  got_.emplace_back(bytes);
  cv_.notify_all();
}

Status TransportUnderTest::start() {
  stopped_ = false;
  return control_.call([&] { return transport_->start(); });
}

Status TransportUnderTest::publish(std::string bytes) {
  return control_.call([&] { return transport_->publish(bytes); });
}

void TransportUnderTest::stop() {
  control_.call([&] {
    transport_->stop();
    return 0;
  }, 30s);
  stopped_ = true;
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
  store_ = control_.call([&] {
    return std::make_unique<plugin::PluginStore>(
        kit.plugin, kit.config, std::make_unique<plugin::HostBridge>("kit", &state_, nullptr));
  });
}

StoreUnderTest::~StoreUnderTest() {
  try {
    stop();
    control_.call([&] {
      store_.reset();
      return 0;
    });
  } catch (...) {
  }
}

Status StoreUnderTest::start() { return control_.call([&] { return store_->start(); }); }

void StoreUnderTest::stop() {
  control_.call([&] {
    store_->stop();
    return 0;
  }, 30s);
}

uint64_t StoreUnderTest::duplicate_completions() const {
  return duplicates_.load() + store_->ignored_completions();
}

std::future<StoreAnswer> StoreUnderTest::call_async(const Op& op) {
  auto promise = std::make_shared<std::promise<StoreAnswer>>();
  auto fired = std::make_shared<std::atomic<int>>(0);
  auto fut = promise->get_future();
  control_.post([this, op, promise, fired] {
    op(*store_, [this, promise, fired](Status s, const SessionRecord* r) {
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
  auto fut = call_async(op);
  if (fut.wait_for(kit_.scaled(limit)) != std::future_status::ready)
    throw CaseFailure("a store operation did not complete within " +
                      std::to_string(kit_.scaled(limit).count()) + " ms (completions must never hang)");
  return fut.get();
}

std::string unique_id(const std::string& prefix) { return prefix + session::random_hex(12); }

}  // namespace switchboard::conformance
