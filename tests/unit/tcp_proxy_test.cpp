// TcpProxy (the conformance kit's loopback proxy) against an Asio echo server
// running on its own thread. Clients are plain blocking POSIX sockets with
// receive/send timeouts, so a broken proxy fails a check instead of hanging.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "tcp_proxy.hpp"

using switchboard::conformance::TcpProxy;
using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Echoes every byte back; on EOF it half-closes its side too.
class EchoServer {
 public:
  EchoServer() : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EchoServer() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(tcp::socket s) : sock(std::move(s)) {}
    void read() {
      auto self = shared_from_this();
      sock.async_read_some(asio::buffer(buf), [self](boost::system::error_code ec, std::size_t n) {
        if (ec == asio::error::eof) {
          boost::system::error_code ignored;
          self->sock.shutdown(tcp::socket::shutdown_send, ignored);
          return;
        }
        if (ec) return;
        asio::async_write(self->sock, asio::buffer(self->buf.data(), n),
                          [self](boost::system::error_code wec, std::size_t) {
                            if (!wec) self->read();
                          });
      });
    }
    tcp::socket sock;
    std::array<char, 16384> buf{};
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      std::make_shared<Conn>(std::move(s))->read();
      accept();
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

// A blocking loopback client with timeouts.
class Client {
 public:
  // Connects to 127.0.0.1:port; connected() tells, error() has errno if not.
  explicit Client(uint16_t port, std::chrono::milliseconds timeout = 3000ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    set_timeout(timeout);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) error_ = errno;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return error_ == 0; }
  int error() const { return error_; }

  void set_timeout(std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  bool send_all(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Exactly n bytes, or fewer if EOF/error/timeout came first.
  std::string recv_exact(size_t n) {
    std::string out(n, '\0');
    size_t off = 0;
    while (off < n) {
      ssize_t r = ::recv(fd_, out.data() + off, n - off, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      off += static_cast<size_t>(r);
    }
    out.resize(off);
    return out;
  }

  // What the next recv says: "data", "eof", "error" (e.g. reset) or "timeout".
  std::string next_event() {
    char c;
    for (;;) {
      ssize_t r = ::recv(fd_, &c, 1, 0);
      if (r > 0) return "data";
      if (r == 0) return "eof";
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return "timeout";
      return "error";
    }
  }

  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_ = -1;
  int error_ = 0;
};

std::string round_trip(Client& c, const std::string& msg) {
  if (!c.send_all(msg)) return "<send failed>";
  return c.recv_exact(msg.size());
}

std::string random_bytes(size_t n) {
  std::mt19937 rng(12345);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng() & 0xff);
  return s;
}

// A loopback port nothing listens on (bound, read, released).
uint16_t unused_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return a.local_endpoint().port();
}

}  // namespace

TEST_CASE("tcp proxy: bytes round-trip, 1 MiB included, and half-close passes through", "[tcp_proxy]") {
  EchoServer echo;
  TcpProxy proxy("127.0.0.1", echo.port());
  REQUIRE(proxy.port() != 0);
  CHECK_FALSE(proxy.is_cut());

  Client c(proxy.port());
  REQUIRE(c.connected());
  CHECK(round_trip(c, "hello") == "hello");
  CHECK(round_trip(c, std::string("\0\xff\x01", 3)) == std::string("\0\xff\x01", 3));

  // 1 MiB written from another thread while this one reads: more than every
  // buffer on the path holds, so the proxy's backpressure is exercised.
  const std::string big = random_bytes(1 << 20);
  bool sent = false;
  std::thread writer([&] { sent = c.send_all(big); });
  std::string back = c.recv_exact(big.size());
  writer.join();
  CHECK(sent);
  REQUIRE(back.size() == big.size());
  CHECK(back == big);

  // Client half-closes -> upstream sees EOF -> echo half-closes -> client sees EOF.
  c.shutdown_send();
  CHECK(c.next_event() == "eof");

  // Several connections at once, each its own upstream.
  std::vector<std::unique_ptr<Client>> many;
  for (int i = 0; i < 5; ++i) many.push_back(std::make_unique<Client>(proxy.port()));
  for (int i = 0; i < 5; ++i) {
    REQUIRE(many[i]->connected());
    std::string m = "conn-" + std::to_string(i);
    CHECK(round_trip(*many[i], m) == m);
  }
  CHECK(proxy.connections_accepted() == 6);
}

TEST_CASE("tcp proxy: upstream by name", "[tcp_proxy]") {
  EchoServer echo;
  TcpProxy proxy("localhost", echo.port());  // may resolve to ::1 first: the next address is tried
  Client c(proxy.port());
  REQUIRE(c.connected());
  CHECK(round_trip(c, "by name") == "by name");
}

TEST_CASE("tcp proxy: cut closes open connections at once and refuses new ones, restore listens again",
          "[tcp_proxy]") {
  EchoServer echo;
  TcpProxy proxy("127.0.0.1", echo.port());
  const uint16_t port = proxy.port();

  Client open1(port), open2(port);
  REQUIRE(open1.connected());
  REQUIRE(open2.connected());
  CHECK(round_trip(open1, "one") == "one");
  CHECK(round_trip(open2, "two") == "two");
  CHECK(open2.send_all("unread by the proxy?"));  // data in flight when the cut comes

  proxy.cut();
  CHECK(proxy.is_cut());

  open1.set_timeout(1000ms);
  auto t0 = Clock::now();
  auto ev = open1.next_event();
  CHECK((ev == "eof" || ev == "error"));
  CHECK(Clock::now() - t0 < 1s);
  open2.set_timeout(1000ms);
  // open2 may first get the echo of what it sent before the cut; then EOF/error.
  std::string ev2;
  for (int i = 0; i < 64 && (ev2.empty() || ev2 == "data"); ++i) ev2 = open2.next_event();
  CHECK((ev2 == "eof" || ev2 == "error"));

  Client refused(port, 1000ms);
  CHECK_FALSE(refused.connected());
  CHECK(refused.error() == ECONNREFUSED);

  proxy.cut();  // idempotent
  CHECK(proxy.is_cut());

  proxy.restore();
  CHECK_FALSE(proxy.is_cut());
  CHECK(proxy.port() == port);
  Client again(port);
  REQUIRE(again.connected());
  CHECK(round_trip(again, "back again") == "back again");

  proxy.restore();  // idempotent: the open connection is untouched
  CHECK(round_trip(again, "still here") == "still here");

  // A second cycle works the same.
  proxy.cut();
  again.set_timeout(1000ms);
  auto ev3 = again.next_event();
  CHECK((ev3 == "eof" || ev3 == "error"));
  proxy.restore();
  Client third(port);
  REQUIRE(third.connected());
  CHECK(round_trip(third, "third") == "third");
  CHECK(proxy.port() == port);
}

TEST_CASE("tcp proxy: destructor with open connections returns promptly and closes them", "[tcp_proxy]") {
  EchoServer echo;
  auto proxy = std::make_unique<TcpProxy>("127.0.0.1", echo.port());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(proxy->port(), 1000ms));
    REQUIRE(clients.back()->connected());
    CHECK(round_trip(*clients.back(), "x") == "x");
  }
  auto t0 = Clock::now();
  proxy.reset();
  CHECK(Clock::now() - t0 < 1s);
  for (auto& c : clients) {
    auto ev = c->next_event();
    CHECK((ev == "eof" || ev == "error"));
  }
}

TEST_CASE("tcp proxy: upstream down closes the client", "[tcp_proxy]") {
  TcpProxy proxy("127.0.0.1", unused_port());
  Client c(proxy.port(), 2000ms);
  REQUIRE(c.connected());  // the proxy accepts, then cannot reach upstream
  auto t0 = Clock::now();
  auto ev = c.next_event();
  CHECK((ev == "eof" || ev == "error"));
  CHECK(Clock::now() - t0 < 1s);
}

TEST_CASE("tcp proxy: errors are clear exceptions", "[tcp_proxy]") {
  EchoServer echo;
  asio::io_context io;
  tcp::acceptor taken(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const uint16_t busy = taken.local_endpoint().port();

  // Cannot listen: the port has a listener already.
  CHECK_THROWS_AS(TcpProxy("127.0.0.1", echo.port(), busy), std::runtime_error);
  try {
    TcpProxy p("127.0.0.1", echo.port(), busy);
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(std::to_string(busy)) != std::string::npos);
  }
  // (Resolve failures are not tested: a bad name would wait on DNS.)

  // restore() throws when someone else took the port while cut, and works once it is free.
  TcpProxy proxy("127.0.0.1", echo.port());
  const uint16_t port = proxy.port();
  proxy.cut();
  {
    tcp::acceptor squatter(io, tcp::endpoint(asio::ip::address_v4::loopback(), port));
    CHECK_THROWS_AS(proxy.restore(), std::runtime_error);
    CHECK(proxy.is_cut());
  }
  proxy.restore();
  Client c(port);
  REQUIRE(c.connected());
  CHECK(round_trip(c, "ok") == "ok");
}
