// One event-loop thread: an io_context run by exactly one thread, owning its
// connections and its shard of the routing index. Everything posted to a loop
// runs in FIFO order on that thread.
#pragma once

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "routing/index.hpp"

namespace switchboard::net {

class EventLoop {
 public:
  explicit EventLoop(int index) : index_(index), ioc_(1), work_(ioc_.get_executor()) {}
  ~EventLoop() { stop(); }

  void start() { thread_ = std::thread([this] { ioc_.run(); }); }
  // Lets the loop finish once idle (after its connections are gone).
  void release() { work_.reset(); }
  void stop() {
    release();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  bool in_loop() const { return std::this_thread::get_id() == thread_.get_id(); }

  int id() const { return index_; }
  boost::asio::io_context& ioc() { return ioc_; }
  routing::IndexShard& shard() { return shard_; }  // loop thread only

 private:
  int index_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  routing::IndexShard shard_;
};

}  // namespace switchboard::net
