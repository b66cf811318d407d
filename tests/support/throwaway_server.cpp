#include "support/throwaway_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <stdexcept>

namespace switchboard::test {

namespace {
using Clock = std::chrono::steady_clock;
// How many fresh ports to try when the first pick was taken meanwhile.
constexpr int kPortAttempts = 5;

std::string make_temp_dir(const std::string& name) {
  std::string path = (std::filesystem::temp_directory_path() / ("switchboard-" + name + "-XXXXXX")).string();
  if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed for " + path);
  return path;
}

void remove_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
}  // namespace

uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error(std::string("bind/getsockname: ") + strerror(err));
  return ntohs(addr.sin_port);
}

ThrowawayServer::ThrowawayServer(Kind kind, std::string log_path)
    : kind_(std::move(kind)), dir_(make_temp_dir(kind_.name)), log_path_(std::move(log_path)) {
  std::string why;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    port_ = free_loopback_port();
    if (launch(Millis(15000), why)) return;
  }
  remove_dir(dir_);
  throw std::runtime_error("cannot start " + kind_.name + ": " + why);
}

ThrowawayServer::~ThrowawayServer() {
  if (process_) {
    process_->signal(SIGKILL);
    process_->wait_exit(Millis(5000));
  }
  remove_dir(dir_);
}

pid_t ThrowawayServer::pid() const { return process_ ? process_->pid() : -1; }

bool ThrowawayServer::running() { return process_ && process_->running(); }

void ThrowawayServer::forget_process() {
  past_output_ += process_->output();
  process_.reset();
}

bool ThrowawayServer::launch(Millis timeout, std::string& why) {
  if (process_) forget_process();
  ProcessSpec spec;
  spec.binary = kind_.binary;
  spec.args = kind_.args(port_, dir_);
  if (!log_path_.empty())
    spec.log_path = ++starts_ == 1 ? log_path_ : log_path_ + "." + std::to_string(starts_);
  try {
    process_ = std::make_unique<ServerProcess>(std::move(spec));
  } catch (const std::exception& e) {
    why = std::string(e.what()) + " (" + kind_.install_hint + ")";
    return false;
  }
  const std::regex ready(kind_.ready_line);
  const std::string where = kind_.name + " on port " + std::to_string(port_);
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string last;
    if (kind_.answers(port_, last)) return true;
    if (!process_->running()) {
      why = where + " exited (" + process_->wait_exit(Millis(0))->describe() + "): " + process_->output();
      forget_process();
      return false;
    }
    if (Clock::now() >= deadline) {
      why = where + " did not answer within " + std::to_string(timeout.count()) + " ms (last: " + last +
            "): " + process_->output();
      process_->signal(SIGKILL);
      process_->wait_exit(Millis(5000));
      forget_process();
      return false;
    }
    // Wakes early when the ready line appears; otherwise a bounded pause between tries.
    process_->wait_output(ready, Millis(50));
  }
}

void ThrowawayServer::start(Millis timeout) {
  if (running()) return;
  std::string why;
  if (!launch(timeout, why)) throw std::runtime_error("cannot restart " + kind_.name + ": " + why);
}

void ThrowawayServer::kill9(Millis timeout) {
  if (!process_) return;
  process_->signal(SIGKILL);
  if (!process_->wait_exit(timeout))
    throw std::runtime_error(kind_.name + " (pid " + std::to_string(process_->pid()) + ") still running after SIGKILL");
  process_->wait_output_closed(Millis(2000));
  forget_process();
}

void ThrowawayServer::stop(Millis timeout) {
  if (!process_) return;
  process_->signal(SIGTERM);
  if (!process_->wait_exit(timeout)) {
    process_->signal(SIGKILL);
    if (!process_->wait_exit(Millis(5000)))
      throw std::runtime_error(kind_.name + " (pid " + std::to_string(process_->pid()) + ") survives SIGKILL");
  }
  process_->wait_output_closed(Millis(2000));
  forget_process();
}

void ThrowawayServer::pause() {
  if (process_) process_->signal(SIGSTOP);
}

void ThrowawayServer::resume() {
  if (process_) process_->signal(SIGCONT);
}

std::string ThrowawayServer::output() const { return past_output_ + (process_ ? process_->output() : std::string()); }

}  // namespace switchboard::test
