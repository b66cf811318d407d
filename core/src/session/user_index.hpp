// UserIndex: the sessions each user is signed in on, kept in the session store
// itself so that a backend can reach every one of them, offline ones included
// (docs/http-api.md "Session operations"). One store record per user, under
// user_index_id(secret, user); its data keys are the session ids, each valued
// with the Unix time (ms) the session was last enrolled. Only the store ABI's
// own operations are used, so every store plugin carries it.
//
// Who enrolls: a sign-in (before the new record exists), every WebSocket that
// opens a signed-in session, and every open connection's keep-alive (each half
// session TTL). The index lives for twice the session TTL, refreshed by each
// enrollment, so it outlives every session listed in it: a session expires at
// most 1.75 TTL after its last enrollment (keep-alive gap plus its own TTL).
// Entries older than the index TTL are stale and dropped as they are met.
//
// Bound: at most limits.sessions_per_user entries. An enrollment beyond it
// evicts the least recently enrolled sessions, which the caller signs out: a
// session that no index lists must not stay signed in, or "sign out
// everywhere" would miss it.
//
// Thread-safe; store calls hop to the control thread, completions run on any.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "plugin/plugin_host.hpp"

namespace switchboard::session {

class UserIndex {
 public:
  UserIndex(plugin::PluginHost& host, std::string secret, int64_t session_ttl_ms,
            uint32_t max_per_user);

  // Lists id under user (creating the index). done gets the store's status and
  // the sessions evicted over the bound, already withdrawn from the index.
  using Enrolled = std::function<void(Status, std::vector<std::string> evicted)>;
  void enroll(const std::string& user, const std::string& id, Enrolled done);
  // Best effort: drops id from user's index (a sign-out, a switch of user).
  void withdraw(const std::string& user, const std::string& id);
  // The sessions listed under user (none when there is no index), stale entries
  // dropped.
  void list(const std::string& user, std::function<void(Status, std::vector<std::string>)> done);

  int64_t ttl_ms() const { return ttl_ms_; }

 private:
  // The live entries of an index record, withdrawing the stale ones.
  struct Entry {
    std::string id;
    int64_t enrolled_ms;
  };
  std::vector<Entry> live_entries(const std::string& user, const SessionRecord& r);
  // Sets id's entry to now, creating the index when it does not exist.
  void put(const std::string& user, const std::string& id, StoreCallback done);

  plugin::PluginHost& host_;
  const std::string secret_;
  const int64_t ttl_ms_;  // the index's own TTL: twice the session TTL
  const uint32_t max_per_user_;
};

}  // namespace switchboard::session
