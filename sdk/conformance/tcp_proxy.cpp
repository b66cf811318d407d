// TcpProxy: a loopback TCP forwarder the conformance kit runs in-process between
// a plugin and its broker, so outage cases (T4 transport, S4 store) can cut the
// broker away and restore it (see tcp_proxy.hpp).
//
// Bounds: one io_context on one internal thread, which owns every socket; the
// public calls only post to it (cut/restore wait at most 5 s on a promise).
// Per connection: two 64 KiB buffers, one per direction; a direction reads
// again only after its write finished (backpressure, bounded memory). Upstream
// connect: 5 s timeout, then the client is closed. Listens on 127.0.0.1 only.
#include "tcp_proxy.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace switchboard::conformance {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kBufferSize = 64 * 1024;
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kControlTimeout = std::chrono::seconds(5);
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

class Session;
using Registry = std::set<std::shared_ptr<Session>>;

// One proxied connection: the accepted client socket and its own upstream
// socket. Lives on the io thread only; kept alive by its pending handlers and
// by the registry (which cut() uses to close them all).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket client, const tcp::resolver::results_type& upstream, Registry& registry)
      : client_(std::move(client)),
        upstream_(client_.get_executor()),
        timer_(client_.get_executor()),
        endpoints_(upstream),
        registry_(registry) {}

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(kConnectTimeout);
    timer_.async_wait([self](error_code ec) {
      if (!ec && !self->connected_) self->close();  // upstream did not answer in time
    });
    asio::async_connect(upstream_, endpoints_, [self](error_code ec, const tcp::endpoint&) {
      if (self->closed_) return;
      self->timer_.cancel();
      if (ec) {  // upstream down: the client sees its connection closed
        self->close();
        return;
      }
      self->connected_ = true;
      error_code ignored;
      self->upstream_.set_option(tcp::no_delay(true), ignored);
      self->pump(0);
      self->pump(1);
    });
  }

  // Both sides, at once: shutdown then close (unread data makes it an RST).
  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    timer_.cancel();
    for (tcp::socket* s : {&client_, &upstream_}) {
      if (!s->is_open()) continue;
      s->shutdown(tcp::socket::shutdown_both, ignored);
      s->close(ignored);
    }
    registry_.erase(shared_from_this());
  }

 private:
  // dir 0: client -> upstream; dir 1: upstream -> client.
  void pump(int dir) {
    tcp::socket& from = dir == 0 ? client_ : upstream_;
    auto self = shared_from_this();
    from.async_read_some(asio::buffer(buffers_[dir]), [self, dir](error_code ec, std::size_t n) {
      if (self->closed_) return;
      tcp::socket& to = dir == 0 ? self->upstream_ : self->client_;
      if (ec == asio::error::eof) {  // half-close: pass it on
        error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
        self->done_[dir] = true;
        if (self->done_[0] && self->done_[1]) self->close();
        return;
      }
      if (ec) {
        self->close();
        return;
      }
      asio::async_write(to, asio::buffer(self->buffers_[dir].data(), n),
                        [self, dir](error_code wec, std::size_t) {
                          if (self->closed_) return;
                          if (wec) {
                            self->close();
                            return;
                          }
                          self->pump(dir);
                        });
    });
  }

  tcp::socket client_;
  tcp::socket upstream_;
  asio::steady_timer timer_;
  const tcp::resolver::results_type& endpoints_;  // owned by the proxy, outlives us
  Registry& registry_;
  std::array<std::array<char, kBufferSize>, 2> buffers_;
  bool done_[2] = {false, false};
  bool connected_ = false;
  bool closed_ = false;
};

}  // namespace

struct TcpProxy::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  tcp::resolver::results_type upstream;
  uint16_t port = 0;                        // fixed once the first listen picked it
  std::shared_ptr<tcp::acceptor> acceptor;  // null while cut; io thread only
  Registry sessions;                        // io thread only
  asio::steady_timer accept_retry{io};
  std::atomic<bool> cut{false};
  std::atomic<uint64_t> accepted{0};
  std::thread thread;

  // Before the thread starts (constructor) or on the io thread (restore).
  void listen() {
    auto acc = std::make_shared<tcp::acceptor>(io);
    const tcp::endpoint ep(asio::ip::address_v4::loopback(), port);
    error_code ec;
    const char* step = "open";
    acc->open(ep.protocol(), ec);
    if (!ec) {
      step = "set SO_REUSEADDR";
      acc->set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
      step = "bind";
      acc->bind(ep, ec);
    }
    if (!ec) {
      step = "listen";
      acc->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      throw std::runtime_error("TcpProxy: cannot listen on 127.0.0.1:" + std::to_string(port) + " (" +
                               step + "): " + ec.message());
    }
    if (port == 0) port = acc->local_endpoint().port();
    acceptor = acc;
    accept(acc);
  }

  void accept(const std::shared_ptr<tcp::acceptor>& acc) {
    acc->async_accept([this, acc](error_code ec, tcp::socket socket) {
      if (acc != acceptor) return;  // closed by cut(); a later restore() has its own
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
        // e.g. out of file descriptors: retry shortly instead of spinning
        accept_retry.expires_after(kAcceptRetry);
        accept_retry.async_wait([this, acc](error_code tec) {
          if (!tec && acc == acceptor) accept(acc);
        });
        return;
      }
      ++accepted;
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto session = std::make_shared<Session>(std::move(socket), upstream, sessions);
      sessions.insert(session);
      session->start();
      accept(acc);
    });
  }

  void do_cut() {
    error_code ignored;
    if (acceptor) acceptor->close(ignored);
    acceptor.reset();
    accept_retry.cancel();
    const auto all = sessions;  // close() erases from the registry
    for (const auto& s : all) s->close();
    cut = true;
  }

  void do_restore() {
    if (acceptor) return;
    listen();
    cut = false;
  }

  // Runs fn on the io thread and waits (bounded) for it; rethrows what it threw.
  void run_on_io(std::function<void()> fn, const char* what) {
    auto done = std::make_shared<std::promise<void>>();
    auto result = done->get_future();
    asio::post(io, [fn = std::move(fn), done] {
      try {
        fn();
        done->set_value();
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
    if (result.wait_for(kControlTimeout) != std::future_status::ready) {
      throw std::runtime_error(std::string("TcpProxy: ") + what + " did not complete within 5 s");
    }
    result.get();
  }
};

TcpProxy::TcpProxy(std::string upstream_host, uint16_t upstream_port, uint16_t listen_port)
    : impl_(std::make_unique<Impl>()) {
  error_code ec;
  tcp::resolver resolver(impl_->io);
  impl_->upstream = resolver.resolve(upstream_host, std::to_string(upstream_port),
                                     tcp::resolver::numeric_service, ec);
  if (!ec && impl_->upstream.empty()) ec = asio::error::host_not_found;
  if (ec) {
    throw std::runtime_error("TcpProxy: cannot resolve upstream " + upstream_host + ":" +
                             std::to_string(upstream_port) + ": " + ec.message());
  }
  impl_->port = listen_port;
  impl_->listen();
  impl_->thread = std::thread([impl = impl_.get()] {
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (...) {
        // a handler threw (e.g. bad_alloc): keep serving the other connections
      }
    }
  });
}

TcpProxy::~TcpProxy() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    impl->do_cut();
    impl->io.stop();
  });
  impl->work.reset();
  if (impl->thread.joinable()) impl->thread.join();
  // Handlers still queued (aborted operations) are destroyed with the io_context,
  // releasing the last references to their sessions.
}

uint16_t TcpProxy::port() const { return impl_->port; }

void TcpProxy::cut() {
  impl_->run_on_io([impl = impl_.get()] { impl->do_cut(); }, "cut()");
}

void TcpProxy::restore() {
  impl_->run_on_io([impl = impl_.get()] { impl->do_restore(); }, "restore()");
}

bool TcpProxy::is_cut() const { return impl_->cut.load(); }

uint64_t TcpProxy::connections_accepted() const { return impl_->accepted.load(); }

}  // namespace switchboard::conformance
