// One event-loop thread: an io_context run by exactly one thread, owning its
// connections and its shard of the routing index. Everything posted to a loop
// runs in FIFO order on that thread.
//
// Write coalescing: a connection never writes from inside a fan-out. It asks for
// a flush; one flush pass, posted behind everything the loop already has
// queued, writes every connection that asked. Deliveries that arrive while a
// pass is writing therefore leave together in the next pass, one write per
// connection. A pass writes 64 connections, then yields to the loop, so a long
// pass never holds up reads. Adaptive coalescing: a pass that would begin
// sooner after the previous one ended than that one took (bounded by
// kMaxWriteGap, 5 ms) waits for it (a timer), so a loop that is busy writing
// spends about half its time on new events, whose frames then leave together —
// batches grow with the load by themselves, and a loop that has not written for
// a while writes at once. server.write_interval > 0 sets a floor between the
// starts of two passes.
//
// Reading: connections hold no read buffer while idle. A readable connection
// reads into the loop's scratch buffer (one per loop: the loop is one thread)
// and parses it in place (ws_connection.hpp).
//
// Deadlines without a timer per connection: the loop keeps its connections in an
// intrusive list and one timer sweeps it while the list is not empty (idle pings
// and idle timeout, session TTL refresh, handshake and close deadlines).
#pragma once

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "routing/index.hpp"

namespace switchboard::net {

// What a loop needs of a connection it writes and sweeps (the WebSocket
// connection implements it). The loop holds a member only while it is attached
// (sweep list) or asked for a flush (a shared_ptr, so it lives until written).
class LoopMember {
 public:
  virtual ~LoopMember() = default;
  // Writes everything queued (the flush pass).
  virtual void flush() = 0;
  // Deadlines, idle pings, session refresh (the sweep). May detach itself.
  virtual void sweep(std::chrono::steady_clock::time_point now) = 0;

 private:
  friend class EventLoop;
  LoopMember* sweep_prev_ = nullptr;
  LoopMember* sweep_next_ = nullptr;
  bool attached_ = false;
};

class EventLoop {
 public:
  EventLoop(int index, std::chrono::milliseconds write_interval)
      : index_(index), write_interval_(write_interval), ioc_(1), work_(ioc_.get_executor()) {}
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

  // Loop thread only: `c` has frames queued and no write in flight.
  void request_flush(std::shared_ptr<LoopMember> c);

  // Loop thread only: the shared read buffer (kScratchBytes).
  static constexpr size_t kScratchBytes = 64 * 1024;
  char* scratch() {
    if (!scratch_) scratch_ = std::make_unique<char[]>(kScratchBytes);
    return scratch_.get();
  }
  // Loop thread only: the swept connections (a connection attaches itself once
  // started and detaches when it ends; detaching twice is harmless).
  void attach(LoopMember* c, std::chrono::milliseconds sweep_every);
  void detach(LoopMember* c);

 private:
  void schedule_flush();
  void flush_pass();
  static constexpr size_t kFlushChunk = 64;  // connections written before yielding
  // The adaptive wait between two passes is bounded by this latency budget.
  static constexpr std::chrono::milliseconds kMaxWriteGap{5};

  void arm_sweep();
  void sweep();

  int index_;
  std::chrono::milliseconds write_interval_;
  // Declared before ioc_ so that connections destroyed with it can still unlink.
  LoopMember* swept_ = nullptr;  // head of the intrusive list
  std::unique_ptr<char[]> scratch_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  routing::IndexShard shard_;
  std::vector<std::shared_ptr<LoopMember>> dirty_;
  std::vector<std::shared_ptr<LoopMember>> flushing_;
  size_t flush_at_ = 0;  // next of flushing_ to write
  bool flush_posted_ = false;
  std::chrono::steady_clock::time_point last_pass_{};  // when the last pass began
  std::chrono::steady_clock::time_point last_pass_end_{};  // and when it ended
  boost::asio::steady_timer flush_timer_{ioc_};
  boost::asio::steady_timer sweep_timer_{ioc_};
  std::chrono::milliseconds sweep_every_{1000};
  bool sweep_armed_ = false;
};

}  // namespace switchboard::net
