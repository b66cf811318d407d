#include "cli/bus_publish.hpp"

#include <condition_variable>
#include <optional>
#include <thread>

#include "observe/metrics.hpp"
#include "plugin/plugin_host.hpp"
#include "sync/mutex.hpp"

namespace switchboard::cli {

namespace {

using Clock = std::chrono::steady_clock;

// What the plugin's threads tell the command's thread: the publish's status and
// whether the message came back from the bus.
struct Progress {
  sync::Mutex mu;
  std::condition_variable_any cv;
  std::optional<Status> published SB_GUARDED_BY(mu);
  bool echoed SB_GUARDED_BY(mu) = false;
};

std::string seconds(std::chrono::milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace

Outcome publish_on_bus(const config::Settings& settings, const std::vector<std::string>& plugin_dirs,
                       const std::string& message, std::chrono::milliseconds timeout,
                       const std::function<Outcome()>& if_unshared) {
  const auto deadline = Clock::now() + timeout;
  const std::string& name = settings.transport.use;
  Progress progress;
  observe::Metrics metrics;
  plugin::PluginHost host(
      settings, plugin_dirs, metrics,
      [&progress, &message](std::string_view bytes) {
        if (bytes != message) return;  // other traffic on the bus
        sync::Lock lock(progress.mu);
        progress.echoed = true;
        progress.cv.notify_all();
      },
      plugin::PluginHost::Parts::kTransportOnly);
  if (!host.shared_bus()) {
    if (if_unshared) return if_unshared();
    return {kExitFailed, "transport '" + name +
                             "' is not shared between processes: a message published from this "
                             "command would reach no server. Publish with a shared transport "
                             "(redis, nats, kafka), or through a server's HTTP API (--url, or "
                             "api.keys in this config)"};
  }
  try {
    host.start();
  } catch (const std::exception& e) {
    return {kExitFailed, "transport '" + name + "': " + e.what()};
  }

  // A publish is refused until the transport reports CONNECTED (at-most-once).
  const auto& state = host.transport_state();
  for (;;) {
    int s = state.state.load();
    if (s == SWITCHBOARD_STATE_CONNECTED) break;
    if (s == SWITCHBOARD_STATE_FAILED || s == SWITCHBOARD_STATE_STOPPED || Clock::now() >= deadline) {
      std::string detail = state.get_detail();
      host.stop();
      const std::string now = state_name(static_cast<switchboard_state>(s));
      return {kExitFailed,
              "transport '" + name + "' " +
                  (Clock::now() >= deadline
                       ? "not connected within " + seconds(timeout) + " (" + now + ")"
                       : now) +
                  (detail.empty() ? std::string() : ": " + detail)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  host.publish(message, [&progress](Status s) {
    sync::Lock lock(progress.mu);
    progress.published = std::move(s);
    progress.cv.notify_all();
  });
  Outcome out;
  {
    sync::Lock lock(progress.mu);
    while (!progress.echoed && !(progress.published && !progress.published->is_ok()) &&
           Clock::now() < deadline)
      progress.cv.wait_until(lock, deadline);
    if (progress.published && !progress.published->is_ok())
      out = {kExitFailed, "transport '" + name + "' refused the publish: " +
                              progress.published->message()};
    else if (!progress.echoed)
      out = {kExitUnknown, "published on transport '" + name +
                               "' but not seen back from the bus within " + seconds(timeout) +
                               ": it may or may not have been delivered"};
  }
  host.stop();
  return out;
}

}  // namespace switchboard::cli
