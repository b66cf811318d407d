#include "nats_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace nats_plugin {
using switchboard::SessionRecord;
using switchboard::Status;
using switchboard::StatusCode;
using switchboard::StoreCallback;

namespace {

constexpr int kMaxAttempts = 64;  // compare-and-set rounds before giving up
constexpr int kHeaderRoom = 4096;  // of max_payload, for the subject and JetStream headers

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status from_nats(const std::string& what, natsStatus s) {
  switch (s) {
    case NATS_TIMEOUT:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_NOT_YET_CONNECTED:
      return {StatusCode::kUnavailable, nats_error(what, s)};
    case NATS_NO_RESPONDERS:
      return {StatusCode::kUnavailable, nats_error(what, s) + ": is JetStream enabled (nats-server -js)?"};
    default:
      return {StatusCode::kError, nats_error(what, s)};
  }
}

// A compare-and-set that lost: the key changed since it was read (or exists, for
// a create). The library reports it as a generic error with the server's text.
bool is_conflict(natsStatus s) {
  if (s != NATS_ERR) return false;
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  return text && std::strstr(text, "wrong last sequence") != nullptr;
}

// The latest value of a key: NATS_NOT_FOUND when absent or deleted.
struct Read {
  natsStatus status = NATS_OK;
  uint64_t revision = 0;
  std::optional<StoredSession> stored;  // nullopt: not a record this store wrote
};
Read read(kvStore* kv, const std::string& key) {
  Read r;
  kvEntry* e = nullptr;
  r.status = kvStore_Get(&e, kv, key.c_str());
  if (r.status != NATS_OK) return r;
  r.revision = kvEntry_Revision(e);
  r.stored = decode_session({static_cast<const char*>(kvEntry_Value(e)), static_cast<size_t>(kvEntry_ValueLen(e))});
  kvEntry_Destroy(e);
  return r;
}

const Status kNotFound{StatusCode::kNotFound, "no such session"};

// The connect_deadline of the job this worker thread is running (bucket() reads it).
thread_local std::chrono::steady_clock::time_point t_connect_deadline;

}  // namespace

NatsStore::NatsStore(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host), settings_(NatsSettings::from(config)) {
  conn_ = std::make_unique<NatsConnection>(
      settings_, "switchboard-store-" + std::to_string(::getpid()),
      NatsConnection::Events{[this](NatsConnection::State s, const std::string& detail) { report(s, detail); }, {}});
}

NatsStore::~NatsStore() { stop(); }

Status NatsStore::start() {
  if (started_) return {};
  if (stopped_) return {StatusCode::kInvalid, "a stopped nats store cannot restart; create a new instance"};
  started_ = true;
  host_.report_state(SWITCHBOARD_STATE_STARTING, "connecting to nats " + conn_->where());
  conn_->start([](natsConnection*) {});
  for (int i = 0; i < settings_.store_workers; ++i) {
    workers_.push_back(std::make_unique<Worker>());
    Worker& w = *workers_.back();
    w.thread = std::thread([this, &w] { work(w); });
  }
  return {};
}

void NatsStore::report(NatsConnection::State s, const std::string& detail) {
  // kConnecting: start() reported STARTING.
  if (s == NatsConnection::State::kConnected)
    host_.report_state(SWITCHBOARD_STATE_CONNECTED, "nats " + conn_->where() + " bucket " + settings_.bucket);
  else if (s == NatsConnection::State::kClosed)
    host_.report_state(SWITCHBOARD_STATE_FAILED, detail);
  else if (s == NatsConnection::State::kReconnecting)
    host_.report_state(SWITCHBOARD_STATE_RECONNECTING, detail);
}

void NatsStore::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  std::vector<Job> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& w : workers_) {
      for (auto& j : w->queue) left.push_back(std::move(j));
      w->queue.clear();
    }
    pending_ = 0;
  }
  cv_.notify_all();
  // Closing first makes a KV call in progress fail at once (its operation then
  // completes UNAVAILABLE) instead of running out its timeout.
  conn_->close();
  for (auto& w : workers_) w->thread.join();
  for (auto& j : left)
    j.done(Status(StatusCode::kUnavailable, std::string("nats store stopped before completing ") + j.op), nullptr);
  {
    std::lock_guard lock(kv_mu_);
    if (kv_) kvStore_Destroy(kv_);
    for (kvStore* old : retired_) kvStore_Destroy(old);
    retired_.clear();
    if (js_) jsCtx_Destroy(js_);
    kv_ = nullptr;
    js_ = nullptr;
  }
  host_.report_state(SWITCHBOARD_STATE_STOPPED);
}

void NatsStore::submit(const char* op, std::string_view id, StoreCallback done, std::function<void()> run) {
  std::unique_lock lock(mu_);
  if (!started_ || stopping_) {
    lock.unlock();
    done(Status(StatusCode::kUnavailable, "nats store not running"), nullptr);
    return;
  }
  if (pending_ >= settings_.max_pending) {
    lock.unlock();
    done(Status(StatusCode::kUnavailable, "too many store operations waiting for nats (nats.max_pending)"), nullptr);
    return;
  }
  // One session's operations on one worker, in order.
  auto& w = *workers_[std::hash<std::string_view>{}(id) % workers_.size()];
  w.queue.push_back(Job{op, std::move(run), std::move(done),
                        std::chrono::steady_clock::now() + settings_.connect_timeout});
  ++pending_;
  lock.unlock();
  cv_.notify_all();
}

void NatsStore::work(Worker& w) {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !w.queue.empty(); });
      if (stopping_) return;
      job = std::move(w.queue.front());
      w.queue.pop_front();
      --pending_;
    }
    // Queued behind operations a slow or hung server held up: answering late is
    // worse than answering UNAVAILABLE now (the caller's user is waiting).
    const auto late = std::chrono::steady_clock::now() - (job.connect_deadline + settings_.request_timeout);
    if (late.count() > 0) {
      job.done(Status(StatusCode::kUnavailable, std::string("nats store: ") + job.op +
                                                    " waited too long behind other operations (nats slow or "
                                                    "unreachable)"),
               nullptr);
      continue;
    }
    t_connect_deadline = job.connect_deadline;
    job.run();
  }
}

bool NatsStore::bucket_gone(kvStore* kv, natsStatus s) {
  // A request nobody answers (a write: no responders; a read: a timeout) may mean
  // that no stream holds the bucket any more: a memory bucket after a server
  // restart, or one an operator deleted. Asked once; when it is gone, the next
  // bucket() creates it again. The old handle may still be in another worker's
  // hands, so it is kept until stop().
  if (s != NATS_NO_RESPONDERS && s != NATS_TIMEOUT) return false;
  std::lock_guard lock(kv_mu_);
  if (kv_ != kv) return true;  // already replaced by another worker: retry with the new one
  // A timeout on the connection the bucket was last seen on is a slow or hung
  // server, not a lost bucket: asking would only cost another timeout.
  if (s == NATS_TIMEOUT && checked_at_ == conn_->connects()) return false;
  kvStore* probe = nullptr;
  natsStatus p = js_ ? js_KeyValue(&probe, js_, settings_.bucket.c_str()) : NATS_ERR;
  if (p == NATS_OK) kvStore_Destroy(probe);
  if (p == NATS_OK) checked_at_ = conn_->connects();
  if (p != NATS_NOT_FOUND) return false;
  retired_.push_back(kv_);
  kv_ = nullptr;
  host_.log(SWITCHBOARD_LOG_WARN, "nats: the bucket " + settings_.bucket + " is gone; creating it again");
  return true;
}

kvStore* NatsStore::bucket(Status& st) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t_connect_deadline -
                                                                          std::chrono::steady_clock::now());
  if (!conn_->connected() && (left.count() <= 0 || !conn_->wait_connected(left))) {
    st = Status(StatusCode::kUnavailable, "nats not connected (" + conn_->where() + ")");
    return nullptr;
  }
  std::lock_guard lock(kv_mu_);
  if (kv_) return kv_;
  natsStatus s = NATS_OK;
  if (!js_) {
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = settings_.request_timeout.count();
    s = natsConnection_JetStream(&js_, conn_->get(), &o);
    if (s != NATS_OK) {
      js_ = nullptr;
      st = from_nats("JetStream", s);
      return nullptr;
    }
  }
  s = js_KeyValue(&kv_, js_, settings_.bucket.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = settings_.bucket.c_str();
    cfg.Description = "Switchboard sessions";
    cfg.History = 1;
    cfg.TTL = settings_.bucket_max_age.count() * 1'000'000;  // nanoseconds
    cfg.StorageType = settings_.memory_storage ? js_MemoryStorage : js_FileStorage;
    cfg.Replicas = settings_.replicas;
    s = js_CreateKeyValue(&kv_, js_, &cfg);
    // Another server may have created it in the meantime: bind to theirs.
    if (s != NATS_OK) s = js_KeyValue(&kv_, js_, settings_.bucket.c_str());
  }
  if (s != NATS_OK) {
    kv_ = nullptr;
    st = from_nats("open or create the bucket " + settings_.bucket, s);
    return nullptr;
  }
  checked_at_ = conn_->connects();
  return kv_;
}

Status NatsStore::fits(const std::string& value) const {
  natsConnection* nc = conn_->get();
  int64_t limit = (nc ? natsConnection_GetMaxPayload(nc) : 1 << 20) - kHeaderRoom;
  if (static_cast<int64_t>(value.size()) <= limit) return {};
  return {StatusCode::kInvalid, "the session record would be " + std::to_string(value.size()) +
                                    " bytes, over the " + std::to_string(limit) +
                                    " a NATS KV value may hold here (the server's max_payload): keep session "
                                    "data smaller"};
}

void NatsStore::update(const std::string& id, int64_t ttl_ms, const Change& change, const StoreCallback& done) {
  const std::string key = session_key(id);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Status st;
    kvStore* kv = bucket(st);
    if (!kv) return done(st, nullptr);
    Read r = read(kv, key);
    if (r.status == NATS_NOT_FOUND) return done(kNotFound, nullptr);
    if (r.status != NATS_OK && bucket_gone(kv, r.status)) continue;
    if (r.status != NATS_OK) return done(from_nats("read the session", r.status), nullptr);
    if (!r.stored) return done(Status(StatusCode::kError, "the value under " + key + " is not a session record"), nullptr);
    if (r.stored->expires_ms <= now_ms()) return done(kNotFound, nullptr);
    if (Status c = change(r.stored->record); !c.is_ok()) return done(c, nullptr);
    r.stored->expires_ms = now_ms() + ttl_ms;
    const std::string value = encode_session(*r.stored);
    if (Status f = fits(value); !f.is_ok()) return done(f, nullptr);
    natsStatus s = kvStore_Update(nullptr, kv, key.c_str(), value.data(), static_cast<int>(value.size()), r.revision);
    if (s == NATS_OK) return done(Status(), &r.stored->record);
    if (bucket_gone(kv, s)) continue;
    if (!is_conflict(s)) return done(from_nats("write the session", s), nullptr);
  }
  done(Status(StatusCode::kUnavailable, "the session changed under " + std::to_string(kMaxAttempts) +
                                            " attempts in a row (other servers writing it)"),
       nullptr);
}

void NatsStore::create(const std::string& id, int64_t ttl_ms, const StoreCallback& done) {
  const std::string key = session_key(id);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Status st;
    kvStore* kv = bucket(st);
    if (!kv) return done(st, nullptr);
    Read r = read(kv, key);
    if (r.status != NATS_OK && r.status != NATS_NOT_FOUND && bucket_gone(kv, r.status)) continue;
    if (r.status != NATS_OK && r.status != NATS_NOT_FOUND) return done(from_nats("read the session", r.status), nullptr);
    // A live record is kept (two tabs may create the session of one cookie at once);
    // an expired or foreign one is replaced.
    StoredSession next;
    if (r.status == NATS_OK && r.stored && r.stored->expires_ms > now_ms()) next = *r.stored;
    next.expires_ms = now_ms() + ttl_ms;
    const std::string value = encode_session(next);
    natsStatus s = r.status == NATS_NOT_FOUND
                       ? kvStore_Create(nullptr, kv, key.c_str(), value.data(), static_cast<int>(value.size()))
                       : kvStore_Update(nullptr, kv, key.c_str(), value.data(), static_cast<int>(value.size()),
                                        r.revision);
    if (s == NATS_OK) return done(Status(), &next.record);
    if (bucket_gone(kv, s)) continue;
    if (!is_conflict(s)) return done(from_nats("write the session", s), nullptr);
  }
  done(Status(StatusCode::kUnavailable, "the session changed under " + std::to_string(kMaxAttempts) +
                                            " attempts in a row (other servers writing it)"),
       nullptr);
}

void NatsStore::erase(const std::string& id, const StoreCallback& done) {
  Status st;
  kvStore* kv = bucket(st);
  if (!kv) return done(st, nullptr);
  const std::string key = session_key(id);
  Read r = read(kv, key);
  if (r.status == NATS_NOT_FOUND) return done(kNotFound, nullptr);
  if (r.status != NATS_OK) return done(from_nats("read the session", r.status), nullptr);
  const bool live = r.stored && r.stored->expires_ms > now_ms();
  natsStatus s = kvStore_Delete(kv, key.c_str());
  if (s != NATS_OK) return done(from_nats("delete the session", s), nullptr);
  done(live ? Status() : kNotFound, nullptr);
}

void NatsStore::create_session(std::string_view id, int64_t ttl_ms, StoreCallback done) {
  if (ttl_ms > settings_.bucket_max_age.count() && !warned_ttl_.exchange(true))
    host_.log(SWITCHBOARD_LOG_WARN, "session TTL " + std::to_string(ttl_ms) + " ms is above nats.bucket_max_age (" +
                                        std::to_string(settings_.bucket_max_age.count()) +
                                        " ms): records idle longer than the bucket's max age are purged early; keep it above "
                                        "twice session.ttl");
  submit("create_session", id, done, [this, id = std::string(id), ttl_ms, done] { create(id, ttl_ms, done); });
}

void NatsStore::load(std::string_view id, int64_t ttl_ms, StoreCallback done) {
  submit("load", id, done, [this, id = std::string(id), ttl_ms, done] {
    update(id, ttl_ms, [](SessionRecord&) { return Status(); }, done);
  });
}

void NatsStore::add_channels(std::string_view id, const std::vector<std::string>& names, uint32_t max_channels,
                             int64_t ttl_ms, StoreCallback done) {
  submit("add_channels", id, done, [this, id = std::string(id), names, max_channels, ttl_ms, done] {
    update(
        id, ttl_ms,
        [&](SessionRecord& r) { return switchboard::add_channels_to(r, names, max_channels); },
        done);
  });
}

void NatsStore::remove_channels(std::string_view id, const std::vector<std::string>& names, int64_t ttl_ms,
                                StoreCallback done) {
  submit("remove_channels", id, done, [this, id = std::string(id), names, ttl_ms, done] {
    update(
        id, ttl_ms,
        [&](SessionRecord& r) {
          switchboard::remove_channels_from(r, names);
          return Status();
        },
        done);
  });
}

void NatsStore::clear_channels(std::string_view id, int64_t ttl_ms, StoreCallback done) {
  submit("clear_channels", id, done, [this, id = std::string(id), ttl_ms, done] {
    update(
        id, ttl_ms,
        [](SessionRecord& r) {
          r.channels.clear();
          return Status();
        },
        done);
  });
}

void NatsStore::set_user(std::string_view id, const std::optional<std::string>& user, int64_t ttl_ms,
                         StoreCallback done) {
  submit("set_user", id, done, [this, id = std::string(id), user, ttl_ms, done] {
    update(
        id, ttl_ms,
        [&](SessionRecord& r) {
          r.user_id = user;
          return Status();
        },
        done);
  });
}

void NatsStore::set_data(std::string_view id, std::string_view key, const std::optional<std::string>& value_json,
                         int64_t ttl_ms, StoreCallback done) {
  submit("set_data", id, done, [this, id = std::string(id), key = std::string(key), value_json, ttl_ms, done] {
    update(
        id, ttl_ms,
        [&](SessionRecord& r) {
          auto it = std::find_if(r.data.begin(), r.data.end(), [&](const auto& kv) { return kv.first == key; });
          if (!value_json) {
            if (it != r.data.end()) r.data.erase(it);
          } else if (it != r.data.end()) {
            it->second = *value_json;
          } else {
            r.data.emplace_back(key, *value_json);
          }
          return Status();
        },
        done);
  });
}

void NatsStore::remove(std::string_view id, StoreCallback done) {
  submit("remove", id, done, [this, id = std::string(id), done] { erase(id, done); });
}

}  // namespace nats_plugin
