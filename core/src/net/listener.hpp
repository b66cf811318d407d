// Accepts TCP connections and hands each to an event loop, round-robin; the
// socket is created on the chosen loop's io_context so the connection lives
// there from the start.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/event_loop.hpp"
#include "net/net_context.hpp"

namespace switchboard::net {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds at once (throws std::system_error naming the address on failure).
  Listener(NetContext& ctx, std::vector<EventLoop*> loops, const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  void start();
  void stop();  // any thread

 private:
  void do_accept();

  NetContext& ctx_;
  std::vector<EventLoop*> loops_;
  boost::asio::ip::tcp::acceptor acceptor_;  // on loops_[0]
  boost::asio::steady_timer retry_;          // after an accept error (EMFILE)
  uint16_t port_ = 0;
  size_t next_ = 0;
};

}  // namespace switchboard::net
