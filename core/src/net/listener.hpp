// Accepts TCP connections on a thread of its own (the accept thread) and hands
// each to an event loop, round-robin; the socket is created on the chosen loop's
// io_context so the connection lives there from the start. The accept thread
// does nothing else, so the kernel's accept queue (at most net.core.somaxconn)
// drains even while every loop is busy, as in a reconnect storm: a full queue
// drops the connection's handshake and costs that client a 1 s SYN retransmit.
// Thread-safety: construct, start and stop from one thread (the server's).
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/event_loop.hpp"
#include "net/net_context.hpp"

namespace switchboard::net {

class Listener {
 public:
  // Binds at once (throws std::system_error naming the address on failure).
  Listener(NetContext& ctx, std::vector<EventLoop*> loops, const std::string& host, uint16_t port);
  ~Listener();  // stop()
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  uint16_t port() const { return port_; }
  // Starts the accept thread.
  void start();
  // Closes the listening socket and joins the accept thread. Idempotent.
  void stop();

 private:
  void do_accept();

  NetContext& ctx_;
  std::vector<EventLoop*> loops_;
  boost::asio::io_context ioc_;  // the accept thread's
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after an accept error (EMFILE)
  std::thread thread_;
  uint16_t port_ = 0;
  size_t next_ = 0;
};

}  // namespace switchboard::net
