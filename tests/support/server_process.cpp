#include "support/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <stdexcept>

extern char** environ;

namespace switchboard::test {

using Clock = std::chrono::steady_clock;

namespace {

// How much output to quote in error messages.
constexpr std::size_t kQuoteBytes = 4000;

std::string tail(const std::string& s) {
  return s.size() <= kQuoteBytes ? s : "…" + s.substr(s.size() - kQuoteBytes);
}

ExitStatus decode(int wstatus) {
  ExitStatus s;
  if (WIFEXITED(wstatus)) {
    s.exited = true;
    s.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signal = WTERMSIG(wstatus);
  }
  return s;
}

std::vector<std::string> child_environment(const ProcessSpec& spec) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("SWITCHBOARD_")) continue;
    auto name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : spec.env) overridden = overridden || k == name;
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  return env;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  if (signal) return std::string("killed by signal ") + strsignal(signal);
  return "unknown status";
}

ServerProcess::ServerProcess(ProcessSpec spec) : spec_(std::move(spec)) {
  // Everything the child needs is built before fork: between fork and exec only
  // async-signal-safe calls are allowed (this process has other threads).
  std::vector<std::string> args{spec_.binary};
  args.insert(args.end(), spec_.args.begin(), spec_.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env = child_environment(spec_);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2];
  int err[2];  // carries errno if exec fails; closed by exec on success
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  if (pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe2 failed");
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = getpid();

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork failed: ") + strerror(errno));
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    int e = errno;
    [[maybe_unused]] auto n = write(err[1], &e, sizeof e);
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (devnull >= 0) ::close(devnull);

  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(err[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err[0]);
  if (n > 0) {
    ::close(out[0]);
    int ignored;
    waitpid(pid_, &ignored, 0);
    pid_ = -1;
    throw std::runtime_error("cannot execute " + spec_.binary + ": " + strerror(exec_errno));
  }

  if (!spec_.log_path.empty())
    log_fd_ = ::open(spec_.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  reader_ = std::thread([this, fd = out[0]] { read_loop(fd); });
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int ws;
    while (waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
  }
  if (reader_.joinable()) reader_.join();
  if (log_fd_ >= 0) ::close(log_fd_);
}

void ServerProcess::read_loop(int fd) {
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (log_fd_ >= 0) {
      [[maybe_unused]] auto written = write(log_fd_, buf, static_cast<size_t>(n));
    }
    if (spec_.echo) std::cerr.write(buf, n).flush();
    std::lock_guard lock(mu_);
    output_.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

std::string ServerProcess::output() const {
  std::lock_guard lock(mu_);
  return output_;
}

bool ServerProcess::wait_output(const std::regex& pattern, Millis timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, Clock::now() + timeout, [&] {
    return std::regex_search(output_, pattern) || eof_;
  }) && std::regex_search(output_, pattern);
}

bool ServerProcess::wait_output_closed(Millis timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, Clock::now() + timeout, [&] { return eof_; });
}

void ServerProcess::wait_listening(Millis timeout) {
  static const std::regex kListening(
      R"(switchboard listening on http://(\[[^\]]*\]|[^\s:/]+):([0-9]+))");
  if (!wait_output(kListening, timeout)) {
    auto status = wait_exit(Millis(0));
    std::string why = status ? "exited (" + status->describe() + ")"
                             : "did not print its listening line within " +
                                   std::to_string(timeout.count()) + " ms";
    throw std::runtime_error(spec_.binary + " " + why + "; output:\n" + tail(output()));
  }
  std::smatch m;
  std::string out = output();
  std::regex_search(out, m, kListening);
  host_ = m[1].str();
  if (host_.size() > 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
  port_ = static_cast<uint16_t>(std::stoul(m[2].str()));
}

bool ServerProcess::running() {
  return !wait_exit(Millis(0)).has_value();
}

void ServerProcess::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<ExitStatus> ServerProcess::wait_exit(Millis timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  auto reap = [&](int flags) {
    int ws = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &ws, flags);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) status_ = decode(ws);
    return status_.has_value();
  };
  if (reap(WNOHANG) || timeout.count() <= 0) return status_;

  // A pidfd becomes readable when the child exits: an event, not a polling loop.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    auto deadline = Clock::now() + timeout;
    int r;
    do {
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
      r = poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0)));
    } while (r < 0 && errno == EINTR);
    ::close(pidfd);
    reap(WNOHANG);
    return status_;
  }
  // Kernels without pidfd_open: bounded polling.
  auto deadline = Clock::now() + timeout;
  while (!reap(WNOHANG) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return status_;
}

std::optional<ExitStatus> ServerProcess::terminate(Millis timeout) {
  signal(SIGTERM);
  return wait_exit(timeout);
}

RunResult run_process(ProcessSpec spec, Millis timeout) {
  ServerProcess p(std::move(spec));
  RunResult r;
  r.status = p.wait_exit(timeout);
  if (!r.status) {
    p.signal(SIGKILL);
    p.wait_exit(kDefaultTimeout);
  }
  // The pipe reaches EOF once the child is gone; wait for the reader to drain it.
  p.wait_output_closed(Millis(2000));
  r.output = p.output();
  return r;
}

}  // namespace switchboard::test
