// One event loop's shard of the local index: which of this loop's connections are
// in which channel, signed in as which user, belong to which session, and carry
// which socketId. Only the owning loop's thread touches a shard, so the delivery
// hot path takes no lock. Per-channel / per-user state is freed when its last
// connection leaves.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace switchboard::routing {

using Frame = std::shared_ptr<const std::string>;
class ChannelFrames;  // routing/channel_frames.hpp

// One client connection (a browser tab) as the index and the server see it:
// what it is bound to, how to send it a frame, how to close it. The WebSocket
// connection (net/ws_connection.hpp) implements it. Every call runs on the
// owning loop's thread.
class Connection {
 public:
  virtual ~Connection() = default;
  // Queue one outbound text frame; never blocks, never re-enters the index.
  virtual void send_frame(const Frame& frame) = 0;
  // Graceful shutdown: close 1001 once the frames already queued are written.
  virtual void close_going_away() = 0;
  // Closed on request (a _disconnect bus message): once the frames already queued
  // are written, close 4000 (reconnect) or 1008 (the client stops).
  virtual void close_requested(bool reconnect) = 0;
  // The session's binding changed (after the index applied it).
  virtual void session_synced(const std::optional<std::string>& /*user*/,
                              const std::vector<std::string>& /*channels*/) {}
  // The session's id was rotated: the index already moved this connection to
  // session_key(); sealed_id is the new id, sealed (session/claim_token.hpp).
  virtual void session_rekeyed(const std::string& /*sealed_id*/) {}

  const std::string& socket_id() const { return socket_id_; }
  const std::string& session_key() const { return session_key_; }
  const std::optional<std::string>& user() const { return user_; }
  const std::unordered_set<std::string>& channels() const { return channels_; }

 protected:
  std::string socket_id_;
  std::string session_key_;

 private:
  friend class IndexShard;
  std::optional<std::string> user_;
  std::unordered_set<std::string> channels_;
  bool indexed_ = false;
};

// A decoded bus message ready for fan-out: frames built once, shared by every loop.
struct Delivery {
  enum class Kind { kAll, kChannel, kUser, kSocket, kSession, kDisconnect } kind;
  std::vector<std::string> targets;  // channels / users / socketId; kDisconnect: users or socketIds
  std::vector<Frame> frames;         // kChannel: one per target (prebuilt), unless
                                     // channel_frames is set; else the one frame
  // kChannel from the Fanout: each target's frame (it names the channel) built
  // on first use by a loop with subscribers there.
  std::shared_ptr<const ChannelFrames> channel_frames;
  // kSession:
  std::string session_key;
  std::optional<std::string> user;
  std::vector<std::string> channels;
  // kSession, a rotation only: connections of session_key move to new_session_key.
  std::string new_session_key;
  std::string sealed_id;
  // kDisconnect: targets are user ids (else socketIds); may the clients reconnect.
  bool by_user = false;
  bool reconnect = true;
  // Released when the last loop has applied this delivery (see Fanout).
  std::shared_ptr<void> applied;
};

class IndexShard {
 public:
  void add(Connection* s, const std::optional<std::string>& user,
           const std::vector<std::string>& channels);
  void remove(Connection* s);
  // Replaces a connection's user and channel set (diffing against the current one).
  void bind(Connection* s, const std::optional<std::string>& user,
            const std::vector<std::string>& channels);

  // Fans a delivery out to this shard's matching connections; returns frames queued.
  uint64_t dispatch(const Delivery& d);

  size_t connection_count() const { return all_.size(); }
  size_t channel_count() const { return channels_.size(); }
  size_t user_count() const { return users_.size(); }
  std::vector<Connection*> connections() const { return {all_.begin(), all_.end()}; }

 private:
  using Set = std::unordered_set<Connection*>;
  static void erase_from(std::unordered_map<std::string, Set>& m, const std::string& key,
                         Connection* s);

  Set all_;
  std::unordered_map<std::string, Set> channels_;
  std::unordered_map<std::string, Set> users_;
  std::unordered_map<std::string, Set> sessions_;
  std::unordered_map<std::string, Connection*> sockets_;
};

}  // namespace switchboard::routing
