// detail::SessionOps — what a Session handle in an RPC handler does: validation
// of names and ids against the limits, then SessionService::change. Keeps a
// snapshot of the record for the synchronous user_id(): loaded at connect,
// updated by every store answer and by every _session envelope for the session
// (so a sign-in from another tab or server shows here too). Thread-safe.
#pragma once

#include <mutex>
#include <string>

#include "session/session_service.hpp"
#include "switchboard/names.hpp"
#include "switchboard/session.hpp"

namespace switchboard::detail {

class SessionOps : public std::enable_shared_from_this<SessionOps> {
 public:
  SessionOps(session::SessionService& service, std::string id, std::string key,
             SessionRecord snapshot);

  Future subscribe(const Names& names);
  Future unsubscribe(const Names& names);
  Future reset();
  Future list();
  Future set_user(std::optional<std::string> id);
  std::optional<std::string> user_id() const;
  Future set(const std::string& key, Json value);
  Future get(const std::string& key);
  // A _session envelope for this session arrived (any connection, any server).
  void sync_binding(const std::optional<std::string>& user, const std::vector<std::string>& channels);

  const std::string& id() const { return id_; }
  const std::string& key() const { return key_; }

 private:
  // Validates channel names; on failure returns the error Future.
  std::optional<Future> check_names(const Names& names) const;
  std::function<void(const SessionRecord&)> remember();

  session::SessionService& service_;
  const std::string id_;
  const std::string key_;
  mutable std::mutex mu_;
  SessionRecord snapshot_;  // guarded by mu_
};

}  // namespace switchboard::detail
