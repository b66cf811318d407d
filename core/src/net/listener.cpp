#include "net/listener.hpp"

#include <boost/asio/post.hpp>

#include "net/http_session.hpp"
#include "observe/log.hpp"

namespace switchboard::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Listener::Listener(NetContext& ctx, std::vector<EventLoop*> loops, const std::string& host,
                   uint16_t port)
    : ctx_(ctx),
      loops_(std::move(loops)),
      work_(ioc_.get_executor()),
      acceptor_(ioc_),
      retry_(ioc_) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    tcp::resolver r(ioc_);
    auto results = r.resolve(host, std::to_string(port), ec);
    if (ec || results.empty())
      throw std::system_error(ec, "server.listen: cannot resolve '" + host + "'");
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep, ec);
  if (ec)
    throw std::system_error(ec, "server.listen: cannot bind " + host + ":" + std::to_string(port));
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

Listener::~Listener() { stop(); }

void Listener::start() {
  asio::post(ioc_, [this] { do_accept(); });
  thread_ = std::thread([this] { ioc_.run(); });
}

void Listener::stop() {
  asio::post(ioc_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  });
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void Listener::do_accept() {
  EventLoop* loop = loops_[next_++ % loops_.size()];
  acceptor_.async_accept(loop->ioc(), [this, loop](boost::system::error_code ec,
                                                   tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning on the error.
      observe::log_warn("net", "accept failed: " + ec.message());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](boost::system::error_code e) {
        if (!e && acceptor_.is_open()) do_accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    asio::post(loop->ioc(), [&ctx = ctx_, loop, s] {
      std::make_shared<HttpSession>(ctx, *loop, std::move(*s))->run();
    });
    do_accept();
  });
}

}  // namespace switchboard::net
