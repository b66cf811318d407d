#include "plugin/proxies.hpp"

#include "observe/log.hpp"

namespace switchboard::plugin {
namespace {

constexpr size_t kErrLen = 512;

struct CEntries {
  std::vector<switchboard_config_entry> entries;
  explicit CEntries(const ConfigEntries& config) {
    for (const auto& [k, v] : config)
      entries.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
  }
};

Status status_of(switchboard_status s, const char* err) {
  return s == SWITCHBOARD_OK ? Status::ok() : Status(static_cast<StatusCode>(s), err);
}

switchboard_str str(std::string_view s) { return {s.data(), s.size()}; }

// SessionRecord from the plugin's borrowed C record.
SessionRecord record_of(const switchboard_session_record& r) {
  SessionRecord rec;
  if (r.has_user) rec.user_id.emplace(r.user.data, r.user.len);
  for (size_t i = 0; i < r.channel_count; ++i)
    rec.channels.emplace_back(r.channels[i].data, r.channels[i].len);
  for (size_t i = 0; i < r.data_count; ++i)
    rec.data.emplace_back(std::string(r.data_keys[i].data, r.data_keys[i].len),
                          std::string(r.data_values[i].data, r.data_values[i].len));
  return rec;
}

// The completion every store operation gets. op_ctx is a CompletionRegistry id,
// never a pointer: a duplicate or late completion finds nothing and is only
// counted. Called on a plugin thread: nothing may escape into the plugin's C code.
void on_store_done(void* op_ctx, uint32_t status, const switchboard_session_record* r,
                   const char* error) {
  try {
    StoreCallback cb = CompletionRegistry::process().take(op_ctx);
    if (!cb) return;
    if (status > SWITCHBOARD_ERROR) status = SWITCHBOARD_ERROR;
    if (status != SWITCHBOARD_OK) {
      cb(Status(static_cast<StatusCode>(status), error ? error : "store operation failed"),
         nullptr);
      return;
    }
    if (r == nullptr) {
      cb(Status::ok(), nullptr);
      return;
    }
    SessionRecord rec = record_of(*r);
    cb(Status::ok(), &rec);
  } catch (const std::exception& e) {
    observe::log_error("store", std::string("a store completion handler threw: ") + e.what());
  } catch (...) {
    observe::log_error("store", "a store completion handler threw");
  }
}

std::vector<switchboard_str> strs(const std::vector<std::string>& v) {
  std::vector<switchboard_str> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(str(s));
  return out;
}

}  // namespace

template <class VTable>
PluginInstance<VTable>::PluginInstance(std::shared_ptr<LoadedPlugin> plugin, const VTable* vt,
                                       const char* what, const ConfigEntries& config,
                                       std::unique_ptr<HostBridge> bridge)
    : plugin_(std::move(plugin)), bridge_(std::move(bridge)), vt_(vt), instance_(nullptr) {
  if (vt_ == nullptr)
    throw PluginError("plugin " + plugin_->path + " ('" + plugin_->descriptor->name +
                      "') provides no " + what);
  CEntries c(config);
  char err[kErrLen] = {};
  if (vt_->create(c.entries.data(), c.entries.size(), bridge_->table(), &instance_, err,
                  kErrLen) != SWITCHBOARD_OK)
    throw PluginError(std::string(what) + " '" + plugin_->descriptor->name + "': " + err);
}

template <class VTable>
PluginInstance<VTable>::~PluginInstance() {
  if (instance_ == nullptr) return;  // create() said OK without an instance: nothing to end
  stop();
  vt_->destroy(instance_);
}

template <class VTable>
Status PluginInstance<VTable>::start() {
  HostBridge::Call in_plugin(*bridge_);
  char err[kErrLen] = {};
  return status_of(vt_->start(instance_, err, kErrLen), err);
}

template <class VTable>
bool PluginInstance<VTable>::stop() {
  if (stopped_) return false;
  stopped_ = true;
  HostBridge::Call in_plugin(*bridge_);
  vt_->stop(instance_);
  return true;
}

template class PluginInstance<switchboard_transport_vtable>;
template class PluginInstance<switchboard_store_vtable>;

PluginTransport::PluginTransport(std::shared_ptr<LoadedPlugin> plugin, const ConfigEntries& config,
                                 std::unique_ptr<HostBridge> bridge)
    : instance_(plugin, plugin->descriptor->transport, "transport", config, std::move(bridge)) {}

Status PluginTransport::start() { return instance_.start(); }

Status PluginTransport::publish(std::string_view bytes) {
  HostBridge::Call in_plugin(instance_.bridge());
  char err[kErrLen] = {};
  return status_of(instance_.vt().publish(instance_.get(),
                                          reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size(), err, kErrLen),
                   err);
}

void PluginTransport::stop() { instance_.stop(); }

PluginStore::PluginStore(std::shared_ptr<LoadedPlugin> plugin, const ConfigEntries& config,
                         std::unique_ptr<HostBridge> bridge)
    : instance_(plugin, plugin->descriptor->store, "session store", config, std::move(bridge)),
      scope_(std::make_shared<CompletionScope>(std::string("store:") +
                                               plugin->descriptor->name)) {}

PluginStore::~PluginStore() { stop(); }

Status PluginStore::start() { return instance_.start(); }

void PluginStore::stop() {
  if (!instance_.stop()) return;
  // stop() must complete what is pending; what it left is answered here, so every
  // caller hears back exactly once. Any completion from now on is late (ignored).
  auto left = CompletionRegistry::process().close(*scope_);
  if (!left.empty())
    observe::log_warn(scope_->component(),
                      std::to_string(left.size()) +
                          " operation(s) still pending after stop() returned (e.g. " +
                          left.front().first + "); answered UNAVAILABLE by the host");
  answered_at_stop_ = left.size();
  for (auto& [op, done] : left)
    done(Status(StatusCode::kUnavailable,
                std::string("session store stopped before completing ") + op),
         nullptr);
}

uint64_t PluginStore::ignored_completions() const { return scope_->ignored(); }
size_t PluginStore::answered_at_stop() const { return answered_at_stop_.load(); }

void* PluginStore::ctx(const char* op, StoreCallback done) {
  return CompletionRegistry::process().add(scope_, op, std::move(done));
}

void PluginStore::create_session(std::string_view id, int64_t ttl, StoreCallback done) {
  instance_.vt().create_session(instance_.get(), str(id), ttl, &on_store_done,
                                ctx("create_session", std::move(done)));
}
void PluginStore::load(std::string_view id, int64_t ttl, StoreCallback done) {
  instance_.vt().load(instance_.get(), str(id), ttl, &on_store_done,
                      ctx("load", std::move(done)));
}
void PluginStore::add_channels(std::string_view id, const std::vector<std::string>& names,
                               uint32_t max, int64_t ttl, StoreCallback done) {
  auto n = strs(names);
  instance_.vt().add_channels(instance_.get(), str(id), n.data(), n.size(), max, ttl,
                              &on_store_done, ctx("add_channels", std::move(done)));
}
void PluginStore::remove_channels(std::string_view id, const std::vector<std::string>& names,
                                  int64_t ttl, StoreCallback done) {
  auto n = strs(names);
  instance_.vt().remove_channels(instance_.get(), str(id), n.data(), n.size(), ttl,
                                 &on_store_done, ctx("remove_channels", std::move(done)));
}
void PluginStore::clear_channels(std::string_view id, int64_t ttl, StoreCallback done) {
  instance_.vt().clear_channels(instance_.get(), str(id), ttl, &on_store_done,
                                ctx("clear_channels", std::move(done)));
}
void PluginStore::set_user(std::string_view id, const std::optional<std::string>& user,
                           int64_t ttl, StoreCallback done) {
  switchboard_str u{};
  if (user) u = str(*user);
  instance_.vt().set_user(instance_.get(), str(id), user ? &u : nullptr, ttl, &on_store_done,
                          ctx("set_user", std::move(done)));
}
void PluginStore::set_data(std::string_view id, std::string_view key,
                           const std::optional<std::string>& value, int64_t ttl,
                           StoreCallback done) {
  switchboard_str v{};
  if (value) v = str(*value);
  instance_.vt().set_data(instance_.get(), str(id), str(key), value ? &v : nullptr, ttl,
                          &on_store_done, ctx("set_data", std::move(done)));
}
void PluginStore::remove(std::string_view id, StoreCallback done) {
  instance_.vt().remove(instance_.get(), str(id), &on_store_done,
                        ctx("remove", std::move(done)));
}

}  // namespace switchboard::plugin
