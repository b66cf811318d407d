#include "plugin/plugin_host.hpp"

#include <future>

#include <boost/asio/post.hpp>

#include "config/validate.hpp"
#include "observe/log.hpp"
#include "plugin/proxies.hpp"

namespace switchboard::plugin {

void add_plugin_sections(std::vector<config::SectionSpec>& sections,
                         const std::vector<std::string>& dirs,
                         const std::vector<std::string>& required,
                         const std::vector<std::string>& optional) {
  auto add = [&](const std::string& name, bool must_exist) {
    for (const auto& s : sections)
      if (s.name == name) return;
    if (!must_exist && find_plugin(dirs, name).empty()) return;
    sections.push_back(config::plugin_section(*load_plugin(dirs, name)->descriptor));
  };
  for (const auto& name : required) add(name, true);
  for (const auto& name : optional) add(name, false);
}

config::Settings load_settings(const Config& config, std::vector<std::string>& dirs,
                               std::vector<config::EffectiveValue>* effective) {
  auto choice = config::plugin_choice(config);
  dirs = plugin_dirs(choice.dir);
  std::vector<config::SectionSpec> sections;
  add_plugin_sections(sections, dirs, {choice.transport, choice.store}, choice.other_sections);
  return config::validate(config, sections, effective);
}

PluginHost::PluginHost(const config::Settings& settings,
                       const std::vector<std::string>& plugin_dirs,
                       observe::Metrics& metrics, Deliver deliver, Parts parts)
    : metrics_(metrics), max_queued_(settings.limits.control_queue), work_(control_.get_executor()) {
  auto config_of = [&](const std::string& name) {
    auto it = settings.plugin_config.find(name);
    return it == settings.plugin_config.end() ? ConfigEntries{} : it->second;
  };
  transport_state_.name = settings.transport.use;
  store_state_.name = settings.session.store;
  auto tp = load_plugin(plugin_dirs, settings.transport.use);
  shared_bus_ = tp->descriptor->capabilities & SWITCHBOARD_CAP_SHARED;
  direct_ = tp->descriptor->capabilities & SWITCHBOARD_CAP_PUBLISH_ANY_THREAD;
  transport_ = std::make_unique<PluginTransport>(
      tp, config_of(tp->descriptor->name),
      std::make_unique<HostBridge>("transport:" + settings.transport.use, &transport_state_,
                                   std::move(deliver)));
  if (parts == Parts::kTransportOnly) return;
  auto sp = load_plugin(plugin_dirs, settings.session.store);
  if (shared_bus_ && !(sp->descriptor->capabilities & SWITCHBOARD_CAP_SHARED))
    observe::log_warn("server", "transport '" + settings.transport.use + "' is shared between servers but session store '" +
                                    settings.session.store +
                                    "' is local to this process: a client that reconnects to another server starts a "
                                    "new session (its channels and user are lost); use a shared store (redis, nats)");
  store_ = std::make_unique<PluginStore>(
      sp, config_of(sp->descriptor->name),
      std::make_unique<HostBridge>("store:" + settings.session.store, &store_state_, nullptr));
}

PluginHost::~PluginHost() { stop(); }

void PluginHost::start() {
  thread_ = std::thread([this] { control_.run(); });
  std::promise<Status> started;
  boost::asio::post(control_, [&] {
    Status s = transport_->start();
    if (s.is_ok() && store_) s = store_->start();
    if (s.is_ok()) {
      running_ = true;
      sync::WriteLock lock(direct_mu_);
      direct_open_ = true;
    }
    started.set_value(s);
  });
  Status s = started.get_future().get();
  if (!s.is_ok()) {
    stop();
    throw PluginError("plugin start failed: " + s.message());
  }
}

void PluginHost::stop() {
  if (stopped_.exchange(true)) return;
  if (thread_.joinable()) {
    boost::asio::post(control_, [this] {
      running_ = false;
      {
        sync::WriteLock lock(direct_mu_);  // waits for direct publishes under way
        direct_open_ = false;
      }
      transport_->stop();
      if (store_) store_->stop();
    });
    work_.reset();
    thread_.join();
  }
  // Destroy instances after stop; libraries unload after their instances.
  transport_.reset();
  store_.reset();
}

bool PluginHost::enqueue(std::function<void()> fn) {
  if (queued_.fetch_add(1) >= max_queued_) {
    queued_.fetch_sub(1);
    observe::bump(metrics_.control_queue_full);
    return false;
  }
  boost::asio::post(control_, [this, fn = std::move(fn)] {
    queued_.fetch_sub(1);
    fn();
  });
  return true;
}

namespace {
Status stopping() { return Status(StatusCode::kUnavailable, "server is stopping"); }
Status busy() {
  return Status(StatusCode::kUnavailable, "server busy: limits.control_queue tasks are waiting");
}
}  // namespace

// Counts one publish the transport took or refused; returns whether it took it.
bool PluginHost::counted(const Status& s) {
  observe::bump(s.is_ok() ? metrics_.events_published : metrics_.events_dropped);
  return s.is_ok();
}

bool PluginHost::publish(std::string bytes, std::function<void(Status)> done) {
  Status refused = stopped_ ? stopping()
                   : transport_state_.state.load() != SWITCHBOARD_STATE_CONNECTED
                       ? Status(StatusCode::kUnavailable, "transport not connected")
                       : Status::ok();
  if (refused.is_ok() && direct_ && !done) {
    Status s;
    {
      sync::ReadLock lock(direct_mu_);
      s = direct_open_ ? transport_->publish(bytes)
          : stopped_   ? stopping()
                       : Status(StatusCode::kUnavailable, "transport not started");
    }
    return counted(s);
  }
  if (refused.is_ok()) {
    auto run = [this, bytes = std::move(bytes), done] {
      Status s = running_ ? transport_->publish(bytes) : stopping();
      counted(s);
      if (done) done(s);
    };
    if (enqueue(std::move(run))) return true;
    refused = busy();
  }
  counted(refused);
  if (done) done(refused);
  return false;
}

void PluginHost::with_store(std::function<void(SessionStore&)> op, std::function<void(Status)> refused) {
  if (stopped_) return refused(stopping());
  if (!store_) return refused(Status(StatusCode::kUnavailable, "no session store loaded"));
  auto run = [this, op = std::move(op), refused] {
    if (running_) op(*store_);
    else refused(stopping());
  };
  if (!enqueue(std::move(run))) refused(busy());
}

}  // namespace switchboard::plugin
