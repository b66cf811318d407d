#include "redis_store.hpp"

#include <boost/asio/post.hpp>
#include <future>

namespace redis_plugin {
namespace asio = boost::asio;
using switchboard::SessionRecord;
using switchboard::Status;
using switchboard::StatusCode;

namespace {

// Shared head of every script. KEYS[1] = hash, KEYS[2] = channel set,
// ARGV[1] = ttl in ms. Replies: {1, user|nil, {channels}, {k1, v1, ...}} for a
// record, {0} for not found, {2} for the channel limit.
#define PRELUDE                                                                  \
  "local h, s, ttl = KEYS[1], KEYS[2], tonumber(ARGV[1])\n"                     \
  "local function touch()\n"                                                     \
  "  redis.call('PEXPIRE', h, ttl)\n"                                            \
  "  if redis.call('EXISTS', s) == 1 then redis.call('PEXPIRE', s, ttl) end\n"  \
  "end\n"                                                                        \
  "local function record()\n"                                                    \
  "  local all = redis.call('HGETALL', h)\n"                                     \
  "  local data = {}\n"                                                          \
  "  for i = 1, #all, 2 do\n"                                                    \
  "    if string.sub(all[i], 1, 2) == 'd:' then\n"                               \
  "      data[#data + 1] = string.sub(all[i], 3); data[#data + 1] = all[i + 1]\n"  \
  "    end\n"                                                                    \
  "  end\n"                                                                      \
  "  return {1, redis.call('HGET', h, 'u'), redis.call('SMEMBERS', s), data}\n"  \
  "end\n"
#define EXISTING "if redis.call('EXISTS', h) == 0 then return {0} end\n"

// An id with a live record keeps it: two tabs of one browser may create the
// session named by their shared cookie at the same moment.
const char kCreate[] = PRELUDE
    "if redis.call('EXISTS', h) == 1 then touch() return record() end\n"
    "redis.call('DEL', s)\n"
    "redis.call('HSET', h, 'c', '1')\n"
    "touch()\n"
    "return record()\n";
const char kLoad[] = PRELUDE EXISTING "touch()\nreturn record()\n";
// ARGV[2] = max channels, ARGV[3..] = names
const char kAdd[] = PRELUDE EXISTING
    // Count each new name once, even when repeated in ARGV.
    "local max, fresh, seen = tonumber(ARGV[2]), 0, {}\n"
    "for i = 3, #ARGV do\n"
    "  if not seen[ARGV[i]] and redis.call('SISMEMBER', s, ARGV[i]) == 0 then fresh = fresh + 1 end\n"
    "  seen[ARGV[i]] = true\n"
    "end\n"
    "if redis.call('SCARD', s) + fresh > max then return {2} end\n"
    "if #ARGV >= 3 then redis.call('SADD', s, unpack(ARGV, 3)) end\n"
    "touch()\nreturn record()\n";
const char kRemove[] = PRELUDE EXISTING
    "if #ARGV >= 2 then redis.call('SREM', s, unpack(ARGV, 2)) end\n"
    "touch()\nreturn record()\n";
const char kClear[] = PRELUDE EXISTING "redis.call('DEL', s)\ntouch()\nreturn record()\n";
// ARGV[2] = '1' + user | '0'
const char kSetUser[] = PRELUDE EXISTING
    "if string.sub(ARGV[2], 1, 1) == '1' then redis.call('HSET', h, 'u', string.sub(ARGV[2], 2))\n"
    "else redis.call('HDEL', h, 'u') end\n"
    "touch()\nreturn record()\n";
// ARGV[2] = key, ARGV[3] = '1' + json | '0'
const char kSetData[] = PRELUDE EXISTING
    "if string.sub(ARGV[3], 1, 1) == '1' then redis.call('HSET', h, 'd:' .. ARGV[2], string.sub(ARGV[3], 2))\n"
    "else redis.call('HDEL', h, 'd:' .. ARGV[2]) end\n"
    "touch()\nreturn record()\n";
const char kDelete[] = PRELUDE "return {redis.call('DEL', h, s) > 0 and 1 or 0}\n";

std::string str(const redisReply* r) { return r && r->str ? std::string(r->str, r->len) : std::string(); }

// Converts a script reply; false with a status when it is not a record.
bool to_record(redisReply* r, SessionRecord& rec, Status& st) {
  if (r == nullptr) {
    st = Status(StatusCode::kUnavailable, "redis connection lost or timed out");
    return false;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    st = Status(StatusCode::kError, "redis: " + str(r));
    return false;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_INTEGER) {
    st = Status(StatusCode::kError, "redis: unexpected script reply");
    return false;
  }
  long long code = r->element[0]->integer;
  if (code == 0) {
    st = Status(StatusCode::kNotFound, "no such session");
    return false;
  }
  if (code == 2) {
    st = Status(StatusCode::kLimit, "the session is at its channel limit");
    return false;
  }
  if (r->elements < 4) {  // delete: {1}
    st = Status();
    return false;
  }
  if (r->element[1]->type == REDIS_REPLY_STRING) rec.user_id = str(r->element[1]);
  for (size_t i = 0; i < r->element[2]->elements; ++i) rec.channels.push_back(str(r->element[2]->element[i]));
  for (size_t i = 0; i + 1 < r->element[3]->elements; i += 2)
    rec.data.emplace_back(str(r->element[3]->element[i]), str(r->element[3]->element[i + 1]));
  st = Status();
  return true;
}

}  // namespace

RedisStore::RedisStore(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host), settings_(RedisSettings::from(config)), work_(io_.get_executor()) {
  const auto& a = settings_.link.address;
  std::string where = "redis " + a.host + ":" + std::to_string(a.port);
  link_ = std::make_unique<RedisLink>(
      io_, settings_.link,
      RedisLink::Events{[this, where] {
                          host_.report_state(SWITCHBOARD_STATE_CONNECTED, where);
                          flush_waiting();
                        },
                        [this](const std::string& why) {
                          host_.report_state(SWITCHBOARD_STATE_RECONNECTING, why);
                        }});
}

RedisStore::~RedisStore() { stop(); }

Status RedisStore::start() {
  if (started_) return {};
  if (thread_.joinable()) return {StatusCode::kInvalid, "a stopped redis store cannot restart; create a new instance"};
  started_ = true;
  host_.report_state(SWITCHBOARD_STATE_STARTING, "connecting to redis");
  thread_ = std::thread([this] { io_.run(); });
  expiry_ = std::make_unique<asio::steady_timer>(io_);
  asio::post(io_, [this] {
    link_->start();
    expire_waiting();
  });
  return {};
}

void RedisStore::flush_waiting() {
  while (!waiting_.empty() && link_->ready()) {
    Waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    if (!link_->command(w.argv, w.finish)) w.finish(nullptr);
  }
}

void RedisStore::expire_waiting() {
  auto now = std::chrono::steady_clock::now();
  while (!waiting_.empty() && waiting_.front().deadline <= now) {
    Waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    w.finish(nullptr);  // UNAVAILABLE
  }
  expiry_->expires_after(std::chrono::milliseconds(100));
  expiry_->async_wait([this](boost::system::error_code ec) {
    if (!ec) expire_waiting();
  });
}

void RedisStore::stop() {
  if (!started_) return;
  started_ = false;
  std::promise<void> done;
  // Stopping the link completes every pending operation with UNAVAILABLE.
  asio::post(io_, [this, &done] {
    expiry_->cancel();
    link_->stop();
    for (auto& w : waiting_) w.finish(nullptr);
    waiting_.clear();
    done.set_value();
  });
  done.get_future().wait();
  work_.reset();
  thread_.join();
  host_.report_state(SWITCHBOARD_STATE_STOPPED);
}

void RedisStore::run(const char* script, std::string_view id, std::vector<std::string> args,
                     switchboard::StoreCallback done) {
  if (!started_) {
    done(Status(StatusCode::kUnavailable, "redis store stopped"), nullptr);
    return;
  }
  std::string hash = settings_.key_prefix + "s:" + std::string(id);
  std::vector<std::string> argv = {"EVAL", script, "2", hash, hash + ":ch"};
  for (auto& a : args) argv.push_back(std::move(a));
  asio::post(io_, [this, argv = std::move(argv), done = std::move(done)] {
    RedisLink::ReplyFn finish = [done](redisReply* r) {
      SessionRecord rec;
      Status st;
      if (to_record(r, rec, st)) done(st, &rec);
      else done(st, nullptr);
    };
    if (link_->command(argv, finish)) return;
    if (waiting_.size() >= settings_.max_pending) {
      done(Status(StatusCode::kUnavailable, "redis not connected"), nullptr);
      return;
    }
    waiting_.push_back({argv, finish, std::chrono::steady_clock::now() + settings_.link.connect_timeout});
  });
}

void RedisStore::create_session(std::string_view id, int64_t ttl, switchboard::StoreCallback done) {
  run(kCreate, id, {std::to_string(ttl)}, std::move(done));
}
void RedisStore::load(std::string_view id, int64_t ttl, switchboard::StoreCallback done) {
  run(kLoad, id, {std::to_string(ttl)}, std::move(done));
}
void RedisStore::add_channels(std::string_view id, const std::vector<std::string>& names,
                              uint32_t max, int64_t ttl, switchboard::StoreCallback done) {
  std::vector<std::string> args = {std::to_string(ttl), std::to_string(max)};
  args.insert(args.end(), names.begin(), names.end());
  run(kAdd, id, std::move(args), std::move(done));
}
void RedisStore::remove_channels(std::string_view id, const std::vector<std::string>& names,
                                 int64_t ttl, switchboard::StoreCallback done) {
  std::vector<std::string> args = {std::to_string(ttl)};
  args.insert(args.end(), names.begin(), names.end());
  run(kRemove, id, std::move(args), std::move(done));
}
void RedisStore::clear_channels(std::string_view id, int64_t ttl, switchboard::StoreCallback done) {
  run(kClear, id, {std::to_string(ttl)}, std::move(done));
}
void RedisStore::set_user(std::string_view id, const std::optional<std::string>& user, int64_t ttl,
                          switchboard::StoreCallback done) {
  run(kSetUser, id, {std::to_string(ttl), user ? "1" + *user : "0"}, std::move(done));
}
void RedisStore::set_data(std::string_view id, std::string_view key,
                          const std::optional<std::string>& value, int64_t ttl,
                          switchboard::StoreCallback done) {
  run(kSetData, id, {std::to_string(ttl), std::string(key), value ? "1" + *value : "0"}, std::move(done));
}
void RedisStore::remove(std::string_view id, switchboard::StoreCallback done) {
  run(kDelete, id, {"0"}, std::move(done));
}

}  // namespace redis_plugin
