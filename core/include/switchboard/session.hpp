// switchboard/session.hpp — the caller's session inside an RPC handler
// (SocketStream's req.session).
//
// Every change is saved in the session store and then takes effect at once on
// every open connection of the session, on every server. Operations return a
// Future that fails with a clear error (store_unavailable, limit_exceeded,
// invalid_channel, transport_unavailable, session_expired); returning it from the
// handler hands that error to the RPC caller. A Session is a cheap handle: copy it
// into continuations freely; it stays usable after the connection closes.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "switchboard/future.hpp"
#include "switchboard/names.hpp"

namespace switchboard {

namespace detail {
class SessionOps;  // core-internal
}

class Channels {
 public:
  // Resolve to the session's channel list after the change.
  Future subscribe(const Names& names) const;
  Future unsubscribe(const Names& names) const;
  Future reset() const;  // unsubscribe from every channel
  Future list() const;   // current channels, read from the store

 private:
  friend class Session;
  explicit Channels(std::shared_ptr<detail::SessionOps> ops) : ops_(std::move(ops)) {}
  std::shared_ptr<detail::SessionOps> ops_;
};

class Session {
 public:
  explicit Session(std::shared_ptr<detail::SessionOps> ops) : ops_(std::move(ops)) {}

  Channels channel() const { return Channels(ops_); }
  // Sign in as id (resolves to the id); std::nullopt signs this session out: its
  // connections stop receiving that user's events, other sessions are unaffected.
  Future set_user_id(std::optional<std::string> id) const;
  // The session's user id as this connection knows it: loaded at connect and
  // kept current by every change to the session, from any connection or server.
  std::optional<std::string> user_id() const;
  // Free-form session data, kept in the session store: set (a null value deletes
  // the key; resolves to the value) and get (resolves to the value or null).
  Future set(const std::string& key, Json value) const;
  Future get(const std::string& key) const;

 private:
  std::shared_ptr<detail::SessionOps> ops_;
};

}  // namespace switchboard
