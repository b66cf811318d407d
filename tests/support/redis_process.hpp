// tests/support/redis_process.hpp — a real redis-server for tests, and a tiny
// RESP client to talk to it.
//
// RedisServer starts /usr/bin/redis-server (Debian's redis-server package; the
// REDIS_SERVER environment variable overrides the path) on a free loopback port:
//
//   redis-server --port P --bind 127.0.0.1 --save "" --appendonly no --dir <tmpdir>
//
// and returns once it answers PING. Nothing is persisted: a restart forgets every
// key and subscription, as a crashed broker would. The process is a ServerProcess
// (PR_SET_PDEATHSIG, output kept in memory and copied to log_path), so it dies
// with the test even when the test crashes. Restarts reuse the same port, so
// servers configured with redis://127.0.0.1:P reconnect to the new instance.
//
// Every wait is bounded. The destructor SIGKILLs a running server and removes
// its temp dir. Thread-safety: none; one thread drives a RedisServer.
//
// redis_command() sends one command (an array of bulk strings: binary-safe) on a
// fresh TCP connection and returns the parsed reply; it never throws for network
// failures (they come back as RedisReply::error).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace switchboard::test {

// A RESP reply (RESP2, what redis-server speaks by default).
struct RedisReply {
  enum class Type { kNone, kStatus, kError, kInteger, kBulk, kNil, kArray };
  Type type = Type::kNone;  // kNone: no reply arrived (see `error`)
  std::string str;          // kStatus / kError / kBulk text
  int64_t integer = 0;      // kInteger
  std::vector<RedisReply> elements;  // kArray
  std::string error;        // why no reply arrived (connect refused, timeout, bad reply)

  bool arrived() const { return type != Type::kNone; }
  bool is_integer() const { return type == Type::kInteger; }
  // A compact rendering for failure messages: "PONG", "(integer) 2", "(error) ERR …".
  std::string describe() const;
};

// One command on a fresh connection to 127.0.0.1:port, bounded by `timeout`.
RedisReply redis_command(uint16_t port, const std::vector<std::string>& args,
                         Millis timeout = Millis(3000));

// A loopback TCP port that was free a moment ago (bound to 127.0.0.1:0, then released).
uint16_t free_loopback_port();

class RedisServer {
 public:
  // Picks a free port and starts the server (start()). log_path: a copy of its
  // output (empty: kept in memory only). Throws std::runtime_error when
  // redis-server cannot be started or does not answer PING within the bound.
  explicit RedisServer(std::string log_path = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  // redis://127.0.0.1:PORT/0
  std::string url() const;
  const std::string& dir() const { return dir_; }
  pid_t pid() const;
  bool running();

  // Starts redis-server on port() (again, after kill9() or stop()) and waits
  // until it answers PING. No-op when it is already running.
  void start(Millis timeout = Millis(15000));
  // SIGKILL by pid and wait (bounded) until it is gone: a crash.
  void kill9(Millis timeout = Millis(5000));
  // SIGTERM by pid, wait (bounded); SIGKILL if it is still there after the wait.
  void stop(Millis timeout = Millis(5000));

  // SIGSTOP / SIGCONT: a Redis that hangs (its sockets stay open, nothing is
  // answered; the kernel still completes new TCP handshakes) and comes back.
  void pause();
  void resume();

  // Sends one command to this server.
  RedisReply command(const std::vector<std::string>& args, Millis timeout = Millis(3000)) const {
    return redis_command(port_, args, timeout);
  }
  // PUBLISH channel payload; the number of subscribers that got it, or -1 when
  // the command failed.
  int64_t publish(std::string_view channel, std::string_view payload) const;
  // PUBSUB NUMSUB channel: how many connections are subscribed to it (-1: failed).
  int64_t subscribers(std::string_view channel) const;

  // What redis-server printed (all starts).
  std::string output() const;

 private:
  bool launch(Millis timeout, std::string& why);

  uint16_t port_ = 0;
  std::string dir_;
  std::string log_path_;
  std::string past_output_;  // output of earlier (stopped) instances
  int starts_ = 0;
  std::unique_ptr<ServerProcess> process_;
};

}  // namespace switchboard::test
