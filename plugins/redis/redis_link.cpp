#include "redis_link.hpp"

#include <netdb.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <random>

namespace redis_plugin {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Watches the context's socket for hiredis. Shared with the pending waits so a
// handler that runs after hiredis freed the context finds `ac == nullptr`.
struct RedisLink::Adapter : std::enable_shared_from_this<Adapter> {
  Adapter(asio::io_context& io, redisAsyncContext* c) : sd(io, c->c.fd), ac(c) {}
  asio::posix::stream_descriptor sd;
  redisAsyncContext* ac;
  bool want_read = false, want_write = false;
  bool read_waiting = false, write_waiting = false;

  void arm_read() {
    if (!want_read || read_waiting || !ac) return;
    read_waiting = true;
    sd.async_wait(asio::posix::stream_descriptor::wait_read,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    self->read_waiting = false;
                    if (ec || !self->ac || !self->want_read) return;
                    redisAsyncHandleRead(self->ac);  // may free the context (cleanup below)
                    self->arm_read();
                  });
  }
  void arm_write() {
    if (!want_write || write_waiting || !ac) return;
    write_waiting = true;
    sd.async_wait(asio::posix::stream_descriptor::wait_write,
                  [self = shared_from_this()](boost::system::error_code ec) {
                    self->write_waiting = false;
                    if (ec || !self->ac || !self->want_write) return;
                    redisAsyncHandleWrite(self->ac);
                    self->arm_write();
                  });
  }
  // hiredis's event hooks; privdata is a heap shared_ptr<Adapter>.
  static Adapter& of(void* p) { return **static_cast<std::shared_ptr<Adapter>*>(p); }
  static void add_read(void* p) { of(p).want_read = true; of(p).arm_read(); }
  static void del_read(void* p) { of(p).want_read = false; }
  static void add_write(void* p) { of(p).want_write = true; of(p).arm_write(); }
  static void del_write(void* p) { of(p).want_write = false; }
  static void cleanup(void* p) {
    auto* holder = static_cast<std::shared_ptr<Adapter>*>(p);
    Adapter& a = **holder;
    a.ac = nullptr;
    a.want_read = a.want_write = false;
    boost::system::error_code ignored;
    a.sd.cancel(ignored);
    (void)a.sd.release();  // hiredis closes the fd; closing it here would close someone else's
    delete holder;
  }
  static void attach(asio::io_context& io, redisAsyncContext* ac) {
    auto* holder = new std::shared_ptr<Adapter>(std::make_shared<Adapter>(io, ac));
    ac->ev.data = holder;
    ac->ev.addRead = &add_read;
    ac->ev.delRead = &del_read;
    ac->ev.addWrite = &add_write;
    ac->ev.delWrite = &del_write;
    ac->ev.cleanup = &cleanup;
  }
};

RedisLink::RedisLink(asio::io_context& io, Options options, Events events)
    : io_(io),
      options_(std::move(options)),
      events_(std::move(events)),
      backoff_(options_.reconnect_min),
      retry_(io),
      connect_deadline_(io),
      watchdog_(io) {}

RedisLink::~RedisLink() { stop(); }

void RedisLink::start() {
  if (!stopped_) return;
  stopped_ = false;
  connect();
  check_timeouts();
}

void RedisLink::stop() {
  stopped_ = true;
  retry_.cancel();
  connect_deadline_.cancel();
  watchdog_.cancel();
  ready_ = false;
  if (redisAsyncContext* ac = ac_) {
    ac_ = nullptr;
    redisAsyncFree(ac);  // pending callbacks run now, with NULL replies
  }
  subscriptions_.clear();
  in_flight_.clear();
}

void RedisLink::reset(const std::string& why) {
  if (stopped_ || ac_ == nullptr) return;
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  redisAsyncFree(ac);
  lost(why);
}

void RedisLink::connect() {
  if (stopped_) return;
  // hiredis resolves names with a blocking call on the caller's thread: resolve
  // here, on the plugin's own thread, and hand it an address.
  std::string ip = options_.address.host;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(ip.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    lost("cannot resolve " + options_.address.host);
    return;
  }
  char buf[NI_MAXHOST];
  if (getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0)
    ip = buf;
  freeaddrinfo(res);

  redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), options_.address.port);
  if (ac == nullptr) {
    lost("out of memory");
    return;
  }
  if (ac->err) {
    std::string why = ac->errstr;
    redisAsyncFree(ac);
    lost(why);
    return;
  }
  ac->data = this;
  redisEnableKeepAlive(&ac->c);  // dead peers on a quiet (subscribed) connection
  Adapter::attach(io_, ac);
  redisAsyncSetConnectCallback(ac, &on_connect);
  redisAsyncSetDisconnectCallback(ac, &on_disconnect);
  ac_ = ac;
  connect_deadline_.expires_after(options_.connect_timeout);
  connect_deadline_.async_wait([this, ac](boost::system::error_code ec) {
    if (!ec && ac_ == ac && !ready_) reset("connect timed out");
  });
}

void RedisLink::on_connect(const redisAsyncContext* c, int status) {
  auto* self = static_cast<RedisLink*>(c->data);
  if (c != self->ac_) return;
  if (status != REDIS_OK) {
    std::string why = c->errstr;
    self->ac_ = nullptr;  // hiredis frees it after this callback
    self->lost(why.empty() ? "connect failed" : why);
    return;
  }
  self->handshake();
}

void RedisLink::on_disconnect(const redisAsyncContext* c, int /*status*/) {
  auto* self = static_cast<RedisLink*>(c->data);
  if (c != self->ac_) return;  // we freed it ourselves
  std::string why = c->err ? c->errstr : "connection closed";
  self->ac_ = nullptr;  // dead after this callback
  self->lost(why);
}

void RedisLink::handshake() {
  const auto& a = options_.address;
  auto finish = [this](redisReply* r, const char* what) {
    if (r == nullptr) return false;
    if (r->type == REDIS_REPLY_ERROR) {
      reset(std::string(what) + " refused: " + std::string(r->str, r->len));
      return false;
    }
    return true;
  };
  auto select = [this, finish] {
    auto done = [this, finish](redisReply* r) {
      if (!finish(r, "SELECT")) return;
      ready_ = true;
      backoff_ = options_.reconnect_min;
      connect_deadline_.cancel();
      if (events_.on_ready) events_.on_ready();
    };
    send({"SELECT", std::to_string(options_.address.db)}, &on_reply, new Pending{done});
  };
  if (a.password.empty()) {
    select();
    return;
  }
  std::vector<std::string> auth = {"AUTH"};
  if (!a.user.empty()) auth.push_back(a.user);
  auth.push_back(a.password);
  send(auth, &on_reply, new Pending{[finish, select](redisReply* r) {
         if (finish(r, "AUTH")) select();
       }});
}

void RedisLink::lost(const std::string& why) {
  ready_ = false;
  in_flight_.clear();
  connect_deadline_.cancel();
  // hiredis may still run subscription callbacks while freeing the old context:
  // free their state only after that has finished.
  if (!subscriptions_.empty())
    asio::post(io_, [old = std::make_shared<decltype(subscriptions_)>(std::move(subscriptions_))] {});
  subscriptions_.clear();
  if (events_.on_down) events_.on_down(why);
  schedule_reconnect();
}

void RedisLink::schedule_reconnect() {
  if (stopped_) return;
  static thread_local std::mt19937 rng{std::random_device{}()};
  auto jittered = std::chrono::milliseconds(
      std::uniform_int_distribution<long long>(backoff_.count() / 2, backoff_.count())(rng));
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
  retry_.expires_after(jittered);
  retry_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect();
  });
}

bool RedisLink::send(const std::vector<std::string>& argv, redisCallbackFn* fn, void* privdata) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());  // binary-safe: lengths passed, nothing formatted
    lens.push_back(a.size());
  }
  if (ac_ == nullptr ||
      redisAsyncCommandArgv(ac_, fn, privdata, static_cast<int>(args.size()), args.data(),
                            lens.data()) != REDIS_OK) {
    if (fn == &on_reply) delete static_cast<Pending*>(privdata);
    return false;
  }
  if (fn == &on_reply) in_flight_.push_back(Clock::now());
  return true;
}

bool RedisLink::command(const std::vector<std::string>& argv, ReplyFn cb, bool subscription) {
  if (!ready_) return false;
  if (!subscription) return send(argv, &on_reply, new Pending{std::move(cb)});
  auto p = std::make_unique<Pending>(Pending{std::move(cb)});
  if (!send(argv, &on_subscription, p.get())) return false;
  subscriptions_.push_back(std::move(p));
  return true;
}

void RedisLink::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(privdata));
  auto* self = static_cast<RedisLink*>(ac->data);
  if (ac == self->ac_ && !self->in_flight_.empty()) self->in_flight_.pop_front();
  if (p->fn) p->fn(static_cast<redisReply*>(reply));
}

void RedisLink::on_subscription(redisAsyncContext*, void* reply, void* privdata) {
  auto* p = static_cast<Pending*>(privdata);  // owned by subscriptions_
  if (p->fn) p->fn(static_cast<redisReply*>(reply));
}

void RedisLink::check_timeouts() {
  if (stopped_) return;
  if (!in_flight_.empty() && Clock::now() - in_flight_.front() > options_.command_timeout)
    reset("no reply within " + std::to_string(options_.command_timeout.count()) + " ms");
  watchdog_.expires_after(std::chrono::milliseconds(100));
  watchdog_.async_wait([this](boost::system::error_code ec) {
    if (!ec) check_timeouts();
  });
}

}  // namespace redis_plugin
