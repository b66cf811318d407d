// The publishing side of a run: K connections on their own event-loop thread,
// sending open-loop at a fixed rate. Message n goes out on connection n % K with
// that connection's next sequence number and carries its *intended* send time
// (start + n / rate), so a publisher that falls behind does not hide latency
// (no coordinated omission).
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "connection.hpp"

namespace switchboard::bench {

struct Destination {
  Target target;
  std::string name;
};

class Publisher final : public ConnectionEvents {
 public:
  Publisher(const Protocol& proto, const Endpoint& ep, size_t connections);
  ~Publisher() override;

  // Connects every publishing connection; throws when one fails.
  void connect();

  // Sends `count` messages of step `step` at `rate` per second; the future is
  // ready once all were handed to the sockets (or stop() was called).
  std::future<void> start(uint32_t step, double rate, uint64_t count, size_t payload_bytes,
                          std::function<Destination(uint64_t)> destination);
  void stop();

  void on_ready(Connection&) override;
  void on_marker(Connection&, const Marker&, uint64_t) override {}
  void on_closed(Connection& c, const std::string& why) override;
  // Replies to publishes that report an error (the first few are printed).
  void on_frame(Connection&, std::string_view frame) override;

 private:
  struct Run {
    uint32_t step;
    double rate;
    uint64_t count;
    size_t payload_bytes;
    std::function<Destination(uint64_t)> destination;
    uint64_t start_us;
    uint64_t sent = 0;
    std::promise<void> done;
  };
  void tick();

  const Protocol& proto_;
  Endpoint ep_;
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer timer_{ioc_};
  std::vector<std::shared_ptr<Connection>> conns_;
  std::shared_ptr<Run> run_;
  uint64_t next_id_ = 1000;
  size_t ready_ = 0;
  std::string failure_;
  std::promise<void> connected_;
  std::atomic<bool> stop_{false};
  uint64_t errors_ = 0;  // publisher thread only
  std::thread thread_;
};

}  // namespace switchboard::bench
