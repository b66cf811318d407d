#include "net/listener.hpp"

#include <boost/asio/post.hpp>

#include "net/http_session.hpp"
#include "observe/log.hpp"

namespace switchboard::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Listener::Listener(NetContext& ctx, std::vector<EventLoop*> loops, const std::string& host,
                   uint16_t port)
    : ctx_(ctx), loops_(std::move(loops)), acceptor_(loops_[0]->ioc()), retry_(loops_[0]->ioc()) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    tcp::resolver r(loops_[0]->ioc());
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

void Listener::start() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void Listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_.cancel();
  });
}

void Listener::do_accept() {
  EventLoop* loop = loops_[next_++ % loops_.size()];
  acceptor_.async_accept(loop->ioc(), [self = shared_from_this(), loop](boost::system::error_code ec,
                                                                       tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      asio::post(loop->ioc(), [&ctx = self->ctx_, loop, s = std::make_shared<tcp::socket>(std::move(socket))] {
        std::make_shared<HttpSession>(ctx, *loop, std::move(*s))->run();
      });
    } else {
      // EMFILE and friends: back off briefly instead of spinning on the error.
      observe::log_warn("net", "accept failed: " + ec.message());
      self->retry_.expires_after(std::chrono::milliseconds(100));
      self->retry_.async_wait([self](boost::system::error_code e) {
        if (!e && self->acceptor_.is_open()) self->do_accept();
      });
      return;
    }
    self->do_accept();
  });
}

}  // namespace switchboard::net
