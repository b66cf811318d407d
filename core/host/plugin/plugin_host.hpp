// PluginHost: owns the loaded transport and session store and is the only place
// that calls them. Every call runs on one control thread (docs/threading.md rule
// 1), so plugins never see concurrent calls from the core; callers on any thread
// post work here and get completions back on whatever thread the plugin uses.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "config/schema.hpp"
#include "config/settings.hpp"
#include "config/validate.hpp"
#include "observe/metrics.hpp"
#include "plugin/loader.hpp"
#include "sync/mutex.hpp"
#include "switchboard/session_store.hpp"
#include "switchboard/transport.hpp"

namespace switchboard {
class Config;
}

namespace switchboard::plugin {

// The config sections of plugins, each loaded once from dirs (load_plugin): every
// name in `required` (a missing file is a PluginError naming the folders), and those in
// `optional` whose file exists. Names already in `sections` (a core section, or
// given twice) are skipped. The one place the server, `config-reference` and
// the benchmarks gather plugin schemas.
void add_plugin_sections(std::vector<config::SectionSpec>& sections,
                         const std::vector<std::string>& dirs,
                         const std::vector<std::string>& required,
                         const std::vector<std::string>& optional = {});

// Validates a config against the core schema and the schemas of the plugins it
// names, loaded from the folders plugin_dirs() gives for its plugins.dir (returned
// in dirs). Throws ConfigError / PluginError. With `effective`, also every key's
// value (config::validate).
config::Settings load_settings(const Config& config, std::vector<std::string>& dirs,
                               std::vector<config::EffectiveValue>* effective = nullptr);

class PluginHost {
 public:
  using Deliver = std::function<void(std::string_view)>;
  // What to load: a server needs both plugins; a client of the bus (the
  // `switchboard publish` command) only the transport, and then with_store()
  // refuses every call.
  enum class Parts { kTransportAndStore, kTransportOnly };

  // Loads and creates the configured transport and store (throws PluginError).
  PluginHost(const config::Settings& settings, const std::vector<std::string>& plugin_dirs,
             observe::Metrics& metrics, Deliver deliver,
             Parts parts = Parts::kTransportAndStore);
  ~PluginHost();

  // Starts the control thread, then the plugins (on it). Throws on a start error.
  void start();
  // Stops the plugins (on the control thread; after it no callback arrives), then
  // the control thread. Idempotent.
  void stop();

  // Any thread. Counts published / dropped. Returns false (and counts a drop,
  // and done gets kUnavailable) without trying when the server is stopping or
  // the transport's last reported state is not connected (at-most-once delivery
  // drops rather than queues during an outage).
  // - A transport that declares SWITCHBOARD_CAP_PUBLISH_ANY_THREAD, publishing
  //   without `done`: published here, on the caller's thread (no hop); returns
  //   whether the transport took it (a BACKPRESSURE refusal returns false).
  // - Otherwise on the control thread; done (optional) gets the transport's
  //   status there; returns false when limits.control_queue tasks already wait
  //   for the control thread (also counted as backpressure).
  bool publish(std::string bytes, std::function<void(Status)> done = {});
  // Any thread. Runs op(store) on the control thread; refused(kUnavailable)
  // instead after stop, when the control queue is full or without a store
  // (Parts::kTransportOnly), on the caller's thread.
  void with_store(std::function<void(SessionStore&)> op,
                  std::function<void(Status)> refused);

  boost::asio::io_context& control() { return control_; }
  // The plugins' reported states (any thread; for /healthz and /metrics).
  const observe::ComponentState& transport_state() const { return transport_state_; }
  const observe::ComponentState& store_state() const { return store_state_; }
  // The transport plugin declares SWITCHBOARD_CAP_SHARED: other processes see its bus.
  bool shared_bus() const { return shared_bus_; }
  // The transport plugin declares SWITCHBOARD_CAP_PUBLISH_ANY_THREAD.
  bool publishes_on_caller() const { return direct_; }

 private:
  // Posts fn to the control thread unless limits.control_queue tasks are waiting.
  bool enqueue(std::function<void()> fn);
  bool counted(const Status& s);

  observe::Metrics& metrics_;
  observe::ComponentState transport_state_;  // written by the plugins' HostBridges
  observe::ComponentState store_state_;
  const size_t max_queued_;
  std::atomic<size_t> queued_{0};  // enqueue()d tasks not yet run
  boost::asio::io_context control_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<SessionStore> store_;  // null with Parts::kTransportOnly
  bool running_ = false;  // control thread only
  bool shared_bus_ = false;
  bool direct_ = false;  // publishes on the caller's thread (the capability)
  // Direct publishes hold it shared; the control thread holds it exclusively to
  // open them after the transport started and close them before it stops.
  sync::SharedMutex direct_mu_;
  bool direct_open_ SB_GUARDED_BY(direct_mu_) = false;
  std::atomic<bool> stopped_{false};
};

}  // namespace switchboard::plugin
