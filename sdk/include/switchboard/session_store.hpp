// switchboard/session_store.hpp — the SessionStore interface.
//
// A session record is a user id (or none), a set of channel names and free-form
// data (key -> JSON text). Every operation is asynchronous: it returns at once and
// calls its completion exactly once, from any thread, possibly before returning.
// Every operation on an existing session refreshes its sliding TTL.
//
// Concurrent writers (two servers changing one session at the same time) must not
// lose updates: add_channels / remove_channels are atomic set operations.
//
// Threading: start, stop and the operations are called from one host control
// thread, never concurrently. After stop() returns no completion arrives; a store
// must complete (with kUnavailable) anything pending when it stops.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "switchboard/status.hpp"

namespace switchboard {

struct SessionRecord {
  std::optional<std::string> user_id;
  std::vector<std::string> channels;                         // no duplicates
  std::vector<std::pair<std::string, std::string>> data;     // key -> JSON text
};

// Completion: status, and the record after the operation when status is ok
// (nullptr for remove and on errors). The record is borrowed: it is valid only
// during the call (a store passes a record it owns, or a temporary); copy what
// you keep. On the host side a completion may run on any thread (the store's).
using StoreCallback = std::function<void(Status, const SessionRecord*)>;

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  virtual Status start() = 0;
  virtual void stop() = 0;

  // Creates an empty record for `id`. When `id` already names a live record, that
  // record is kept and returned unchanged (two tabs of one browser may create the
  // session named by their shared cookie at the same moment).
  virtual void create_session(std::string_view id, int64_t ttl_ms, StoreCallback done) = 0;
  virtual void load(std::string_view id, int64_t ttl_ms, StoreCallback done) = 0;
  // kLimit (and no change) if the set would exceed max_channels.
  virtual void add_channels(std::string_view id, const std::vector<std::string>& names,
                            uint32_t max_channels, int64_t ttl_ms, StoreCallback done) = 0;
  virtual void remove_channels(std::string_view id, const std::vector<std::string>& names,
                               int64_t ttl_ms, StoreCallback done) = 0;
  virtual void clear_channels(std::string_view id, int64_t ttl_ms, StoreCallback done) = 0;
  // nullopt signs out.
  virtual void set_user(std::string_view id, const std::optional<std::string>& user,
                        int64_t ttl_ms, StoreCallback done) = 0;
  // nullopt deletes the key; otherwise value_json is one complete JSON value.
  virtual void set_data(std::string_view id, std::string_view key,
                        const std::optional<std::string>& value_json, int64_t ttl_ms,
                        StoreCallback done) = 0;
  virtual void remove(std::string_view id, StoreCallback done) = 0;
};

// The channel-set semantics every store must give, for stores that hold a
// SessionRecord and change it under their own atomicity (a lock, a
// compare-and-set retry): apply one of these to the record read, write back on ok.

// Adds the names the record lacks (in the order given, each once). kLimit and no
// change when the set would exceed max_channels.
inline Status add_channels_to(SessionRecord& record, const std::vector<std::string>& names,
                              uint32_t max_channels) {
  std::unordered_set<std::string_view> have(record.channels.begin(), record.channels.end());
  std::vector<std::string> added;
  for (const auto& n : names)
    if (have.insert(n).second) added.push_back(n);
  if (record.channels.size() + added.size() > max_channels)
    return Status(StatusCode::kLimit,
                  "a session may be in at most " + std::to_string(max_channels) + " channels");
  for (auto& n : added) record.channels.push_back(std::move(n));
  return Status::ok();
}

// Removes the names given; names the record lacks are ignored.
inline void remove_channels_from(SessionRecord& record, const std::vector<std::string>& names) {
  std::unordered_set<std::string_view> gone(names.begin(), names.end());
  std::erase_if(record.channels, [&](const std::string& c) { return gone.count(c) != 0; });
}

}  // namespace switchboard
