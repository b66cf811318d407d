#include "session/session_service.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "observe/log.hpp"
#include "routing/envelope.hpp"
#include "session/ids.hpp"

#include <algorithm>
#include <chrono>
#include "sync/mutex.hpp"

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
      instance_(random_hex(8)),
      creation_limiter_(settings.limits.new_sessions_per_ip, settings.limits.new_sessions_per_second),
      users_(host, secret_, ttl_ms_, settings.limits.sessions_per_user) {
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
  std::string h = settings_.session.cookie + "=" + sign_session_id(secret_, id) +
                  "; Path=/; HttpOnly; SameSite=Lax";
  if (settings_.session.cookie_secure) h += "; Secure";
  if (settings_.session.cookie_max_age.count() > 0)
    h += "; Max-Age=" + std::to_string(settings_.session.cookie_max_age.count() / 1000);
  return h;
}

std::optional<std::string> SessionService::page_cookie(
    const std::optional<std::string>& cookie_value) const {
  if (cookie_value && verify_session_cookie(secret_, *cookie_value)) return std::nullopt;
  return set_cookie_header(new_session_id());
}

void SessionService::with_store(std::function<void(SessionStore&)> fn,
                                std::function<void(Status)> refused) {
  host_.with_store(std::move(fn), std::move(refused));
}

void SessionService::open(const std::optional<std::string>& cookie_value,
                          const std::string& peer_ip,
                          std::function<void(Status, OpenedSession)> done) {
  // Completes `done` from a store answer about `id`.
  auto answer = [this, done](const std::string& id, bool issued, bool created) {
    return [this, done, id, issued, created](Status s, const SessionRecord* r) {
      OpenedSession o;
      if (s.is_ok()) {
        o.id = id;
        o.key = routing_key_of(id);
        if (r) o.record = *r;
        o.issued = issued;
        o.created = created;
        // Keeps the user's index alive while the session is used (UserIndex).
        if (o.record.user_id) enroll(*o.record.user_id, id);
      }
      done(s, std::move(o));
    };
  };
  auto refused = [done](Status s) { done(s, {}); };  // stopping, or the control queue is full
  // Creates the record for id, within the creation caps. A store that already
  // has id (another tab of the browser got there first) answers with that record.
  auto create = [this, answer, refused, peer_ip, done](const std::string& id, bool issued) {
    if (refuse_creation(peer_ip, done)) return;
    // Completions may run on a plugin thread; with_store hops to the control thread.
    host_.with_store(
        [this, id, on_created = answer(id, issued, true)](SessionStore& store) {
          store.create_session(id, ttl_ms_, on_created);
        },
        refused);
  };
  std::optional<std::string> id;
  if (cookie_value) id = verify_session_cookie(secret_, *cookie_value);
  if (!id) return create(new_session_id(), true);  // absent, old unsigned, or forged
  host_.with_store(
      [this, id = *id, create, loaded = answer(*id, false, false)](SessionStore& store) {
        store.load(id, ttl_ms_, [id, create, loaded](Status s, const SessionRecord* r) {
          // Signed by us, so ours to create: first use of a page's cookie, or expired.
          if (s.code() == StatusCode::kNotFound) return create(id, false);
          loaded(s, r);
        });
      },
      refused);
}

bool SessionService::refuse_creation(const std::string& peer_ip,
                                     const std::function<void(Status, OpenedSession)>& done) {
  bool per_ip = false;
  uint32_t wait = creation_limiter_.try_acquire(peer_ip, CreationLimiter::Clock::now(), per_ip);
  if (!wait) return false;
  OpenedSession o;
  o.retry_after_s = wait;
  done(Status(StatusCode::kLimit,
              std::string(per_ip ? "too many new sessions from this address"
                                 : "too many new sessions on this server") +
                  "; retry in " + std::to_string(wait) + " s"),
       std::move(o));
  return true;
}

void SessionService::open_token(const std::string& user, const std::vector<std::string>& channels,
                                const std::string& peer_ip,
                                std::function<void(Status, OpenedSession)> done) {
  if (refuse_creation(peer_ip, done)) return;
  const std::string id = new_session_id();
  auto refused = [done](Status s) { done(s, {}); };
  // A failure after the record exists removes it again (and its index entry).
  auto fail = [this, done, id, user](Status s) {
    end_token_session(id, user);
    done(s, {});
  };
  // The last step: the initial channels, if any, then the answer.
  auto finish = [this, id, channels, done, fail](const SessionRecord& signed_in) {
    auto answer = [this, id, done, fail](Status s, const SessionRecord* r) {
      if (!s.is_ok() || !r) return fail(s.is_ok() ? Status(StatusCode::kError, "no record") : s);
      OpenedSession o;
      o.id = id;
      o.key = routing_key_of(id);
      o.record = *r;
      o.created = true;
      o.token = true;
      done(Status(), std::move(o));
    };
    if (channels.empty()) return answer(Status(), &signed_in);
    host_.with_store(
        [this, id, channels, answer](SessionStore& store) {
          store.add_channels(id, channels, settings_.limits.channels_per_session, ttl_ms_, answer);
        },
        fail);
  };
  host_.with_store(
      [this, id, user, done, fail, finish, refused](SessionStore& store) {
        store.create_session(id, ttl_ms_, [this, id, user, done, fail, finish](Status s, const SessionRecord*) {
          if (!s.is_ok()) return done(s, {});
          // Listed in the user's index before it is signed in, as a sign-in is.
          enroll(user, id, [this, id, user, fail, finish](Status s) {
            if (!s.is_ok()) return fail(s);
            host_.with_store(
                [this, id, user, fail, finish](SessionStore& store) {
                  store.set_user(id, user, ttl_ms_, [fail, finish](Status s, const SessionRecord* r) {
                    if (!s.is_ok() || !r) return fail(s.is_ok() ? Status(StatusCode::kError, "no record") : s);
                    finish(*r);
                  });
                },
                fail);
          });
        });
      },
      refused);
}

void SessionService::end_token_session(const std::string& id, const std::optional<std::string>& user) {
  if (user) users_.withdraw(*user, id);
  host_.with_store(
      [id](SessionStore& store) {
        store.remove(id, [id](Status s, const SessionRecord*) {
          if (!s.is_ok() && s.code() != StatusCode::kNotFound)
            observe::log_warn("session", "a token session's record was not removed: " + s.message());
        });
      },
      [](Status) {});
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
      [p](Status refused) { p.reject(store_error(refused)); });
  return p.future();
}

void SessionService::compensate(StoreOp step, StoreCallback cb) {
  host_.with_store([step = std::move(step), cb](SessionStore& s) { step(s, cb); },
                   [cb](Status refused) { cb(refused, nullptr); });
}

Future SessionService::sign_out(const std::string& id) {
  return change(
      routing_key_of(id),
      [this, id](SessionStore& store, StoreCallback cb) {
        store.set_user(id, std::nullopt, ttl_ms_, std::move(cb));
      },
      true, [](const SessionRecord&) { return Json(nullptr); });
}

void SessionService::enroll(const std::string& user, const std::string& id,
                            std::function<void(Status)> done) {
  users_.enroll(user, id, [this, done](Status s, std::vector<std::string> evicted) {
    // Over limits.sessions_per_user: the least recently used sessions go.
    for (const auto& old : evicted) sign_out(old);
    if (done) return done(s);
    if (!s.is_ok()) observe::log_warn("session", "user index not updated: " + s.message());
  });
}

std::shared_ptr<SessionService::Pending> SessionService::take(const std::string& nonce) {
  sync::Lock lock(mu_);
  auto it = pending_.find(nonce);
  if (it == pending_.end()) return nullptr;
  auto p = std::move(it->second);
  pending_.erase(it);
  return p;
}

void SessionService::announce_binding(const std::string& key, const SessionRecord& r, Promise p, Json value) {
  announce(
      [&](const std::string& nonce) {
        return routing::encode_session_sync(key, r.user_id, r.channels, nonce);
      },
      std::move(p), std::move(value));
}

void SessionService::announce(const std::function<std::string(const std::string& nonce)>& encode,
                              Promise p, Json value) {
  std::string nonce = instance_ + "-" + std::to_string(next_nonce_++);
  auto pending = std::make_shared<Pending>();
  pending->promise = p;
  pending->value = std::move(value);
  pending->timer = std::make_unique<boost::asio::steady_timer>(host_.control(), kAnnounceTimeout);
  {
    sync::Lock lock(mu_);
    pending_[nonce] = pending;
  }
  pending->timer->async_wait([this, nonce](boost::system::error_code ec) {
    if (ec) return;
    if (auto lost = take(nonce))
      lost->promise.reject({"transport_unavailable",
                            "saved, but the bus did not deliver the change back within 5 s"});
  });
  host_.publish(encode(nonce),
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

// --- session-id rotation ------------------------------------------------------

struct SessionService::Rotation {
  std::string old_id, old_key, new_id, new_key, user;
  SessionRecord old_record;  // as loaded
  SessionRecord record;      // the new record, as the store last answered
  size_t step = 0;
  bool enrolled = false;  // the new id is in the user's index (to withdraw on failure)
  bool created = false;   // the new record exists (to remove on failure)
  Promise promise;
  OnRotated on_rotated;
};

Future SessionService::rotate(const std::string& old_id, const std::string& old_key,
                              const std::string& user, OnRotated on_rotated) {
  auto r = std::make_shared<Rotation>();
  r->old_id = old_id;
  r->old_key = old_key;
  r->new_id = new_session_id();
  r->new_key = routing_key_of(r->new_id);
  r->user = user;
  r->on_rotated = std::move(on_rotated);
  Future f = r->promise.future();
  rotate_step(std::move(r));
  return f;
}

// One store call per step, each from the control thread (completions may come
// on a plugin thread, so every step hops back through with_store):
//   load old (then enroll the new id in the user's index), create new, set
//   user, add channels, set each data key, remove old,
// then switch the caller and announce. The store has no multi-key transaction;
// a change made to the old id by another tab between the load and the removal
// is lost (that call fails with session_expired if it lands after the removal).
void SessionService::rotate_step(std::shared_ptr<Rotation> r) {
  host_.with_store(
      [this, r](SessionStore& store) {
        auto next = [this, r](Status s, const SessionRecord* rec) {
          if (!s.is_ok()) return rotate_failed(r, s);
          if (rec) r->record = *rec;
          ++r->step;
          rotate_step(r);
        };
        const size_t data_first = 4, data_end = data_first + r->old_record.data.size();
        const size_t step = r->step;
        if (step == 0) {
          store.load(r->old_id, ttl_ms_, [this, r, next](Status s, const SessionRecord* rec) {
            if (s.is_ok() && rec == nullptr) s = Status(StatusCode::kError, "no record");
            if (!s.is_ok()) return rotate_failed(r, s);
            r->old_record = *rec;
            // Listed under the user before the signed-in record exists, so no
            // session of the user is ever missing from the index (UserIndex).
            enroll(r->user, r->new_id, [r, next](Status e) {
              r->enrolled = e.is_ok();
              next(e, nullptr);
            });
          });
        } else if (step == 1) {
          r->created = true;
          store.create_session(r->new_id, ttl_ms_, next);
        } else if (step == 2) {
          store.set_user(r->new_id, r->user, ttl_ms_, next);
        } else if (step == 3) {
          const auto& ch = r->old_record.channels;
          if (ch.empty()) return next(Status::ok(), nullptr);
          // The session already holds these: the copy must not fail on the limit.
          uint32_t max = std::max<uint32_t>(settings_.limits.channels_per_session,
                                            static_cast<uint32_t>(ch.size()));
          store.add_channels(r->new_id, ch, max, ttl_ms_, next);
        } else if (step < data_end) {
          const auto& [k, v] = r->old_record.data[step - data_first];
          store.set_data(r->new_id, k, v, ttl_ms_, next);
        } else if (step == data_end) {
          store.remove(r->old_id, next);
        } else {
          // The store now holds only the new id: switch the caller first (its
          // claim frame goes out before the RPC reply), then tell every server.
          if (r->on_rotated) r->on_rotated(r->new_id, r->new_key, r->record);
          if (r->old_record.user_id) users_.withdraw(*r->old_record.user_id, r->old_id);
          std::string sealed = bus_sealer_.seal(r->new_id, r->new_key);
          announce(
              [&](const std::string& nonce) {
                return routing::encode_session_rotate(r->old_key, r->new_key, sealed,
                                                      r->record.user_id, r->record.channels, nonce);
              },
              r->promise, Json(r->user));
        }
      },
      [this, r](Status refused) { rotate_failed(r, refused); });
}

void SessionService::rotate_failed(const std::shared_ptr<Rotation>& r, const Status& s) {
  if (r->enrolled) users_.withdraw(r->user, r->new_id);
  if (r->created) {
    // Best effort: the half-made copy would otherwise only expire with its TTL.
    host_.with_store([id = r->new_id](SessionStore& store) { store.remove(id, [](Status, const SessionRecord*) {}); },
                     [](Status) {});
  }
  r->promise.reject(store_error(s));
}

std::string SessionService::claim_token(const std::string& new_id, const std::string& old_id) const {
  return make_claim_token(claim_sealer_, new_id, old_id, unix_ms_now() + settings_.session.claim_ttl.count());
}

SessionService::ClaimAnswer SessionService::redeem_claim(
    std::string_view token, const std::optional<std::string>& cookie_value) const {
  ClaimAnswer a;
  if (token.empty()) {
    a.message = "missing claim token (?claim=TOKEN)\n";
    return a;
  }
  if (!cookie_value || cookie_value->empty()) {
    a.status = 403;
    a.message = "a claim must carry the session cookie it was issued to\n";
    return a;
  }
  // The old id inside the presented cookie (signed form; the raw value otherwise,
  // which can only match if it is the old id itself).
  std::string old_id = verify_session_cookie(secret_, *cookie_value).value_or(*cookie_value);
  auto check = check_claim_token(claim_sealer_, token, old_id, unix_ms_now());
  switch (check.result) {
    case ClaimCheck::Result::kMalformed: a.message = "invalid claim token\n"; return a;
    case ClaimCheck::Result::kExpired: a.message = "claim token expired\n"; return a;
    case ClaimCheck::Result::kWrongSession:
      a.status = 403;
      a.message = "the claim token was issued to another session cookie\n";
      return a;
    case ClaimCheck::Result::kOk: break;
  }
  a.status = 204;
  a.set_cookie = set_cookie_header(check.new_id);
  return a;
}

std::optional<std::string> SessionService::unseal_rotated_id(const std::string& sealed,
                                                              const std::string& new_key) const {
  auto id = bus_sealer_.open(sealed, new_key);
  if (!id || !well_formed_session_id(*id) || routing_key_of(*id) != new_key) return std::nullopt;
  return id;
}

}  // namespace switchboard::session
