#include "session/session_service.hpp"

#include "observe/log.hpp"
#include "routing/envelope.hpp"
#include "session/ids.hpp"

namespace switchboard::session {

Error store_error(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound: return {"session_expired", "the session no longer exists"};
    case StatusCode::kLimit: return {"limit_exceeded", s.message()};
    case StatusCode::kInvalid: return {"bad_args", s.message()};
    default: return {"store_unavailable", "session store: " + s.message()};
  }
}

SessionService::SessionService(const config::Settings& settings, plugin::PluginHost& host)
    : settings_(settings),
      host_(host),
      secret_(settings.session.secret.empty() ? random_hex(32) : settings.session.secret),
      ttl_ms_(settings.session.ttl.count()) {
  if (settings.session.secret.empty() && settings.transport.use != "memory")
    observe::log_warn("session",
                      "session.secret is empty: using a random per-process key; servers that "
                      "share a bus must share the secret or session changes won't reach "
                      "each other's connections");
}

std::string SessionService::routing_key_of(const std::string& id) const {
  return routing_key(secret_, id);
}

std::string SessionService::set_cookie_header(const std::string& id) const {
  return settings_.session.cookie + "=" + id + "; Path=/; HttpOnly; SameSite=Lax";
}

void SessionService::open(const std::optional<std::string>& cookie_id,
                          std::function<void(Status, OpenedSession)> done) {
  auto issue = [this, done](SessionStore& store) {
    std::string id = new_session_id();
    store.create_session(id, ttl_ms_, [this, id, done](Status s, const SessionRecord* r) {
      OpenedSession o;
      if (s.is_ok()) {
        o.id = id;
        o.key = routing_key_of(id);
        if (r) o.record = *r;
        o.issued = true;
      }
      done(s, std::move(o));
    });
  };
  auto stopped = [done] { done(Status(StatusCode::kUnavailable, "server is stopping"), {}); };
  if (!cookie_id || !well_formed_session_id(*cookie_id)) {
    host_.with_store(issue, stopped);
    return;
  }
  std::string id = *cookie_id;
  host_.with_store(
      [this, id, done, issue](SessionStore& store) {
        store.load(id, ttl_ms_, [this, id, done, issue](Status s, const SessionRecord* r) {
          if (s.code() == StatusCode::kNotFound) {
            // Unknown or expired: issue a fresh id (never adopt one we did not issue).
            // Completions may run on a plugin thread; hop back to the control thread.
            host_.with_store(issue, [done] {
              done(Status(StatusCode::kUnavailable, "server is stopping"), {});
            });
            return;
          }
          OpenedSession o;
          if (s.is_ok()) {
            o.id = id;
            o.key = routing_key_of(id);
            if (r) o.record = *r;
          }
          done(s, std::move(o));
        });
      },
      stopped);
}

Future SessionService::change(const std::string& id, const std::string& key, StoreOp op,
                              bool announce, std::function<Json(const SessionRecord&)> result,
                              std::function<void(const SessionRecord&)> on_saved) {
  Promise p;
  host_.with_store(
      [this, id, key, op = std::move(op), announce, result = std::move(result),
       on_saved = std::move(on_saved), p](SessionStore& store) {
        op(store, [this, key, announce, result, on_saved, p](Status s, const SessionRecord* r) {
          if (!s.is_ok() || r == nullptr) {
            p.reject(store_error(s.is_ok() ? Status(StatusCode::kError, "no record") : s));
            return;
          }
          if (on_saved) on_saved(*r);
          Json value = result(*r);
          if (!announce) {
            p.resolve(std::move(value));
            return;
          }
          host_.publish(routing::encode_session_sync(key, r->user_id, r->channels),
                        [p, value](Status ps) {
                          if (ps.is_ok()) {
                            p.resolve(value);
                          } else {
                            p.reject({"transport_unavailable",
                                      "saved, but the change could not be announced on the bus: " +
                                          ps.message()});
                          }
                        });
        });
      },
      [p] { p.reject({"store_unavailable", "server is stopping"}); });
  return p.future();
}

}  // namespace switchboard::session
