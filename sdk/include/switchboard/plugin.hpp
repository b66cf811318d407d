// switchboard/plugin.hpp — write a plugin in C++; this header turns it into the C
// ABI of abi.h.
//
//   class MyTransport : public switchboard::Transport {
//    public:
//     MyTransport(const switchboard::PluginConfig& config, switchboard::Host host);
//     ...
//   };
//   static const switchboard::ConfigKey kKeys[] = {
//       {"url", SWITCHBOARD_CONFIG_STRING, "mq://127.0.0.1", "Broker address."}};
//   SWITCHBOARD_PLUGIN("my", "1.0.0", kKeys, MyTransport, void);
//
// The fourth argument is the Transport class (or void), the fifth the SessionStore
// class (or void). Constructors take (const PluginConfig&, Host). The generated
// trampolines catch every exception: a constructor that throws is reported as
// SWITCHBOARD_INVALID with the exception's message; a throwing operation becomes
// SWITCHBOARD_ERROR (and a store completion with that status). Nothing C++ crosses
// the boundary. Build with -fvisibility=hidden: only the entry symbol is exported.
#pragma once

#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "switchboard/abi.h"
#include "switchboard/host.hpp"
#include "switchboard/plugin_config.hpp"
#include "switchboard/session_store.hpp"
#include "switchboard/transport.hpp"

namespace switchboard::detail {

inline void write_error(char* err, size_t err_len, const char* message) {
  if (err == nullptr || err_len == 0) return;
  std::snprintf(err, err_len, "%s", message);
}

inline switchboard_status report(const Status& s, char* err, size_t err_len) {
  if (!s.is_ok()) write_error(err, err_len, s.message().c_str());
  return static_cast<switchboard_status>(s.code());
}

// Runs f; converts any exception into `failure` and an error message.
template <class F>
switchboard_status guarded(char* err, size_t err_len, switchboard_status failure, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    write_error(err, err_len, e.what());
  } catch (...) {
    write_error(err, err_len, "unknown exception");
  }
  return failure;
}

template <class T>
struct Instance {
  switchboard_host host;  // copied: the host's pointer is only borrowed for create
  std::unique_ptr<T> impl;
};

template <class T>
switchboard_status create_instance(const switchboard_config_entry* config, size_t count,
                                   const switchboard_host* host, void** out, char* err,
                                   size_t err_len) {
  return guarded(err, err_len, SWITCHBOARD_INVALID, [&] {
    auto inst = std::make_unique<Instance<T>>();
    inst->host = *host;
    inst->impl = std::make_unique<T>(PluginConfig(config, count), Host(&inst->host));
    *out = inst.release();
    return SWITCHBOARD_OK;
  });
}

template <class T>
T& impl(void* instance) {
  return *static_cast<Instance<T>*>(instance)->impl;
}

template <class T>
const switchboard_host& host_of(void* instance) {
  return static_cast<Instance<T>*>(instance)->host;
}

template <class T>
void destroy_instance(void* instance) {
  try {
    delete static_cast<Instance<T>*>(instance);
  } catch (...) {
  }
}

// start and stop, the same for a transport and a store.
template <class T>
struct Lifecycle {
  static switchboard_status start(void* i, char* err, size_t n) {
    return guarded(err, n, SWITCHBOARD_ERROR, [&] { return report(impl<T>(i).start(), err, n); });
  }
  static void stop(void* i) {
    try {
      impl<T>(i).stop();
    } catch (...) {
    }
  }
};

template <class T>
struct TransportTable : Lifecycle<T> {
  using Lifecycle<T>::start;
  using Lifecycle<T>::stop;
  static switchboard_status publish(void* i, const uint8_t* d, size_t len, char* err, size_t n) {
    return guarded(err, n, SWITCHBOARD_ERROR, [&] {
      return report(impl<T>(i).publish({reinterpret_cast<const char*>(d), len}), err, n);
    });
  }
  static const switchboard_transport_vtable* table() {
    static const switchboard_transport_vtable t{
        sizeof(switchboard_transport_vtable), &create_instance<T>, &start, &publish, &stop,
        &destroy_instance<T>};
    return &t;
  }
};

// Wraps the host's C completion into a StoreCallback that converts the record back.
// `completed` is set by the first call; store_op reads it so that it never adds a
// completion of its own to an operation the plugin already completed. Every call the
// plugin makes is passed on: a second one is the plugin's bug, which the host
// counts, logs and ignores (and the conformance kit fails) rather than the SDK
// hiding it.
inline StoreCallback completion(switchboard_store_done done, void* op_ctx,
                                std::shared_ptr<std::atomic<bool>> completed) {
  return [done, op_ctx, completed](Status s, const SessionRecord* rec) {
    completed->store(true);
    if (!s.is_ok() || rec == nullptr) {
      done(op_ctx, static_cast<uint32_t>(s.code()), nullptr,
           s.is_ok() ? nullptr : s.message().c_str());
      return;
    }
    std::vector<switchboard_str> channels, keys, values;
    channels.reserve(rec->channels.size());
    for (auto& c : rec->channels) channels.push_back({c.data(), c.size()});
    for (auto& [k, v] : rec->data) {
      keys.push_back({k.data(), k.size()});
      values.push_back({v.data(), v.size()});
    }
    switchboard_session_record r{};
    r.struct_size = sizeof r;
    r.has_user = rec->user_id.has_value() ? 1 : 0;
    if (rec->user_id) r.user = {rec->user_id->data(), rec->user_id->size()};
    r.channels = channels.data();
    r.channel_count = channels.size();
    r.data_keys = keys.data();
    r.data_values = values.data();
    r.data_count = keys.size();
    done(op_ctx, SWITCHBOARD_OK, &r, nullptr);
  };
}

inline std::string_view view(switchboard_str s) { return {s.data, s.len}; }

inline std::vector<std::string> names(const switchboard_str* n, size_t count) {
  std::vector<std::string> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.emplace_back(n[i].data, n[i].len);
  return out;
}

// Runs one store operation. An exception completes it with SWITCHBOARD_ERROR only
// when the plugin has not completed it yet: one that completes and then throws is
// not completed twice; its exception is logged through the host instead. (A
// completion that races a throw from another thread may still come second; the host
// ignores and counts it.)
template <class F>
void store_op(const switchboard_host& host, const char* op, switchboard_store_done done,
              void* op_ctx, F&& f) {
  std::shared_ptr<std::atomic<bool>> completed;
  auto fail = [&](const char* what) {
    if (!completed || !completed->exchange(true)) {
      done(op_ctx, SWITCHBOARD_ERROR, nullptr, what);
      return;
    }
    std::string line = std::string("store ") + op +
                       " threw after completing (exception ignored): " + what;
    host.log(host.ctx, SWITCHBOARD_LOG_WARN, line.c_str());
  };
  try {
    completed = std::make_shared<std::atomic<bool>>(false);
    f(completion(done, op_ctx, completed));
  } catch (const std::exception& e) {
    try {
      fail(e.what());
    } catch (...) {
    }
  } catch (...) {
    try {
      fail("unknown exception");
    } catch (...) {
    }
  }
}

template <class T>
struct StoreTable : Lifecycle<T> {
  using Lifecycle<T>::start;
  using Lifecycle<T>::stop;
  static void create_session(void* i, switchboard_str id, int64_t ttl, switchboard_store_done d,
                             void* c) {
    store_op(host_of<T>(i), "create_session", d, c,
             [&](StoreCallback cb) { impl<T>(i).create_session(view(id), ttl, cb); });
  }
  static void load(void* i, switchboard_str id, int64_t ttl, switchboard_store_done d, void* c) {
    store_op(host_of<T>(i), "load", d, c,
             [&](StoreCallback cb) { impl<T>(i).load(view(id), ttl, cb); });
  }
  static void add_channels(void* i, switchboard_str id, const switchboard_str* n, size_t count,
                           uint32_t max, int64_t ttl, switchboard_store_done d, void* c) {
    store_op(host_of<T>(i), "add_channels", d, c, [&](StoreCallback cb) {
      impl<T>(i).add_channels(view(id), names(n, count), max, ttl, cb);
    });
  }
  static void remove_channels(void* i, switchboard_str id, const switchboard_str* n,
                              size_t count, int64_t ttl, switchboard_store_done d, void* c) {
    store_op(host_of<T>(i), "remove_channels", d, c, [&](StoreCallback cb) {
      impl<T>(i).remove_channels(view(id), names(n, count), ttl, cb);
    });
  }
  static void clear_channels(void* i, switchboard_str id, int64_t ttl, switchboard_store_done d,
                             void* c) {
    store_op(host_of<T>(i), "clear_channels", d, c,
             [&](StoreCallback cb) { impl<T>(i).clear_channels(view(id), ttl, cb); });
  }
  static void set_user(void* i, switchboard_str id, const switchboard_str* user, int64_t ttl,
                       switchboard_store_done d, void* c) {
    store_op(host_of<T>(i), "set_user", d, c, [&](StoreCallback cb) {
      std::optional<std::string> u;
      if (user != nullptr) u.emplace(user->data, user->len);
      impl<T>(i).set_user(view(id), u, ttl, cb);
    });
  }
  static void set_data(void* i, switchboard_str id, switchboard_str key,
                       const switchboard_str* value, int64_t ttl, switchboard_store_done d,
                       void* c) {
    store_op(host_of<T>(i), "set_data", d, c, [&](StoreCallback cb) {
      std::optional<std::string> v;
      if (value != nullptr) v.emplace(value->data, value->len);
      impl<T>(i).set_data(view(id), view(key), v, ttl, cb);
    });
  }
  static void remove(void* i, switchboard_str id, switchboard_store_done d, void* c) {
    store_op(host_of<T>(i), "remove", d, c,
             [&](StoreCallback cb) { impl<T>(i).remove(view(id), cb); });
  }
  static const switchboard_store_vtable* table() {
    static const switchboard_store_vtable t{sizeof(switchboard_store_vtable),
                                            &create_instance<T>,
                                            &start,
                                            &stop,
                                            &destroy_instance<T>,
                                            &create_session,
                                            &load,
                                            &add_channels,
                                            &remove_channels,
                                            &clear_channels,
                                            &set_user,
                                            &set_data,
                                            &remove};
    return &t;
  }
};

template <class T>
const switchboard_transport_vtable* transport_table() {
  if constexpr (std::is_void_v<T>) {
    return nullptr;
  } else {
    static_assert(std::is_base_of_v<Transport, T>, "transport class must derive from Transport");
    return TransportTable<T>::table();
  }
}

template <class T>
const switchboard_store_vtable* store_table() {
  if constexpr (std::is_void_v<T>) {
    return nullptr;
  } else {
    static_assert(std::is_base_of_v<SessionStore, T>, "store class must derive from SessionStore");
    return StoreTable<T>::table();
  }
}

template <class T, class S>
constexpr uint32_t capabilities() {
  uint32_t caps = 0;
  // Only what the classes given show; a behaviour (SELF_ECHO, SHARED) is the
  // plugin's own claim, made in SWITCHBOARD_PLUGIN_DESCRIBED's EXTRA_CAPS.
  if constexpr (!std::is_void_v<T>) caps |= static_cast<uint32_t>(SWITCHBOARD_CAP_TRANSPORT);
  if constexpr (!std::is_void_v<S>) caps |= static_cast<uint32_t>(SWITCHBOARD_CAP_SESSION_STORE);
  return caps;
}

template <size_t N>
std::vector<switchboard_config_key> c_keys(const ConfigKey (&keys)[N]) {
  std::vector<switchboard_config_key> out;
  for (auto& k : keys)
    out.push_back({sizeof(switchboard_config_key), k.key, static_cast<uint32_t>(k.type),
                   k.default_value, k.doc});
  return out;
}

}  // namespace switchboard::detail

// An empty schema for plugins without settings: SWITCHBOARD_PLUGIN(..., switchboard::kNoConfig, ...)
namespace switchboard {
inline constexpr ConfigKey kNoConfig[] = {{nullptr, SWITCHBOARD_CONFIG_STRING, nullptr, nullptr}};
}

// SWITCHBOARD_PLUGIN_DESCRIBED adds a one-line description and the capability
// flags the SDK cannot see from the classes: SWITCHBOARD_CAP_SELF_ECHO for a
// transport that delivers its own publishes back to its instance (every
// transport must; conformance T2), SWITCHBOARD_CAP_SHARED for one whose instances
// in different processes see each other (every broker-backed one).
#define SWITCHBOARD_PLUGIN(NAME, VERSION, KEYS, TRANSPORT, STORE) \
  SWITCHBOARD_PLUGIN_DESCRIBED(NAME, VERSION, nullptr, 0u, KEYS, TRANSPORT, STORE)

#define SWITCHBOARD_PLUGIN_DESCRIBED(NAME, VERSION, DESCRIPTION, EXTRA_CAPS, KEYS, TRANSPORT, STORE) \
  extern "C" __attribute__((visibility("default"))) const switchboard_plugin*                   \
  SWITCHBOARD_PLUGIN_ENTRY(void) {                                                               \
    static const std::vector<switchboard_config_key> keys = [] {                                \
      auto k = ::switchboard::detail::c_keys(KEYS);                                             \
      if (!k.empty() && k.back().key == nullptr) k.pop_back();                                  \
      return k;                                                                                  \
    }();                                                                                         \
    static const switchboard_plugin plugin{                                                     \
        sizeof(switchboard_plugin),                                                             \
        SWITCHBOARD_ABI_MAJOR,                                                                   \
        SWITCHBOARD_ABI_MINOR,                                                                   \
        NAME,                                                                                    \
        VERSION,                                                                                 \
        ::switchboard::detail::capabilities<TRANSPORT, STORE>() | (EXTRA_CAPS),                 \
        keys.empty() ? nullptr : keys.data(),                                                    \
        keys.size(),                                                                             \
        ::switchboard::detail::transport_table<TRANSPORT>(),                                    \
        ::switchboard::detail::store_table<STORE>(),                                            \
        DESCRIPTION};                                                                            \
    return &plugin;                                                                              \
  }
