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
#include <stdexcept>

namespace switchboard::test {

using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kDefaultRedisServer = "/usr/bin/redis-server";
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


RedisServer::RedisServer(std::string log_path)
    : server_(ThrowawayServer::Kind{
                  "redis-server", redis_binary(), "apt-get install redis-server, or set REDIS_SERVER",
                  [](uint16_t port, const std::string& dir) {
                    return std::vector<std::string>{"--port", std::to_string(port), "--bind", "127.0.0.1",
                                                    "--save", "", "--appendonly", "no", "--dir", dir};
                  },
                  [](uint16_t port, std::string& last) {
                    auto pong = redis_command(port, {"PING"}, Millis(1000));
                    last = pong.describe();
                    return pong.type == RedisReply::Type::kStatus && pong.str == "PONG";
                  },
                  "Ready to accept connections"},
              std::move(log_path)) {}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port()) + "/0"; }

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


}  // namespace switchboard::test
