// Operations on every session of some users, for the HTTP API's session
// endpoints (docs/http-api.md "Session operations"): subscribe them to channels,
// unsubscribe them, sign them out. The sessions are those the user index lists
// (session/user_index.hpp), with or without an open connection; each is loaded
// first and skipped (and withdrawn from the index) unless it is still the
// user's. Each change is saved, then announced, as a session's own change is, so
// its open connections on every server follow. At most kConcurrentSessions are
// in progress at once. Every operation is idempotent: after a failure, running
// it again finishes the job.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "session/session_service.hpp"
#include "switchboard/users.hpp"

namespace switchboard::session {

enum class UserOp { kSubscribe, kUnsubscribe, kSignOut };

inline constexpr size_t kConcurrentSessions = 16;
// Most users one operation may name.
inline constexpr size_t kMaxUsers = 100;

struct UserOpReport {
  size_t sessions = 0;    // the users' sessions now as asked
  size_t over_limit = 0;  // subscribe: sessions left unchanged by a channel bound
  std::optional<Error> error;  // the first failure (store or bus); the rest went on
};

// channels: the names for kSubscribe and kUnsubscribe, already validated. done
// runs once, on any thread.
void for_user_sessions(SessionService& service, UserOp op, std::vector<std::string> users,
                       std::vector<std::string> channels, std::function<void(UserOpReport)> done);

// The app's Server::users(): validates the names as the HTTP API does, then
// for_user_sessions; the Future gets the answer the API sends, or the error.
std::unique_ptr<Users> make_users(SessionService& service);

}  // namespace switchboard::session
