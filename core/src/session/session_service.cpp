#include "session/session_service.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "observe/log.hpp"
#include "routing/envelope.hpp"
#include "session/ids.hpp"

namespace switchboard::session {

namespace {
// How long a change waits for its announcement to come back from the bus.
constexpr auto kAnnounceTimeout = std::chrono::seconds(5);
}  // namespace

struct SessionService::Pending {
  Promise promise;
  Json value;
  std::unique_ptr<boost::asio::steady_timer> timer;
};

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
      ttl_ms_(settings.session.ttl.count()),
      instance_(random_hex(8)) {
  // Servers on one bus must name sessions alike, or a change made on one never
  // reaches that session's connections on another: refuse rather than half-work.
  if (settings.session.secret.empty() && host.shared_bus())
    throw ConfigError("session.secret is empty but transport '" + settings.transport.use +
                      "' is shared between processes: set the same session.secret "
                      "(or SWITCHBOARD_SESSION_SECRET) on every server");
}

std::string SessionService::routing_key_of(const std::string& id) const {
  return routing_key(secret_, id);
}

std::string SessionService::set_cookie_header(const std::string& id) const {
  return settings_.session.cookie + "=" + id + "; Path=/; HttpOnly; SameSite=Lax";
}

void SessionService::open(const std::optional<std::string>& cookie_id,
                          std::function<void(Status, OpenedSession)> done) {
  // Completes `done` from a store answer about `id`.
  auto answer = [this, done](const std::string& id, bool issued) {
    return [this, done, id, issued](Status s, const SessionRecord* r) {
      OpenedSession o;
      if (s.is_ok()) {
        o.id = id;
        o.key = routing_key_of(id);
        if (r) o.record = *r;
        o.issued = issued;
      }
      done(s, std::move(o));
    };
  };
  auto issue = [this, answer](SessionStore& store) {
    std::string id = new_session_id();
    store.create_session(id, ttl_ms_, answer(id, true));
  };
  auto stopped = [done] { done(Status(StatusCode::kUnavailable, "server is stopping"), {}); };
  if (!cookie_id || !well_formed_session_id(*cookie_id)) {
    host_.with_store(issue, stopped);
    return;
  }
  std::string id = *cookie_id;
  host_.with_store(
      [this, id, issue, stopped, loaded = answer(id, false)](SessionStore& store) {
        store.load(id, ttl_ms_, [this, issue, stopped, loaded](Status s, const SessionRecord* r) {
          if (s.code() == StatusCode::kNotFound) {
            // Unknown or expired: issue a fresh id (never adopt one we did not issue).
            // Completions may run on a plugin thread; hop back to the control thread.
            host_.with_store(issue, stopped);
            return;
          }
          loaded(s, r);
        });
      },
      stopped);
}

Future SessionService::change(const std::string& key, StoreOp op,
                              bool announce, std::function<Json(const SessionRecord&)> result,
                              std::function<void(const SessionRecord&)> on_saved) {
  Promise p;
  host_.with_store(
      [this, key, op = std::move(op), announce, result = std::move(result),
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
          announce_binding(key, *r, p, std::move(value));
        });
      },
      [p] { p.reject({"store_unavailable", "server is stopping"}); });
  return p.future();
}

std::shared_ptr<SessionService::Pending> SessionService::take(const std::string& nonce) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(nonce);
  if (it == pending_.end()) return nullptr;
  auto p = std::move(it->second);
  pending_.erase(it);
  return p;
}

void SessionService::announce_binding(const std::string& key, const SessionRecord& r, Promise p, Json value) {
  std::string nonce = instance_ + "-" + std::to_string(next_nonce_++);
  auto pending = std::make_shared<Pending>();
  pending->promise = p;
  pending->value = std::move(value);
  pending->timer = std::make_unique<boost::asio::steady_timer>(host_.control(), kAnnounceTimeout);
  {
    std::lock_guard lock(mu_);
    pending_[nonce] = pending;
  }
  pending->timer->async_wait([this, nonce](boost::system::error_code ec) {
    if (ec) return;
    if (auto lost = take(nonce))
      lost->promise.reject({"transport_unavailable",
                            "saved, but the bus did not deliver the change back within 5 s"});
  });
  host_.publish(routing::encode_session_sync(key, r.user_id, r.channels, nonce),
                [this, nonce](Status s) {
                  if (s.is_ok()) return;  // announcement_applied() completes it
                  if (auto refused = take(nonce)) {
                    refused->timer->cancel();
                    refused->promise.reject(
                        {"transport_unavailable",
                         "saved, but the change could not be announced on the bus: " + s.message()});
                  }
                });
}

void SessionService::announcement_applied(const std::string& nonce) {
  auto done = take(nonce);
  if (!done) return;  // another server's, or already timed out
  // The timer lives on the control thread; cancel it there.
  boost::asio::post(host_.control(), [done] { done->timer->cancel(); });
  done->promise.resolve(done->value);
}

}  // namespace switchboard::session
