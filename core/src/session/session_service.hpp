// SessionService: sessions as the core uses them. Opens (or issues) the session
// behind a cookie, and performs every change: saved in the session store first,
// then announced on the bus as a _session envelope carrying the session's full
// binding (user + channels) under its routing key, so every server updates that
// session's open connections. A change completes once this server has applied
// its own echo of the announcement (so every connection of the session here is
// updated when the caller hears back), or fails after kAnnounceTimeout.
// Thread-safe; completions arrive on any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/settings.hpp"
#include "plugin/plugin_host.hpp"
#include "switchboard/config.hpp"
#include "switchboard/future.hpp"
#include "switchboard/session_store.hpp"

namespace switchboard::session {

struct OpenedSession {
  std::string id;
  std::string key;  // bus routing key
  SessionRecord record;
  bool issued = false;  // a new id: the response must carry Set-Cookie
};

// The error an RPC caller sees for a failed store/transport step.
Error store_error(const Status& s);

class SessionService {
 public:
  SessionService(const config::Settings& settings, plugin::PluginHost& host);

  // Loads the session named by a cookie value, or issues a new one when the value
  // is absent, malformed or unknown to the store (ids are never adopted).
  void open(const std::optional<std::string>& cookie_id,
            std::function<void(Status, OpenedSession)> done);

  // Runs one store operation and, when announce is set, publishes the session's
  // new binding. The Future resolves to result(record).
  using StoreOp = std::function<void(SessionStore&, StoreCallback)>;
  Future change(const std::string& key, StoreOp op, bool announce,
                std::function<Json(const SessionRecord&)> result,
                std::function<void(const SessionRecord&)> on_saved = {});

  // The dispatcher reports that every loop applied an announcement of ours.
  void announcement_applied(const std::string& nonce);

  std::string routing_key_of(const std::string& id) const;
  std::string set_cookie_header(const std::string& id) const;
  const config::Settings& settings() const { return settings_; }

 private:
  struct Pending;
  // Publishes the binding; p resolves to value once this server applied the echo.
  void announce_binding(const std::string& key, const SessionRecord& r, Promise p, Json value);
  std::shared_ptr<Pending> take(const std::string& nonce);

  const config::Settings& settings_;
  plugin::PluginHost& host_;
  std::string secret_;
  int64_t ttl_ms_;
  const std::string instance_;  // prefix of this server's nonces
  std::atomic<uint64_t> next_nonce_{0};
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending_;  // guarded by mu_
};

}  // namespace switchboard::session
