#include "support/redis_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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

using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kDefaultRedisServer = "/usr/bin/redis-server";
// How many fresh ports to try when the first pick was taken meanwhile.
constexpr int kPortAttempts = 5;
// A reply larger than this is not something a test asked for.
constexpr std::size_t kMaxReplyBytes = 64u * 1024u * 1024u;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Parses one RESP reply starting at `pos`. Returns false when more bytes are
// needed; sets `error` on a protocol error.
bool parse_reply(const std::string& buf, std::size_t& pos, RedisReply& out, std::string& error,
                 int depth = 0) {
  if (depth > 16) {
    error = "reply nested too deeply";
    return false;
  }
  if (pos >= buf.size()) return false;
  auto eol = buf.find("\r\n", pos);
  if (eol == std::string::npos) return false;
  char kind = buf[pos];
  std::string line = buf.substr(pos + 1, eol - pos - 1);
  auto number = [&](int64_t& n) {
    try {
      std::size_t used = 0;
      n = std::stoll(line, &used);
      if (used != line.size()) throw std::invalid_argument(line);
      return true;
    } catch (const std::exception&) {
      error = "bad number in reply: " + line;
      return false;
    }
  };
  switch (kind) {
    case '+':
      out.type = RedisReply::Type::kStatus;
      out.str = line;
      pos = eol + 2;
      return true;
    case '-':
      out.type = RedisReply::Type::kError;
      out.str = line;
      pos = eol + 2;
      return true;
    case ':': {
      int64_t n = 0;
      if (!number(n)) return false;
      out.type = RedisReply::Type::kInteger;
      out.integer = n;
      pos = eol + 2;
      return true;
    }
    case '$': {
      int64_t n = 0;
      if (!number(n)) return false;
      if (n < 0) {
        out.type = RedisReply::Type::kNil;
        pos = eol + 2;
        return true;
      }
      auto len = static_cast<std::size_t>(n);
      if (buf.size() < eol + 2 + len + 2) return false;
      out.type = RedisReply::Type::kBulk;
      out.str = buf.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
      return true;
    }
    case '*': {
      int64_t n = 0;
      if (!number(n)) return false;
      std::size_t p = eol + 2;
      RedisReply arr;
      if (n < 0) {
        arr.type = RedisReply::Type::kNil;
      } else {
        arr.type = RedisReply::Type::kArray;
        for (int64_t i = 0; i < n; ++i) {
          RedisReply e;
          if (!parse_reply(buf, p, e, error, depth + 1)) return false;
          arr.elements.push_back(std::move(e));
        }
      }
      out = std::move(arr);
      pos = p;
      return true;
    }
    default:
      error = std::string("unexpected reply type byte '") + kind + "'";
      return false;
  }
}

std::string make_temp_dir() {
  auto base = std::filesystem::temp_directory_path() / "switchboard-redis-XXXXXX";
  std::string path = base.string();
  if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed for " + path);
  return path;
}

std::string redis_binary() {
  const char* env = std::getenv("REDIS_SERVER");
  return env && *env ? env : kDefaultRedisServer;
}

}  // namespace

std::string RedisReply::describe() const {
  switch (type) {
    case Type::kNone: return "(no reply: " + error + ")";
    case Type::kStatus: return str;
    case Type::kError: return "(error) " + str;
    case Type::kInteger: return "(integer) " + std::to_string(integer);
    case Type::kBulk: return "\"" + str + "\"";
    case Type::kNil: return "(nil)";
    case Type::kArray: {
      std::string s = "[";
      for (std::size_t i = 0; i < elements.size(); ++i) s += (i ? ", " : "") + elements[i].describe();
      return s + "]";
    }
  }
  return "?";
}

RedisReply redis_command(uint16_t port, const std::vector<std::string>& args, Millis timeout) {
  RedisReply reply;
  auto deadline = Clock::now() + timeout;

  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (sock.get() < 0) {
    reply.error = std::string("socket: ") + strerror(errno);
    return reply;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      reply.error = std::string("connect: ") + strerror(errno);
      return reply;
    }
    if (!wait_fd(sock.get(), POLLOUT, deadline)) {
      reply.error = "connect: timed out";
      return reply;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) {
      reply.error = std::string("connect: ") + strerror(soerr);
      return reply;
    }
  }

  std::string request = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) request += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_fd(sock.get(), POLLOUT, deadline)) {
        reply.error = "send: timed out";
        return reply;
      }
      continue;
    }
    reply.error = std::string("send: ") + strerror(errno);
    return reply;
  }

  std::string buf;
  char chunk[16384];
  for (;;) {
    std::size_t pos = 0;
    std::string perr;
    RedisReply parsed;
    if (parse_reply(buf, pos, parsed, perr)) return parsed;
    if (!perr.empty()) {
      reply.error = perr;
      return reply;
    }
    if (buf.size() > kMaxReplyBytes) {
      reply.error = "reply too large";
      return reply;
    }
    if (!wait_fd(sock.get(), POLLIN, deadline)) {
      reply.error = "no reply within " + std::to_string(timeout.count()) + " ms";
      return reply;
    }
    ssize_t n = ::recv(sock.get(), chunk, sizeof chunk, 0);
    if (n > 0) {
      buf.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0) {
      reply.error = "connection closed before a complete reply";
      return reply;
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      reply.error = std::string("recv: ") + strerror(errno);
      return reply;
    }
  }
}

uint16_t free_loopback_port() {
  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) throw std::runtime_error(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error(std::string("bind: ") + strerror(errno));
  socklen_t len = sizeof addr;
  if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error(std::string("getsockname: ") + strerror(errno));
  return ntohs(addr.sin_port);
}

RedisServer::RedisServer(std::string log_path) : dir_(make_temp_dir()), log_path_(std::move(log_path)) {
  std::string why;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    port_ = free_loopback_port();
    if (launch(Millis(15000), why)) return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  throw std::runtime_error("cannot start redis-server: " + why);
}

RedisServer::~RedisServer() {
  if (process_) {
    process_->signal(SIGKILL);
    process_->wait_exit(Millis(5000));
    process_.reset();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

pid_t RedisServer::pid() const { return process_ ? process_->pid() : -1; }

bool RedisServer::running() { return process_ && process_->running(); }

bool RedisServer::launch(Millis timeout, std::string& why) {
  if (process_) {
    past_output_ += process_->output();
    process_.reset();
  }
  ProcessSpec spec;
  spec.binary = redis_binary();
  spec.args = {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", dir_};
  if (!log_path_.empty())
    spec.log_path = ++starts_ == 1 ? log_path_ : log_path_ + "." + std::to_string(starts_);
  try {
    process_ = std::make_unique<ServerProcess>(std::move(spec));
  } catch (const std::exception& e) {
    why = std::string(e.what()) + " (apt-get install redis-server, or set REDIS_SERVER)";
    return false;
  }
  static const std::regex kReady("Ready to accept connections");
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto pong = redis_command(port_, {"PING"}, Millis(1000));
    if (pong.type == RedisReply::Type::kStatus && pong.str == "PONG") return true;
    if (!process_->running()) {
      why = "redis-server on port " + std::to_string(port_) + " exited (" +
            process_->wait_exit(Millis(0))->describe() + "): " + process_->output();
      past_output_ += process_->output();
      process_.reset();
      return false;
    }
    if (Clock::now() >= deadline) {
      why = "redis-server on port " + std::to_string(port_) + " did not answer PING within " +
            std::to_string(timeout.count()) + " ms (last: " + pong.describe() + "): " + process_->output();
      process_->signal(SIGKILL);
      process_->wait_exit(Millis(5000));
      past_output_ += process_->output();
      process_.reset();
      return false;
    }
    // Wakes early when the ready line appears; otherwise a bounded pause between PINGs.
    process_->wait_output(kReady, Millis(50));
  }
}

void RedisServer::start(Millis timeout) {
  if (running()) return;
  std::string why;
  if (!launch(timeout, why)) throw std::runtime_error("cannot restart redis-server: " + why);
}

void RedisServer::kill9(Millis timeout) {
  if (!process_) return;
  process_->signal(SIGKILL);
  if (!process_->wait_exit(timeout))
    throw std::runtime_error("redis-server (pid " + std::to_string(process_->pid()) +
                             ") still running after SIGKILL");
  process_->wait_output_closed(Millis(2000));
  past_output_ += process_->output();
  process_.reset();
}

void RedisServer::stop(Millis timeout) {
  if (!process_) return;
  process_->signal(SIGTERM);
  if (!process_->wait_exit(timeout)) {
    process_->signal(SIGKILL);
    if (!process_->wait_exit(Millis(5000)))
      throw std::runtime_error("redis-server (pid " + std::to_string(process_->pid()) +
                               ") survives SIGKILL");
  }
  process_->wait_output_closed(Millis(2000));
  past_output_ += process_->output();
  process_.reset();
}

void RedisServer::pause() {
  if (process_) process_->signal(SIGSTOP);
}

void RedisServer::resume() {
  if (process_) process_->signal(SIGCONT);
}

int64_t RedisServer::publish(std::string_view channel, std::string_view payload) const {
  auto r = command({"PUBLISH", std::string(channel), std::string(payload)});
  return r.is_integer() ? r.integer : -1;
}

int64_t RedisServer::subscribers(std::string_view channel) const {
  auto r = command({"PUBSUB", "NUMSUB", std::string(channel)});
  if (r.type != RedisReply::Type::kArray || r.elements.size() != 2 || !r.elements[1].is_integer())
    return -1;
  return r.elements[1].integer;
}

std::string RedisServer::output() const {
  return past_output_ + (process_ ? process_->output() : std::string());
}

}  // namespace switchboard::test
