// tests/support/server_process.hpp — a real server process for integration tests.
//
// ServerProcess forks and execs a binary with the given arguments and environment,
// stdin from /dev/null and stdout+stderr merged into a pipe that a reader thread
// drains for the whole life of the child (so the child never blocks on output).
// Everything it prints is kept in memory and, if log_path is set, copied to that
// file. The child gets PR_SET_PDEATHSIG(SIGKILL): it dies with the thread that
// started it, so create ServerProcess objects from a long-lived thread (the test's
// main thread).
//
// Inherited SWITCHBOARD_* variables are removed from the child's environment so a
// developer's shell cannot change what a test sees; spec.env is the whole story.
//
// Every wait is bounded. The destructor SIGKILLs a child that is still alive.
// Thread-safety: output() may be called from any thread; the rest from one thread.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/ws_client.hpp"

namespace switchboard::test {

struct ProcessSpec {
  std::string binary;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // set in the child
  std::string log_path;  // copy of the output; empty: kept in memory only
  bool echo = false;     // also copy the output to this process's stderr
};

struct ExitStatus {
  bool exited = false;  // exited normally (else: killed by `signal`)
  int code = -1;
  int signal = 0;
  bool success() const { return exited && code == 0; }
  std::string describe() const;
};

class ServerProcess {
 public:
  // Starts the child. Throws std::runtime_error if it cannot be executed.
  explicit ServerProcess(ProcessSpec spec);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits for "switchboard listening on http://HOST:PORT" and records HOST:PORT.
  // Throws std::runtime_error (with the output so far) if the child exits first
  // or the timeout passes.
  void wait_listening(Millis timeout = kDefaultTimeout);
  // Waits until the output matches `pattern`; false on timeout or EOF without it.
  bool wait_output(const std::regex& pattern, Millis timeout = kDefaultTimeout);

  // Waits until the child's output pipe is closed (it exited) and fully read.
  bool wait_output_closed(Millis timeout = kDefaultTimeout);

  uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }
  pid_t pid() const { return pid_; }
  const ProcessSpec& spec() const { return spec_; }

  bool running();
  // Sends a signal to the child (if it is still running).
  void signal(int sig);
  // Waits for the child to exit; nullopt if it is still running at the deadline.
  std::optional<ExitStatus> wait_exit(Millis timeout = kDefaultTimeout);
  // SIGTERM, then wait_exit(timeout).
  std::optional<ExitStatus> terminate(Millis timeout = kDefaultTimeout);

  // Everything the child printed so far (stdout and stderr interleaved).
  std::string output() const;

 private:
  void read_loop(int fd);

  ProcessSpec spec_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::string host_;
  uint16_t port_ = 0;
  int log_fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string output_;  // guarded by mu_
  bool eof_ = false;    // guarded by mu_
  std::thread reader_;
};

struct RunResult {
  std::optional<ExitStatus> status;  // nullopt: still running at the deadline (then killed)
  std::string output;
};

// Runs a process to completion (bounded; SIGKILLed at the deadline).
RunResult run_process(ProcessSpec spec, Millis timeout = kDefaultTimeout);

}  // namespace switchboard::test
