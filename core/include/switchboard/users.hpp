// switchboard/users.hpp — change every session of some users, from anywhere.
//
// What the HTTP API's session operations do (docs/http-api.md, "Session
// operations"), for code inside the app: an admin RPC that signs a user out
// everywhere, a timer that adds a user's browsers to a channel. Each reaches
// every session signed in as one of the users, on every server, with a tab open
// or not; each session is changed as its own req.session() would change it
// (saved, then announced: its open tabs follow). Callable from any thread.
//
// The Future resolves to {"sessions": N} — the users' sessions now as asked —
// (subscribe adds "overLimit": K, the sessions a channel bound left unchanged),
// or fails with bad_args (no user, more than 100, an id empty or over
// limits.user_id_bytes), invalid_channel (no channel, a bad name), or
// store_unavailable / transport_unavailable when a store or bus step failed part
// way (the others were still tried). Every call is idempotent: after a failure,
// call again to finish.
#pragma once

#include "switchboard/future.hpp"
#include "switchboard/names.hpp"

namespace switchboard {

class Users {
 public:
  virtual ~Users() = default;
  virtual Future subscribe(const Names& users, const Names& channels) = 0;
  virtual Future unsubscribe(const Names& users, const Names& channels) = 0;
  // As set_user_id(null) in each session: user events stop, channels and data stay.
  virtual Future sign_out(const Names& users) = 0;
};

}  // namespace switchboard
