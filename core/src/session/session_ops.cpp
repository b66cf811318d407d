#include "session/session_ops.hpp"

#include <boost/json.hpp>

#include "routing/envelope.hpp"

namespace switchboard::detail {
namespace {
Json channel_list(const SessionRecord& r) {
  boost::json::array a;
  for (const auto& c : r.channels) a.emplace_back(c);
  return a;
}
}  // namespace

SessionOps::SessionOps(session::SessionService& service, std::string id, std::string key,
                       SessionRecord snapshot)
    : service_(service), id_(std::move(id)), key_(std::move(key)), snapshot_(std::move(snapshot)) {}

std::function<void(const SessionRecord&)> SessionOps::remember() {
  return [self = shared_from_this()](const SessionRecord& r) {
    std::lock_guard lock(self->mu_);
    self->snapshot_ = r;
  };
}

std::optional<Future> SessionOps::check_names(const Names& names) const {
  const auto max = service_.settings().limits.channel_name_bytes;
  if (names.get().empty()) return Future::failed({"invalid_channel", "no channel name given"});
  for (const auto& n : names.get())
    if (!routing::valid_channel_name(n, max))
      return Future::failed({"invalid_channel", "channel names must be 1.." + std::to_string(max) +
                                                    " bytes of UTF-8"});
  return std::nullopt;
}

Future SessionOps::subscribe(const Names& names) {
  if (auto bad = check_names(names)) return *bad;
  auto n = names.get();
  const uint32_t max = service_.settings().limits.channels_per_session;
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key_,
      [id = id_, n, max, ttl](SessionStore& s, StoreCallback cb) {
        s.add_channels(id, n, max, ttl, std::move(cb));
      },
      true, channel_list, remember());
}

Future SessionOps::unsubscribe(const Names& names) {
  if (auto bad = check_names(names)) return *bad;
  auto n = names.get();
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key_,
      [id = id_, n, ttl](SessionStore& s, StoreCallback cb) {
        s.remove_channels(id, n, ttl, std::move(cb));
      },
      true, channel_list, remember());
}

Future SessionOps::reset() {
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key_,
      [id = id_, ttl](SessionStore& s, StoreCallback cb) { s.clear_channels(id, ttl, std::move(cb)); },
      true, channel_list, remember());
}

Future SessionOps::list() {
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key_,
      [id = id_, ttl](SessionStore& s, StoreCallback cb) { s.load(id, ttl, std::move(cb)); },
      false, channel_list, remember());
}

Future SessionOps::set_user(std::optional<std::string> user) {
  const auto max = service_.settings().limits.user_id_bytes;
  if (user && (user->empty() || user->size() > max))
    return Future::failed({"bad_args", "user ids must be 1.." + std::to_string(max) + " bytes"});
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key_,
      [id = id_, user, ttl](SessionStore& s, StoreCallback cb) {
        s.set_user(id, user, ttl, std::move(cb));
      },
      true,
      [](const SessionRecord& r) { return r.user_id ? Json(*r.user_id) : Json(nullptr); },
      remember());
}

std::optional<std::string> SessionOps::user_id() const {
  std::lock_guard lock(mu_);
  return snapshot_.user_id;
}

Future SessionOps::set(const std::string& key, Json value) {
  if (key.empty()) return Future::failed({"bad_args", "empty session data key"});
  std::optional<std::string> text;
  if (!value.is_null()) text = boost::json::serialize(value);
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key_,
      [id = id_, key, text, ttl](SessionStore& s, StoreCallback cb) {
        s.set_data(id, key, text, ttl, std::move(cb));
      },
      false, [value](const SessionRecord&) { return value; }, remember());
}

Future SessionOps::get(const std::string& key) {
  const int64_t ttl = service_.settings().session.ttl.count();
  return service_.change(
      key_,
      [id = id_, ttl](SessionStore& s, StoreCallback cb) { s.load(id, ttl, std::move(cb)); },
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

void SessionOps::sync_binding(const std::optional<std::string>& user,
                              const std::vector<std::string>& channels) {
  std::lock_guard lock(mu_);
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
