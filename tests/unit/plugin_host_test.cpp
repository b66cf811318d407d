// plugin::PluginHost: the control thread's gate in front of the plugins — refusals
// while the transport is down, the control-queue bound, and after stop(). Uses the
// test-only `fault` plugin (a transport whose publish can block) and `memory`.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

#include "plugin/host_bridge.hpp"
#include "plugin/plugin_host.hpp"
#include "switchboard/config.hpp"

using namespace switchboard;

namespace {
struct Hosted {
  config::Settings settings;
  observe::Metrics metrics;
  std::unique_ptr<plugin::PluginHost> host;

  std::atomic<int> delivered{0};

  explicit Hosted(const std::string& yaml) {
    std::vector<std::string> dirs;
    settings = plugin::load_settings(
        Config::from_string("plugins: {dir: \"" SWITCHBOARD_PLUGIN_DIR "\"}\n" + yaml, "test.yaml"), dirs);
    host = std::make_unique<plugin::PluginHost>(settings, dirs, metrics,
                                                [this](std::string_view) { ++delivered; });
    host->start();
  }
};

// publish()'s done callback, as a future.
struct Outcome {
  std::shared_ptr<std::promise<Status>> p = std::make_shared<std::promise<Status>>();
  std::future<Status> f = p->get_future();
  std::function<void(Status)> done() {
    return [p = p](Status s) { p->set_value(std::move(s)); };
  }
  Status get() {
    REQUIRE(f.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    return f.get();
  }
};
}  // namespace

TEST_CASE("PluginHost refuses a publish at once while the transport is not connected",
          "[unit][plugin_host]") {
  Hosted h("transport: {use: fault}\nfault: {state: reconnecting}\n");
  Outcome o;
  CHECK_FALSE(h.host->publish("x", o.done()));
  Status s = o.get();
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(s.message() == "transport not connected");
  CHECK(h.metrics.events_dropped.load() == 1);
  CHECK(h.metrics.events_published.load() == 0);
}

TEST_CASE("PluginHost bounds the control queue: publishes and store calls past it are refused and "
          "counted, and it recovers",
          "[unit][plugin_host]") {
  Hosted h("transport: {use: fault}\nfault: {publish_delay: 100ms}\nlimits: {control_queue: 3}\n");
  // One publish keeps the control thread busy for 100 ms; then 3 may wait.
  REQUIRE(h.host->publish("x"));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  int accepted = 0;
  for (int i = 0; i < 10; ++i)
    if (h.host->publish("x")) ++accepted;
  CHECK(accepted == 3);
  CHECK(h.metrics.control_queue_full.load() == static_cast<uint64_t>(10 - accepted));
  CHECK(h.metrics.events_dropped.load() == static_cast<uint64_t>(10 - accepted));

  Outcome refused;
  auto ran_anyway = std::make_shared<std::atomic<bool>>(false);  // set on the control thread
  h.host->with_store([ran_anyway](SessionStore&) { *ran_anyway = true; }, refused.done());
  Status s = refused.get();
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(s.message().find("limits.control_queue") != std::string::npos);
  CHECK(h.metrics.control_queue_full.load() == static_cast<uint64_t>(10 - accepted + 1));

  // Drained (at most ~0.4 s of publishes): work runs again.
  std::promise<void> ran;
  bool queued = false;
  for (int i = 0; i < 50 && !queued; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (h.metrics.events_published.load() == static_cast<uint64_t>(1 + accepted)) queued = true;
  }
  REQUIRE(queued);
  auto refused_again = std::make_shared<std::atomic<bool>>(false);
  h.host->with_store([&ran](SessionStore&) { ran.set_value(); }, [refused_again](Status) { *refused_again = true; });
  CHECK(ran.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK_FALSE(refused_again->load());
  CHECK_FALSE(ran_anyway->load());
}

TEST_CASE("after stop(), PluginHost refuses publishes and store calls: server is stopping",
          "[unit][plugin_host]") {
  Hosted h("");
  h.host->stop();
  Outcome pub;
  CHECK_FALSE(h.host->publish("x", pub.done()));
  CHECK(pub.get().message() == "server is stopping");
  Outcome store;
  bool ran = false;  // stop() joined the control thread: nothing runs after it
  h.host->with_store([&ran](SessionStore&) { ran = true; }, store.done());
  Status s = store.get();
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(s.message() == "server is stopping");
  CHECK_FALSE(ran);
}

TEST_CASE("a transport that publishes from any thread gets publishes on the caller's thread: a "
          "busy control thread does not hold them up",
          "[unit][plugin_host][any_thread]") {
  Hosted fault("transport: {use: fault}\n");  // ABI 1.2 behaviour: no capability
  CHECK_FALSE(fault.host->publishes_on_caller());
  Hosted h("limits: {control_queue: 2}\n");  // memory declares SWITCHBOARD_CAP_PUBLISH_ANY_THREAD
  REQUIRE(h.host->publishes_on_caller());
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Outcome busy;  // the control thread waits here until released
  h.host->with_store([released](SessionStore&) { released.wait(); }, busy.done());
  for (int i = 0; i < 100; ++i) REQUIRE(h.host->publish("x"));  // past control_queue: no hop
  CHECK(h.metrics.events_published.load() == 100);
  CHECK(h.metrics.control_queue_full.load() == 0);
  for (int i = 0; i < 500 && h.delivered < 100; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(h.delivered == 100);  // delivered while the control thread is still busy
  release.set_value();
}

TEST_CASE("publishes from many threads while the host stops: each is published or refused, none "
          "reaches a stopped transport",
          "[unit][plugin_host][any_thread]") {
  Hosted h("memory: {max_queue_messages: 100000}\n");
  REQUIRE(h.host->publishes_on_caller());
  std::atomic<bool> go{true};
  std::atomic<uint64_t> ok{0}, refused{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t)
    publishers.emplace_back([&] {
      while (go) (h.host->publish("x") ? ok : refused)++;
      for (int i = 0; i < 10; ++i) (h.host->publish("x") ? ok : refused)++;  // after stop: refused
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  h.host->stop();
  go = false;
  for (auto& p : publishers) p.join();
  CHECK(ok > 0);
  CHECK(refused >= 40);
  CHECK(h.metrics.events_published.load() == ok.load());
  CHECK(h.metrics.events_dropped.load() == refused.load());
}

namespace {
std::atomic<int> violations{0};
std::string last_violation;  // written before violations is bumped
void record_violation(const std::string& what) {
  last_violation = what;
  ++violations;
}
}  // namespace

TEST_CASE("threading.md rule 4 is enforced: a deliver() from inside publish() is a violation, "
          "one from the plugin's own thread is not",
          "[unit][plugin_host][rule4]") {
  plugin::HostBridge::set_violation_handler(&record_violation);
  violations = 0;
  {
    Hosted good("transport: {use: fault}\n");  // echoes from its loopback thread
    Outcome o;
    REQUIRE(good.host->publish("x", o.done()));
    CHECK(o.get().is_ok());
    for (int i = 0; i < 500 && good.delivered == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(good.delivered == 1);
    CHECK(violations == 0);

    Hosted bad("transport: {use: fault}\nfault: {deliver_inline: true}\n");
    Outcome o2;
    REQUIRE(bad.host->publish("y", o2.done()));
    CHECK(o2.get().is_ok());
    CHECK(violations == 1);
    CHECK_THAT(last_violation, Catch::Contains("transport:fault") &&
                                   Catch::Contains("deliver() called from inside a core") &&
                                   Catch::Contains("rule 4"));
    CHECK(bad.delivered == 1);  // the handler decides; the delivery itself still posts
  }
  plugin::HostBridge::set_violation_handler(nullptr);
}

#ifndef NDEBUG
TEST_CASE("a debug build aborts on a rule 4 violation", "[unit][plugin_host][rule4]") {
  // The default handler, in a child process: only the forking thread exists there,
  // and the child uses no plugin, only the bridge's check.
  plugin::HostBridge::set_violation_handler(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // not Catch's handler: the child must die of it
    plugin::HostBridge bridge("transport:test", nullptr, [](std::string_view) {});
    plugin::HostBridge::Call in_plugin(bridge);
    bridge.table()->deliver(bridge.table()->ctx, reinterpret_cast<const uint8_t*>("x"), 1);
    _exit(0);  // not reached in a debug build
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}
#endif

TEST_CASE("PluginHost with the transport only: publishes, and refuses every store call",
          "[unit][plugin_host]") {
  std::vector<std::string> dirs;
  auto settings = plugin::load_settings(
      Config::from_string("plugins: {dir: \"" SWITCHBOARD_PLUGIN_DIR "\"}\n", "test.yaml"), dirs);
  observe::Metrics metrics;
  std::promise<std::string> echo;
  plugin::PluginHost host(settings, dirs, metrics,
                          [&](std::string_view b) { echo.set_value(std::string(b)); },
                          plugin::PluginHost::Parts::kTransportOnly);
  host.start();
  Outcome o;
  REQUIRE(host.publish("{\"t\":\"all\",\"e\":\"x\"}", o.done()));
  CHECK(o.get().is_ok());
  auto f = echo.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(f.get() == "{\"t\":\"all\",\"e\":\"x\"}");
  Outcome refused;
  bool ran = false;
  host.with_store([&](SessionStore&) { ran = true; }, refused.done());
  CHECK(refused.get().code() == StatusCode::kUnavailable);
  CHECK_FALSE(ran);
  host.stop();
}
