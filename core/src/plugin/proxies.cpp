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

// Creates a plugin instance through its C table; throws PluginError with what the
// plugin said.
template <class VTable>
void* create(const VTable* vt, const LoadedPlugin& plugin, const char* what,
             const ConfigEntries& config, const HostBridge& bridge) {
  if (vt == nullptr)
    throw PluginError("plugin " + plugin.path + " ('" + plugin.descriptor->name + "') provides no " +
                      what);
  CEntries c(config);
  char err[kErrLen] = {};
  void* instance = nullptr;
  if (vt->create(c.entries.data(), c.entries.size(), bridge.table(), &instance, err, kErrLen) !=
      SWITCHBOARD_OK)
    throw PluginError(std::string(what) + " '" + plugin.descriptor->name + "': " + err);
  return instance;
}

std::vector<switchboard_str> strs(const std::vector<std::string>& v) {
  std::vector<switchboard_str> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(str(s));
  return out;
}

}  // namespace

PluginTransport::PluginTransport(std::shared_ptr<LoadedPlugin> plugin, const ConfigEntries& config,
                                 std::unique_ptr<HostBridge> bridge)
    : plugin_(std::move(plugin)),
      bridge_(std::move(bridge)),
      vt_(plugin_->descriptor->transport),
      instance_(create(vt_, *plugin_, "transport", config, *bridge_)) {}

PluginTransport::~PluginTransport() {
  if (instance_) {
    stop();
    vt_->destroy(instance_);
  }
}

Status PluginTransport::start() {
  HostBridge::Call in_plugin(*bridge_);
  char err[kErrLen] = {};
  return status_of(vt_->start(instance_, err, kErrLen), err);
}

Status PluginTransport::publish(std::string_view bytes) {
  HostBridge::Call in_plugin(*bridge_);
  char err[kErrLen] = {};
  return status_of(vt_->publish(instance_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                bytes.size(), err, kErrLen),
                   err);
}

void PluginTransport::stop() {
  if (stopped_) return;
  stopped_ = true;
  HostBridge::Call in_plugin(*bridge_);
  vt_->stop(instance_);
}

PluginStore::PluginStore(std::shared_ptr<LoadedPlugin> plugin, const ConfigEntries& config,
                         std::unique_ptr<HostBridge> bridge)
    : plugin_(std::move(plugin)),
      bridge_(std::move(bridge)),
      vt_(plugin_->descriptor->store),
      instance_(create(vt_, *plugin_, "session store", config, *bridge_)),
      scope_(std::make_shared<CompletionScope>(std::string("store:") +
                                               plugin_->descriptor->name)) {}

PluginStore::~PluginStore() {
  if (instance_) {
    stop();
    vt_->destroy(instance_);
  }
}

Status PluginStore::start() {
  char err[kErrLen] = {};
  return status_of(vt_->start(instance_, err, kErrLen), err);
}

void PluginStore::stop() {
  if (stopped_) return;
  stopped_ = true;
  vt_->stop(instance_);
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
  vt_->create_session(instance_, str(id), ttl, &on_store_done,
                      ctx("create_session", std::move(done)));
}
void PluginStore::load(std::string_view id, int64_t ttl, StoreCallback done) {
  vt_->load(instance_, str(id), ttl, &on_store_done, ctx("load", std::move(done)));
}
void PluginStore::add_channels(std::string_view id, const std::vector<std::string>& names,
                               uint32_t max, int64_t ttl, StoreCallback done) {
  auto n = strs(names);
  vt_->add_channels(instance_, str(id), n.data(), n.size(), max, ttl, &on_store_done,
                    ctx("add_channels", std::move(done)));
}
void PluginStore::remove_channels(std::string_view id, const std::vector<std::string>& names,
                                  int64_t ttl, StoreCallback done) {
  auto n = strs(names);
  vt_->remove_channels(instance_, str(id), n.data(), n.size(), ttl, &on_store_done,
                       ctx("remove_channels", std::move(done)));
}
void PluginStore::clear_channels(std::string_view id, int64_t ttl, StoreCallback done) {
  vt_->clear_channels(instance_, str(id), ttl, &on_store_done,
                      ctx("clear_channels", std::move(done)));
}
void PluginStore::set_user(std::string_view id, const std::optional<std::string>& user,
                           int64_t ttl, StoreCallback done) {
  switchboard_str u{};
  if (user) u = str(*user);
  vt_->set_user(instance_, str(id), user ? &u : nullptr, ttl, &on_store_done,
                ctx("set_user", std::move(done)));
}
void PluginStore::set_data(std::string_view id, std::string_view key,
                           const std::optional<std::string>& value, int64_t ttl,
                           StoreCallback done) {
  switchboard_str v{};
  if (value) v = str(*value);
  vt_->set_data(instance_, str(id), str(key), value ? &v : nullptr, ttl, &on_store_done,
                ctx("set_data", std::move(done)));
}
void PluginStore::remove(std::string_view id, StoreCallback done) {
  vt_->remove(instance_, str(id), &on_store_done, ctx("remove", std::move(done)));
}

}  // namespace switchboard::plugin
