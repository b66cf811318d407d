#include "session/session_ops.hpp"

#include <algorithm>
#include <atomic>
#include <string_view>
#include <unordered_set>

#include <boost/json.hpp>

#include "routing/envelope.hpp"
#include "routing/finite_numbers.hpp"
#include "sync/mutex.hpp"

namespace switchboard::detail {
namespace {
Json channel_list(const SessionRecord& r) {
  boost::json::array a;
  for (const auto& c : r.channels) a.emplace_back(c);
  return a;
}

using session::channel_bytes;

// What limits.session_data_bytes counts: the sum of keys and JSON values.
uint64_t data_bytes(const std::vector<std::pair<std::string, std::string>>& data) {
  uint64_t n = 0;
  for (const auto& [k, v] : data) n += k.size() + v.size();
  return n;
}

Error channel_bytes_error(uint64_t max) {
  return {"limit_exceeded", "a session's channel names may total at most " + std::to_string(max) +
                                " bytes (limits.session_channel_bytes)"};
}

Error data_bytes_error(uint64_t max) {
  return {"limit_exceeded", "a session's data keys and values may total at most " +
                                std::to_string(max) + " bytes (limits.session_data_bytes)"};
}

// Fails a resolved change when its store step had to be undone because a
// concurrent change (another tab or server) took the room first.
Future fail_if(const Future& f, std::shared_ptr<std::atomic<bool>> undone, Error e) {
  return f.then([undone, e](const Json& v) -> Future {
    if (undone->load()) return Future::failed(e);
    return v;
  });
}

// A sign-in (or a switch of user) rotates the session id; signing out, or in
// again as the same user, does not.
bool rotates(const std::optional<std::string>& user, const std::optional<std::string>& current) {
  return user && user != current;
}

// Starts op once gate (a sign-in's rotation) completed, and completes done as
// op's Future does; never under the caller's lock (op takes it). When the gate
// failed for an unreachable store, op fails with that at once instead of
// waiting out its own store timeout behind it.
Future start_after(const Future& gate, std::function<Future()> op, Promise done = {}) {
  gate.on_complete([done, op = std::move(op)](const Outcome& gate_outcome) {
    if (const auto* e = std::get_if<Error>(&gate_outcome); e && e->code == "store_unavailable") {
      done.reject(*e);
      return;
    }
    try {
      op().on_complete([done](const Outcome& o) { done.complete(o); });
    } catch (const std::exception& e) {  // as the RPC router answers a throwing call
      done.reject({"handler_error", e.what()});
    }
  });
  return done.future();
}
}  // namespace

Future SessionOps::call(std::function<Future()> op) {
  Future gate;
  {
    sync::Lock lock(mu_);
    gate = barrier_;
  }
  // Held calls and later rotations are started in call order when the gate
  // completes, so their store calls reach the control thread in that order.
  return gate.ready() ? op() : start_after(gate, std::move(op));
}

Future SessionOps::barrier(std::function<Future()> op) {
  Promise done;
  Future gate;
  {
    sync::Lock lock(mu_);
    gate = barrier_;
    barrier_ = done.future();
  }
  return start_after(gate, std::move(op), done);
}

SessionOps::SessionOps(session::SessionService& service, std::string id, std::string key,
                       SessionRecord snapshot, bool token)
    : service_(service),
      token_(token),
      id_(std::move(id)),
      key_(std::move(key)),
      snapshot_(std::move(snapshot)) {}

std::function<void(const SessionRecord&)> SessionOps::remember() {
  return [self = shared_from_this()](const SessionRecord& r) {
    sync::Lock lock(self->mu_);
    self->snapshot_ = r;
  };
}

std::optional<Future> SessionOps::check_names(const Names& names) const {
  if (auto bad = session::check_channel_names(service_.settings(), names.get())) return Future::failed(*bad);
  return std::nullopt;
}

// ---- the calls: each runs its *_now body in the handle's order ----------------

Future SessionOps::subscribe(const Names& names) {
  return call([self = shared_from_this(), names] { return self->subscribe_now(names); });
}

Future SessionOps::unsubscribe(const Names& names) {
  return call([self = shared_from_this(), names] { return self->unsubscribe_now(names); });
}

Future SessionOps::reset() {
  return call([self = shared_from_this()] { return self->reset_now(); });
}

Future SessionOps::list() {
  return call([self = shared_from_this()] { return self->list_now(); });
}

Future SessionOps::set_user(std::optional<std::string> user) {
  if (token_)
    return Future::failed({"bad_request", "the user of a token connection is its token's"});
  auto op = [self = shared_from_this(), user] { return self->set_user_now(user); };
  bool rotating = false;
  {
    sync::Lock lock(mu_);
    rotating = rotates(user, snapshot_.user_id);
  }
  return rotating ? barrier(std::move(op)) : call(std::move(op));
}

Future SessionOps::set(const std::string& key, Json value) {
  return call([self = shared_from_this(), key, value] { return self->set_now(key, value); });
}

Future SessionOps::get(const std::string& key) {
  return call([self = shared_from_this(), key] { return self->get_now(key); });
}

Future SessionOps::subscribe_now(const Names& names) {
  if (auto bad = check_names(names)) return *bad;
  auto n = names.get();
  const uint32_t max = service_.settings().limits.channels_per_session;
  const uint64_t max_bytes = service_.settings().limits.session_channel_bytes;
  const int64_t ttl = service_.settings().session.ttl.count();
  // The names this call adds, and the byte bound checked on the snapshot first so
  // an over-limit subscribe fails at once, before any store call or announcement.
  // Linear in the names (a call may name thousands: no search per name).
  std::vector<std::string> added;
  uint64_t bytes = 0;
  {
    sync::Lock lock(mu_);
    bytes = channel_bytes(snapshot_.channels);
    std::unordered_set<std::string_view> seen(snapshot_.channels.begin(), snapshot_.channels.end());
    for (const auto& c : n)
      if (seen.insert(c).second) added.push_back(c);
  }
  if (bytes + channel_bytes(added) > max_bytes) return Future::failed(channel_bytes_error(max_bytes));
  auto undone = std::make_shared<std::atomic<bool>>(false);
  auto f = service_.change(
      key(),
      [self = shared_from_this(), n, added, max, max_bytes, ttl, undone](SessionStore& s,
                                                                         StoreCallback cb) {
        s.add_channels(self->id(), n, max, ttl, [self, added, max_bytes, ttl, undone, cb](
                                                   Status st, const SessionRecord* r) {
          if (!st.is_ok() || r == nullptr || channel_bytes(r->channels) <= max_bytes)
            return cb(st, r);
          // A concurrent subscribe pushed the session over the bound: take back the
          // names this call added; the record after that is what gets announced.
          undone->store(true);
          self->service_.compensate(
              [id = self->id(), added, ttl](SessionStore& s2, StoreCallback done) {
                s2.remove_channels(id, added, ttl, std::move(done));
              },
              cb);
        });
      },
      true, channel_list, remember());
  return fail_if(f, undone, channel_bytes_error(max_bytes));
}

Future SessionOps::unsubscribe_now(const Names& names) {
  if (auto bad = check_names(names)) return *bad;
  auto n = names.get();
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key(),
      [id = id(), n, ttl](SessionStore& s, StoreCallback cb) {
        s.remove_channels(id, n, ttl, std::move(cb));
      },
      true, channel_list, remember());
}

Future SessionOps::reset_now() {
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key(),
      [id = id(), ttl](SessionStore& s, StoreCallback cb) { s.clear_channels(id, ttl, std::move(cb)); },
      true, channel_list, remember());
}

Future SessionOps::list_now() {
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key(),
      [id = id(), ttl](SessionStore& s, StoreCallback cb) { s.load(id, ttl, std::move(cb)); },
      false, channel_list, remember());
}

Future SessionOps::set_user_now(std::optional<std::string> user) {
  if (user && !session::valid_user_id(service_.settings(), *user))
    return Future::failed(session::user_id_error(service_.settings()));
  std::string old_id, old_key;
  std::optional<std::string> current;
  {
    sync::Lock lock(mu_);
    old_id = id_;
    old_key = key_;
    current = snapshot_.user_id;
  }
  if (rotates(user, current)) {
    // Sign-in or switch of user: a new session id, so that an id known before
    // (e.g. planted by an attacker) does not name the signed-in session. Sign-out
    // keeps the id: an anonymous session is worth nothing to a fixer.
    return service_.rotate(
        old_id, old_key, *user,
        [self = shared_from_this(), old_id](const std::string& new_id, const std::string& new_key,
                                            const SessionRecord& r) {
          {
            sync::Lock lock(self->mu_);
            self->id_ = new_id;
            self->key_ = new_key;
            self->snapshot_ = r;
          }
          if (self->claim_) self->claim_(self->service_.claim_token(new_id, old_id));
        });
  }
  const int64_t ttl = service_.settings().session.ttl.count();
  Future f = service_.change(
      key(),
      [id = old_id, user, ttl](SessionStore& s, StoreCallback cb) {
        s.set_user(id, user, ttl, std::move(cb));
      },
      true,
      [](const SessionRecord& r) { return r.user_id ? Json(*r.user_id) : Json(nullptr); },
      remember());
  if (!user && current) {
    // Signed out: no longer one of the user's sessions.
    f.on_complete([&users = service_.users(), was = *current, old_id](const Outcome& o) {
      if (std::holds_alternative<Json>(o)) users.withdraw(was, old_id);
    });
  }
  return f;
}

void SessionOps::keep_alive() {
  list();
  if (auto user = user_id()) service_.enroll(*user, id());
}

std::optional<std::string> SessionOps::user_id() const {
  sync::Lock lock(mu_);
  return snapshot_.user_id;
}

Future SessionOps::set_now(const std::string& key, Json value) {
  if (key.empty()) return Future::failed({"bad_args", "empty session data key"});
  if (!routing::all_numbers_finite(value))
    return Future::failed({"bad_args", std::string("the value ") + routing::kNonFiniteNumber});
  std::optional<std::string> text;
  if (!value.is_null()) text = boost::json::serialize(value);
  const uint64_t max_bytes = service_.settings().limits.session_data_bytes;
  const int64_t ttl = service_.settings().session.ttl.count();
  // The byte bound on the snapshot (deleting a key always fits), and the value
  // to restore if a concurrent set took the room first.
  std::optional<std::string> previous;
  {
    sync::Lock lock(mu_);
    uint64_t others = 0;
    for (const auto& [k, v] : snapshot_.data) {
      if (k == key) previous = v;
      else others += k.size() + v.size();
    }
    if (text && others + key.size() + text->size() > max_bytes)
      return Future::failed(data_bytes_error(max_bytes));
  }
  auto undone = std::make_shared<std::atomic<bool>>(false);
  auto f = service_.change(
      this->key(),
      [self = shared_from_this(), key, text, previous, max_bytes, ttl, undone](SessionStore& s,
                                                                               StoreCallback cb) {
        s.set_data(self->id(), key, text, ttl, [self, key, text, previous, max_bytes, ttl, undone, cb](
                                                  Status st, const SessionRecord* r) {
          if (!st.is_ok() || r == nullptr || !text || data_bytes(r->data) <= max_bytes)
            return cb(st, r);
          undone->store(true);
          self->service_.compensate(
              [id = self->id(), key, previous, ttl](SessionStore& s2, StoreCallback done) {
                s2.set_data(id, key, previous, ttl, std::move(done));
              },
              cb);
        });
      },
      false, [value](const SessionRecord&) { return value; }, remember());
  return fail_if(f, undone, data_bytes_error(max_bytes));
}

Future SessionOps::get_now(const std::string& key) {
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      this->key(),
      [id = id(), ttl](SessionStore& s, StoreCallback cb) { s.load(id, ttl, std::move(cb)); },
      false,
      [key](const SessionRecord& r) -> Json {
        for (const auto& [k, v] : r.data) {
          if (k != key) continue;
          std::error_code ec;
          Json j = boost::json::parse(v, ec);
          return ec ? Json(nullptr) : j;
        }
        return nullptr;
      },
      remember());
}

std::string SessionOps::id() const {
  sync::Lock lock(mu_);
  return id_;
}

std::string SessionOps::key() const {
  sync::Lock lock(mu_);
  return key_;
}

void SessionOps::rekey(std::string id, std::string key) {
  sync::Lock lock(mu_);
  id_ = std::move(id);
  key_ = std::move(key);
}

void SessionOps::sync_binding(const std::optional<std::string>& user,
                              const std::vector<std::string>& channels) {
  sync::Lock lock(mu_);
  snapshot_.user_id = user;
  snapshot_.channels = channels;
}

}  // namespace switchboard::detail

namespace switchboard {

Future Channels::subscribe(const Names& names) const { return ops_->subscribe(names); }
Future Channels::unsubscribe(const Names& names) const { return ops_->unsubscribe(names); }
Future Channels::reset() const { return ops_->reset(); }
Future Channels::list() const { return ops_->list(); }
Future Session::set_user_id(std::optional<std::string> id) const { return ops_->set_user(std::move(id)); }
std::optional<std::string> Session::user_id() const { return ops_->user_id(); }
Future Session::set(const std::string& key, Json value) const { return ops_->set(key, std::move(value)); }
Future Session::get(const std::string& key) const { return ops_->get(key); }

}  // namespace switchboard
