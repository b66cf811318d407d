#include "routing/index.hpp"

#include "routing/channel_frames.hpp"

namespace switchboard::routing {

void IndexShard::erase_from(std::unordered_map<std::string, Set>& m, const std::string& key,
                            Connection* s) {
  auto it = m.find(key);
  if (it == m.end()) return;
  it->second.erase(s);
  if (it->second.empty()) m.erase(it);
}

void IndexShard::add(Connection* s, const std::optional<std::string>& user,
                     const std::vector<std::string>& channels) {
  if (s->indexed_) return;
  s->indexed_ = true;
  all_.insert(s);
  sessions_[s->session_key_].insert(s);
  sockets_[s->socket_id_] = s;
  bind(s, user, channels);
}

void IndexShard::remove(Connection* s) {
  if (!s->indexed_) return;
  s->indexed_ = false;
  for (const auto& c : s->channels_) erase_from(channels_, c, s);
  s->channels_.clear();
  if (s->user_) erase_from(users_, *s->user_, s);
  s->user_.reset();
  erase_from(sessions_, s->session_key_, s);
  sockets_.erase(s->socket_id_);
  all_.erase(s);
}

void IndexShard::bind(Connection* s, const std::optional<std::string>& user,
                      const std::vector<std::string>& channels) {
  if (!s->indexed_) return;
  if (s->user_ != user) {
    if (s->user_) erase_from(users_, *s->user_, s);
    s->user_ = user;
    if (user) users_[*user].insert(s);
  }
  std::unordered_set<std::string> next(channels.begin(), channels.end());
  for (auto it = s->channels_.begin(); it != s->channels_.end();) {
    if (!next.contains(*it)) {
      erase_from(channels_, *it, s);
      it = s->channels_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& c : next)
    if (s->channels_.insert(c).second) channels_[c].insert(s);
}

uint64_t IndexShard::dispatch(const Delivery& d) {
  uint64_t n = 0;
  switch (d.kind) {
    case Delivery::Kind::kAll:
      for (auto* s : all_) s->send_frame(d.frames[0]);
      n = all_.size();
      break;
    case Delivery::Kind::kChannel:
      for (size_t i = 0; i < d.targets.size(); ++i) {
        auto it = channels_.find(d.targets[i]);
        if (it == channels_.end()) continue;
        Frame f = d.channel_frames ? d.channel_frames->get(i, d.targets[i]) : d.frames[i];
        if (!f) continue;  // past the message's expansion bound (counted there)
        for (auto* s : it->second) s->send_frame(f);
        n += it->second.size();
      }
      break;
    case Delivery::Kind::kUser:
      for (const auto& u : d.targets) {
        auto it = users_.find(u);
        if (it == users_.end()) continue;
        for (auto* s : it->second) s->send_frame(d.frames[0]);
        n += it->second.size();
      }
      break;
    case Delivery::Kind::kSocket: {
      auto it = sockets_.find(d.targets[0]);
      if (it != sockets_.end()) {
        it->second->send_frame(d.frames[0]);
        n = 1;
      }
      break;
    }
    case Delivery::Kind::kDisconnect: {
      // Closing starts a handshake; the connection leaves the index when it
      // ends, later: still, collect first, act after.
      std::vector<Connection*> closing;
      for (const auto& t : d.targets) {
        if (d.by_user) {
          auto it = users_.find(t);
          if (it != users_.end()) closing.insert(closing.end(), it->second.begin(), it->second.end());
        } else if (auto it = sockets_.find(t); it != sockets_.end()) {
          closing.push_back(it->second);
        }
      }
      for (auto* s : closing) s->close_requested(d.reconnect);
      break;
    }
    case Delivery::Kind::kSession: {
      auto it = sessions_.find(d.session_key);
      if (it == sessions_.end()) break;
      if (!d.new_session_key.empty() && d.new_session_key != d.session_key) {
        // A rotation: every connection of the old key follows to the new one.
        auto moved = sessions_.extract(it);
        auto& into = sessions_[d.new_session_key];
        for (auto* s : moved.mapped()) {
          s->session_key_ = d.new_session_key;
          into.insert(s);
          s->session_rekeyed(d.sealed_id);
        }
        it = sessions_.find(d.new_session_key);
      }
      // bind() never touches sessions_, so iterating it here is safe.
      for (auto* s : it->second) {
        bind(s, d.user, d.channels);
        s->session_synced(d.user, d.channels);
      }
      break;
    }
  }
  return n;
}

}  // namespace switchboard::routing
