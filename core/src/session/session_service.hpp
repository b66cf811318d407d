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
#include "session/creation_limiter.hpp"
#include "session/session_checks.hpp"
#include "session/claim_token.hpp"
#include "session/user_index.hpp"
#include "plugin/plugin_host.hpp"
#include "switchboard/config.hpp"
#include "switchboard/future.hpp"
#include "switchboard/session_store.hpp"
#include "sync/mutex.hpp"

namespace switchboard::session {

struct OpenedSession {
  std::string id;
  std::string key;  // bus routing key
  SessionRecord record;
  bool issued = false;  // a new id: the response must carry Set-Cookie
  bool token = false;   // made by open_token: ends with its connection
  bool created = false;  // the store was asked to create the record
  // On a refusal by a creation rate cap: seconds the client should wait (429
  // Retry-After). 0 for every other failure.
  uint32_t retry_after_s = 0;
};

// The error an RPC caller sees for a failed store/transport step.
Error store_error(const Status& s);

class SessionService {
 public:
  SessionService(const config::Settings& settings, plugin::PluginHost& host);

  // For a WebSocket upgrade: loads the session named by a signed cookie value.
  // Records are created here, and only here, on first use: a validly signed id
  // the store does not know (issued on a page, or expired) is created under that
  // id, so tabs that got the cookie from one page share one session even when
  // they connect at the same moment; an absent, unsigned or forged value gets a
  // fresh id (issued: Set-Cookie on the 101). Every creation passes the
  // creation caps (limits.new_sessions_per_ip / _per_second): over them, done
  // gets kLimit with retry_after_s set.
  void open(const std::optional<std::string>& cookie_value, const std::string& peer_ip,
            std::function<void(Status, OpenedSession)> done);

  // For a WebSocket upgrade with a verified token (auth/token_verifier.hpp): a
  // session of its own under a fresh id never given out as a cookie, with `user`
  // set and `channels` added, listed in the user's index before it is signed in
  // (as a sign-in is). Passes the creation caps as open() does. Such a session
  // lives as long as its connection: end_token_session removes it.
  void open_token(const std::string& user, const std::vector<std::string>& channels,
                  const std::string& peer_ip, std::function<void(Status, OpenedSession)> done);
  // Removes a token session's record and its entry in the user's index.
  void end_token_session(const std::string& id, const std::optional<std::string>& user);

  // For a page or /switchboard.js: the Set-Cookie value to send, carrying a fresh
  // signed id, when the request has no validly signed cookie; nullopt otherwise.
  // Synchronous and creates no store record.
  std::optional<std::string> page_cookie(const std::optional<std::string>& cookie_value) const;

  // Runs fn with the store on the control thread (or refused when stopping or the
  // control queue is full): for
  // follow-up store calls made from a completion, which may run on any thread.
  void with_store(std::function<void(SessionStore&)> fn, std::function<void(Status)> refused);

  // Runs one store operation and, when announce is set, publishes the session's
  // new binding. The Future resolves to result(record).
  using StoreOp = std::function<void(SessionStore&, StoreCallback)>;
  Future change(const std::string& key, StoreOp op, bool announce,
                std::function<Json(const SessionRecord&)> result,
                std::function<void(const SessionRecord&)> on_saved = {});

  // For a StoreOp of change() whose first store step must be taken back (a
  // concurrent change took the room first): runs step from the control thread,
  // and cb, the change's callback, gets step's outcome.
  void compensate(StoreOp step, StoreCallback cb);

  // Signs session id out (store, then announce, as change() does).
  Future sign_out(const std::string& id);
  // Lists id under user in the user index; sessions evicted over
  // limits.sessions_per_user are signed out. done (optional) gets the index's
  // status; failures without done are logged.
  void enroll(const std::string& user, const std::string& id,
              std::function<void(Status)> done = {});
  UserIndex& users() { return users_; }

  // The fan-out reports that every loop applied an announcement of ours.
  void announcement_applied(const std::string& nonce);

  std::string routing_key_of(const std::string& id) const;
  // The Set-Cookie value for id: the signed id and the cookie flags.
  std::string set_cookie_header(const std::string& id) const;

  // Session-id rotation on sign-in (docs/protocol.md "Session id rotation"):
  // copies the record of old_id under a new random id with `user` set, removes
  // the old record, calls on_rotated(new_id, new_key, new record) on the control
  // thread, then announces the move on the bus (every server moves the session's
  // connections to the new key). Resolves to the user id once this server
  // applied its echo; a failed store step leaves the old record as it was.
  using OnRotated = std::function<void(const std::string& new_id, const std::string& new_key,
                                       const SessionRecord& record)>;
  Future rotate(const std::string& old_id, const std::string& old_key, const std::string& user,
                OnRotated on_rotated);
  // A claim token for the cookie of new_id, redeemable by the holder of old_id's
  // cookie for session.claim_ttl on any server sharing the session secret.
  std::string claim_token(const std::string& new_id, const std::string& old_id) const;
  // GET /switchboard/session?claim=TOKEN: 204 with the new Set-Cookie, or
  // 400 (bad or expired token) / 403 (not the cookie the token was issued to).
  struct ClaimAnswer {
    unsigned status = 400;
    std::string message;     // for the response body on refusals
    std::string set_cookie;  // 204 only
  };
  ClaimAnswer redeem_claim(std::string_view token, const std::optional<std::string>& cookie_value) const;
  // The new id in a rotation announcement, if it opens and names new_key.
  std::optional<std::string> unseal_rotated_id(const std::string& sealed,
                                               const std::string& new_key) const;
  const config::Settings& settings() const { return settings_; }

 private:
  struct Pending;
  // Publishes the binding; p resolves to value once this server applied the echo.
  void announce_binding(const std::string& key, const SessionRecord& r, Promise p, Json value);
  std::shared_ptr<Pending> take(const std::string& nonce);
  // Publishes encode(nonce); p resolves to value once this server applied the echo.
  void announce(const std::function<std::string(const std::string& nonce)>& encode, Promise p,
                Json value);
  struct Rotation;
  void rotate_step(std::shared_ptr<Rotation> r);
  void rotate_failed(const std::shared_ptr<Rotation>& r, const Status& s);
  // The creation caps of open() and open_token(): true when over them (done was
  // called with kLimit and the seconds to wait).
  bool refuse_creation(const std::string& peer_ip,
                       const std::function<void(Status, OpenedSession)>& done);

  const config::Settings& settings_;
  plugin::PluginHost& host_;
  std::string secret_;
  int64_t ttl_ms_;
  const std::string instance_;  // prefix of this server's nonces
  std::atomic<uint64_t> next_nonce_{0};
  sync::Mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending_ SB_GUARDED_BY(mu_);
  CreationLimiter creation_limiter_;  // caps open()'s record creations
  // Keys derived from secret_ (declared after it): rotated ids on the bus, claim tokens.
  const Sealer bus_sealer_{secret_, "rotated-id"};
  const Sealer claim_sealer_{secret_, "claim"};
  UserIndex users_;  // after secret_
};

}  // namespace switchboard::session
