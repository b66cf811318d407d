// detail::SessionOps — what a Session handle in an RPC handler does: validation
// of names and ids against the limits, then SessionService::change. Keeps a
// snapshot of the record for the synchronous user_id(): loaded at connect,
// updated by every store answer and by every _session envelope for the session
// (so a sign-in from another tab or server shows here too). Thread-safe.
//
// Order on one handle: calls run concurrently (a connection may pipeline them),
// except around a sign-in that rotates the session id: the calls made after it
// start once it completed, on the new id. (A rotation copies the record and
// removes the old one; a change landing on the old id in between would be lost.)
// The calls made before it reach the store first: every store call goes through
// the control thread in order, and a store keeps one session's calls in order.
#pragma once

#include <mutex>
#include <string>

#include "session/session_service.hpp"
#include "switchboard/names.hpp"
#include "switchboard/session.hpp"
#include "sync/mutex.hpp"

namespace switchboard::detail {

class SessionOps : public std::enable_shared_from_this<SessionOps> {
 public:
  // token: the session of a token connection (SessionService::open_token), whose
  // user is its token's: set_user fails with bad_request.
  SessionOps(session::SessionService& service, std::string id, std::string key,
             SessionRecord snapshot, bool token = false);

  Future subscribe(const Names& names);
  Future unsubscribe(const Names& names);
  Future reset();
  Future list();
  Future set_user(std::optional<std::string> id);
  std::optional<std::string> user_id() const;
  // An open connection's keep-alive (every half session TTL): reads the session,
  // which refreshes its TTL, and re-enrolls a signed-in one in its user's index.
  void keep_alive();
  Future set(const std::string& key, Json value);
  Future get(const std::string& key);
  // A _session envelope for this session arrived (any connection, any server).
  void sync_binding(const std::optional<std::string>& user, const std::vector<std::string>& channels);
  // The session's id was rotated (by this connection or another tab, any server):
  // every later operation uses the new id and routing key.
  void rekey(std::string id, std::string key);
  // Called (any thread) with a claim token when set_user() on this handle rotated
  // the id: the connection sends it to its client. Set once, before any call.
  void on_claim(std::function<void(const std::string& token)> fn) { claim_ = std::move(fn); }

  // Copies: a rotation may change them at any time.
  std::string id() const;
  std::string key() const;

 private:
  // Validates channel names; on failure returns the error Future.
  std::optional<Future> check_names(const Names& names) const;
  std::function<void(const SessionRecord&)> remember();
  // The calls' bodies, run in the handle's order by the calls above.
  Future subscribe_now(const Names& names);
  Future unsubscribe_now(const Names& names);
  Future reset_now();
  Future list_now();
  Future set_user_now(std::optional<std::string> user);
  Future set_now(const std::string& key, Json value);
  Future get_now(const std::string& key);
  // Starts op now, or once the rotation in progress completed (the class comment).
  Future call(std::function<Future()> op);
  // Starts a rotation once the one in progress (if any) completed; calls made
  // meanwhile wait for it.
  Future barrier(std::function<Future()> op);

  session::SessionService& service_;
  const bool token_;
  std::function<void(const std::string&)> claim_;
  mutable sync::Mutex mu_;
  std::string id_ SB_GUARDED_BY(mu_);
  std::string key_ SB_GUARDED_BY(mu_);
  SessionRecord snapshot_ SB_GUARDED_BY(mu_);
  Future barrier_ SB_GUARDED_BY(mu_);  // the last rotation (ready when none is in progress)
};

}  // namespace switchboard::detail
