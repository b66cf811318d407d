#include "session/user_index.hpp"

#include <algorithm>
#include <charconv>
#include <memory>

#include "session/ids.hpp"

namespace switchboard::session {

UserIndex::UserIndex(plugin::PluginHost& host, std::string secret, int64_t session_ttl_ms,
                     uint32_t max_per_user)
    : host_(host), secret_(std::move(secret)), ttl_ms_(2 * session_ttl_ms), max_per_user_(max_per_user) {}

void UserIndex::put(const std::string& user, const std::string& id, StoreCallback done) {
  const std::string index = user_index_id(secret_, user);
  auto refused = [done](Status s) { done(s, nullptr); };
  auto set = [this, index, id, refused](StoreCallback then) {
    host_.with_store(
        [this, index, id, then](SessionStore& store) {
          store.set_data(index, id, std::to_string(unix_ms_now()), ttl_ms_, then);
        },
        refused);
  };
  // The index usually exists: write first, create only on NOT_FOUND. A store
  // keeps a live record on create, so two servers creating one index at once
  // both keep what the other wrote.
  set([this, index, set, done, refused](Status s, const SessionRecord* r) {
    if (s.code() != StatusCode::kNotFound) return done(s, r);
    host_.with_store(
        [this, index, set, done](SessionStore& store) {
          store.create_session(index, ttl_ms_, [set, done](Status c, const SessionRecord*) {
            if (!c.is_ok()) return done(c, nullptr);
            set(done);
          });
        },
        refused);
  });
}

std::vector<UserIndex::Entry> UserIndex::live_entries(const std::string& user,
                                                      const SessionRecord& r) {
  const int64_t oldest = unix_ms_now() - ttl_ms_;
  std::vector<Entry> live;
  for (const auto& [id, value] : r.data) {
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size() && ms >= oldest)
      live.push_back({id, ms});
    else
      withdraw(user, id);  // past every session it could name (or not ours)
  }
  return live;
}

void UserIndex::enroll(const std::string& user, const std::string& id, Enrolled done) {
  put(user, id, [this, user, id, done](Status s, const SessionRecord* r) {
    if (!s.is_ok() || r == nullptr) return done(s.is_ok() ? Status(StatusCode::kError, "no record") : s, {});
    std::vector<Entry> live = live_entries(user, *r);
    std::vector<std::string> evicted;
    if (live.size() > max_per_user_) {
      // The least recently enrolled go first; the session enrolled now stays.
      std::sort(live.begin(), live.end(), [&id](const Entry& a, const Entry& b) {
        if ((a.id == id) != (b.id == id)) return b.id == id;
        return a.enrolled_ms != b.enrolled_ms ? a.enrolled_ms < b.enrolled_ms : a.id < b.id;
      });
      for (size_t i = 0; i < live.size() - max_per_user_; ++i) {
        evicted.push_back(live[i].id);
        withdraw(user, live[i].id);
      }
    }
    done(Status::ok(), std::move(evicted));
  });
}

void UserIndex::withdraw(const std::string& user, const std::string& id) {
  host_.with_store(
      [this, index = user_index_id(secret_, user), id](SessionStore& store) {
        store.set_data(index, id, std::nullopt, ttl_ms_, [](Status, const SessionRecord*) {});
      },
      [](Status) {});
}

void UserIndex::list(const std::string& user,
                     std::function<void(Status, std::vector<std::string>)> done) {
  const std::string index = user_index_id(secret_, user);
  host_.with_store(
      [this, index, user, done](SessionStore& store) {
        store.load(index, ttl_ms_, [this, user, done](Status s, const SessionRecord* r) {
          if (s.code() == StatusCode::kNotFound) return done(Status::ok(), {});
          if (!s.is_ok() || r == nullptr)
            return done(s.is_ok() ? Status(StatusCode::kError, "no record") : s, {});
          std::vector<std::string> ids;
          for (auto& e : live_entries(user, *r)) ids.push_back(std::move(e.id));
          done(Status::ok(), std::move(ids));
        });
      },
      [done](Status s) { done(s, {}); });
}

}  // namespace switchboard::session
