// tests/support/redis_process.hpp — a real redis-server for tests, and a tiny
// RESP client to talk to it.
//
// RedisServer starts /usr/bin/redis-server (Debian's redis-server package; the
// REDIS_SERVER environment variable overrides the path) on a free loopback port:
//
//   redis-server --port P --bind 127.0.0.1 --save "" --appendonly no --dir <tmpdir>
//
// and returns once it answers PING. Nothing is persisted: a restart forgets every
// key and subscription, as a crashed broker would. Start, restart on the same
// port, kill -9, stop and pause are ThrowawayServer's (throwaway_server.hpp), so
// servers configured with redis://127.0.0.1:P reconnect to the new instance.
// The destructor SIGKILLs a running server and removes its temp dir.
// Thread-safety: none; one thread drives a RedisServer.
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
#include "support/throwaway_server.hpp"
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

class RedisServer {
 public:
  // Picks a free port and starts the server (start()). log_path: a copy of its
  // output (empty: kept in memory only). Throws std::runtime_error when
  // redis-server cannot be started or does not answer PING within the bound.
  explicit RedisServer(std::string log_path = {});
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return server_.port(); }
  // redis://127.0.0.1:PORT/0
  std::string url() const;
  const std::string& dir() const { return server_.dir(); }
  pid_t pid() const { return server_.pid(); }
  bool running() { return server_.running(); }

  // Starts redis-server on port() (again, after kill9() or stop()) and waits
  // until it answers PING; kill9(), stop(), pause(), resume(): ThrowawayServer's.
  void start(Millis timeout = Millis(15000)) { server_.start(timeout); }
  void kill9(Millis timeout = Millis(5000)) { server_.kill9(timeout); }
  void stop(Millis timeout = Millis(5000)) { server_.stop(timeout); }
  void pause() { server_.pause(); }
  void resume() { server_.resume(); }

  // Sends one command to this server.
  RedisReply command(const std::vector<std::string>& args, Millis timeout = Millis(3000)) const {
    return redis_command(port(), args, timeout);
  }
  // PUBLISH channel payload; the number of subscribers that got it, or -1 when
  // the command failed.
  int64_t publish(std::string_view channel, std::string_view payload) const;
  // PUBSUB NUMSUB channel: how many connections are subscribed to it (-1: failed).
  int64_t subscribers(std::string_view channel) const;

  // What redis-server printed (all starts).
  std::string output() const { return server_.output(); }

 private:
  ThrowawayServer server_;
};

}  // namespace switchboard::test
