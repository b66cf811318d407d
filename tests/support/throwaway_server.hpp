// tests/support/throwaway_server.hpp — a server process a test owns and abuses:
// started on a free loopback port, then stopped, killed, paused and started again
// on that same port (so clients configured with it reconnect to the new instance).
// The brokers of the tests (RedisServer, NatsBroker) are built on it.
//
// The process is a ServerProcess (PR_SET_PDEATHSIG, output kept in memory and
// copied to log_path, one file per start), so it dies with the test even when the
// test crashes. Every wait is bounded. The destructor SIGKILLs a running server
// and removes its temp dir.
// Thread-safety: none; one thread drives it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/server_process.hpp"

namespace switchboard::test {

class ThrowawayServer {
 public:
  struct Kind {
    std::string name;          // "redis-server", for messages
    std::string binary;        // the executable
    std::string install_hint;  // "apt-get install redis-server, or set REDIS_SERVER"
    // The command line for a port and the server's own temp dir (the same for
    // every start; the dir lives as long as the ThrowawayServer).
    std::function<std::vector<std::string>(uint16_t port, const std::string& dir)> args;
    // Whether it accepts clients yet (sets `last` to what it answered instead).
    std::function<bool(uint16_t port, std::string& last)> answers;
    // A regex of the log line that says it is ready: wakes the wait early.
    std::string ready_line;
  };

  // Makes a temp dir (/tmp/switchboard-<name>-XXXXXX), picks a free port and
  // starts it (a few fresh ports when one was taken meanwhile). Throws
  // std::runtime_error when it cannot be started or does not answer within 15 s.
  ThrowawayServer(Kind kind, std::string log_path);
  ~ThrowawayServer();
  ThrowawayServer(const ThrowawayServer&) = delete;
  ThrowawayServer& operator=(const ThrowawayServer&) = delete;

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const;
  bool running();

  // Starts it on port() again (after kill9() or stop()) and waits until it
  // answers. No-op when it is running.
  void start(Millis timeout = Millis(15000));
  // SIGKILL by pid and wait (bounded) until it is gone: a crash.
  void kill9(Millis timeout = Millis(5000));
  // SIGTERM by pid, wait (bounded); SIGKILL if it is still there after the wait.
  void stop(Millis timeout = Millis(5000));
  // SIGSTOP / SIGCONT: a server that hangs (its sockets stay open, nothing is
  // answered; the kernel still completes new TCP handshakes) and comes back.
  void pause();
  void resume();

  // What it printed (all starts).
  std::string output() const;

 private:
  bool launch(Millis timeout, std::string& why);
  void forget_process();  // keeps its output, drops the handle

  Kind kind_;
  std::string dir_;  // removed by the destructor, after the process is gone
  uint16_t port_ = 0;
  std::string log_path_;
  std::string past_output_;  // output of earlier (stopped) instances
  int starts_ = 0;
  std::unique_ptr<ServerProcess> process_;
};

// A loopback TCP port that was free a moment ago (bound to 127.0.0.1:0, then released).
uint16_t free_loopback_port();

}  // namespace switchboard::test
