// RedisLink: one hiredis 0.14 async connection driven by an Asio io_context, that
// reconnects by itself.
//
// hiredis ships no Asio adapter and no reconnect, timeouts or resolver of its
// own; this class supplies them (facts in shared/design/brokers.md): the socket is
// watched with stream_descriptor::async_wait and released, never closed, when
// hiredis frees the context (hiredis closes the fd itself); every callback
// accepts a NULL reply; a failed connect (onConnect with an error, no
// onDisconnect) and a lost connection both lead to one reconnect path with
// exponential backoff; commands that get no answer within command_timeout kill
// the connection (a dead peer) so it reconnects.
//
// Threading: every member runs on the io_context's one thread.
#pragma once

#include <hiredis/async.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis_url.hpp"

namespace redis_plugin {

class RedisLink {
 public:
  struct Options {
    RedisAddress address;
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds command_timeout{2000};
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{2000};
  };
  struct Events {
    std::function<void()> on_ready;                   // connected, authenticated, db selected
    std::function<void(const std::string&)> on_down;  // lost or failed; a retry is scheduled
  };
  // reply is nullptr when the command failed: not connected, connection lost,
  // timed out, or the link stopped.
  using ReplyFn = std::function<void(redisReply* reply)>;

  RedisLink(boost::asio::io_context& io, Options options, Events events);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  void start();
  // Frees the connection (pending callbacks get nullptr) and stops retrying.
  void stop();
  bool ready() const { return ready_; }

  // Sends a command; false (cb not called) when not ready. A `subscription`
  // callback stays registered for every message until the connection goes.
  bool command(const std::vector<std::string>& argv, ReplyFn cb, bool subscription = false);
  // Drops the connection now (e.g. a heartbeat went missing); it reconnects.
  void reset(const std::string& why);

 private:
  struct Adapter;
  struct Pending {
    ReplyFn fn;
  };
  void connect();
  void schedule_reconnect();
  void lost(const std::string& why);
  void handshake();
  void check_timeouts();
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_subscription(redisAsyncContext* ac, void* reply, void* privdata);
  bool send(const std::vector<std::string>& argv, redisCallbackFn* fn, void* privdata);

  boost::asio::io_context& io_;
  Options options_;
  Events events_;
  redisAsyncContext* ac_ = nullptr;  // the live context, or nullptr
  bool ready_ = false;
  bool stopped_ = true;
  std::chrono::milliseconds backoff_;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer connect_deadline_;
  boost::asio::steady_timer watchdog_;
  std::deque<std::chrono::steady_clock::time_point> in_flight_;  // send times, oldest first
  std::vector<std::unique_ptr<Pending>> subscriptions_;          // live while ac_ lives
};

}  // namespace redis_plugin
