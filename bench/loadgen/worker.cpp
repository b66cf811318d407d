// A worker process: holds a share of the subscriber connections on one event
// loop and keeps the receive statistics. It takes one-line commands from the
// driver on a socketpair and answers each with one line:
//
//   open N       opens the next N connections (at most plan.window attempts in
//                flight) -> "opened ok=.. failed=.. first=<µs> last=<µs> ids=a,b,.."
//                (first = first attempt, last = last one ready; ids in index order)
//   count S      -> "count <in-order deliveries of step S>"
//   report S     -> "report recv=.. inorder=.. ooo=.. frames=.. closed=.. first=.. last=..
//                    hist=<histogram> lastlat=<max latency per message, by slot>"
//                   and forgets step S
//   storm        drops every connection and reconnects it -> "storm"
//   stormreport  -> "stormreport ready=.. failed=.. times=<µs after the drop at which
//                    each reconnected connection had its first delivery>"
//                   (failed = attempts that failed; a failed client tries again
//                   after 100-500 ms)
//   quit         exits
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <iostream>
#include <map>
#include <sstream>

#include "connection.hpp"
#include "histogram.hpp"
#include "plan.hpp"

namespace switchboard::bench {

namespace net = boost::asio;

namespace {

struct StepStats {
  uint64_t recv = 0, inorder = 0, ooo = 0;
  uint64_t frames = 0;  // WebSocket messages that carried deliveries
  uint64_t first = UINT64_MAX, last = 0;
  Histogram hist;
  std::vector<uint32_t> lastlat;  // slot = seq * kMaxPublishers + publisher
};

void write_line(int fd, std::string line) {
  line += '\n';
  const char* p = line.data();
  size_t left = line.size();
  while (left) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // Asio made the fd non-blocking
        pollfd pfd{fd, POLLOUT, 0};
        ::poll(&pfd, 1, -1);
        continue;
      }
      std::exit(3);  // the driver is gone
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

class Worker final : public ConnectionEvents {
 public:
  Worker(const WorkerPlan& plan, int fd)
      : plan_(plan), fd_(fd), proto_(make_protocol(plan.protocol)), cmd_(ioc_, fd) {}

  int run() {
    read_command();
    ioc_.run();
    return 0;
  }

  void on_ready(Connection& c) override {
    if (storming_) {
      ++storm_ready_;
      return;
    }
    opened_ok_[c.index() - plan_.first] = true;
    ++batch_ok_;
    batch_last_ = now_us();
    advance_open();
  }

  void on_closed(Connection& c, const std::string& why) override {
    if (storming_) {
      // A real client tries again: after 100-500 ms, until the driver stops asking.
      ++storm_failed_;
      note(why);
      auto timer = std::make_shared<net::steady_timer>(ioc_);
      timer->expires_after(std::chrono::milliseconds(100 + std::rand() % 400));
      timer->async_wait([timer, conn = c.shared_from_this()](boost::system::error_code ec) {
        if (!ec) conn->drop_and_reconnect();
      });
      return;
    }
    if (opening_ && !opened_ok_[c.index() - plan_.first]) {
      ++batch_failed_;
      note(why);
      advance_open();
      return;
    }
    ++closed_;
    note(why);
  }

  void on_frame(Connection&, std::string_view) override { frame_counted_ = false; }

  void on_marker(Connection& c, const Marker& m, uint64_t now) override {
    if (m.step != cached_step_) {
      cached_step_ = m.step;
      cached_ = &steps_[m.step];
    }
    StepStats& s = *cached_;
    ++s.recv;
    if (!frame_counted_) ++s.frames, frame_counted_ = true;
    if (c.cur_step != m.step) {
      c.cur_step = m.step;
      c.last_seq.fill(-1);
    }
    if (static_cast<int64_t>(m.seq) > c.last_seq[m.publisher]) {
      ++s.inorder;
      c.last_seq[m.publisher] = m.seq;
    } else {
      ++s.ooo;
    }
    uint64_t lat = now > m.sent_us ? now - m.sent_us : 0;
    s.hist.record(lat);
    size_t slot = static_cast<size_t>(m.seq) * kMaxPublishers + m.publisher;
    if (slot >= s.lastlat.size()) s.lastlat.resize(std::max(slot + 1, s.lastlat.size() * 2), 0);
    auto l32 = static_cast<uint32_t>(std::min<uint64_t>(lat, UINT32_MAX));
    if (l32 >= s.lastlat[slot]) s.lastlat[slot] = l32 + 1;  // 0 = not received
    if (now < s.first) s.first = now;
    if (now > s.last) s.last = now;
    if (storming_ && c.first_after_us == 0 && c.ready()) c.first_after_us = now;
  }

 private:
  void note(const std::string& why) {
    if (notes_++ < 3) std::cerr << "bench worker: connection lost: " << why << "\n";
  }

  void read_command() {
    net::async_read_until(cmd_, cmd_buf_, '\n', [this](boost::system::error_code ec, size_t) {
      if (ec) return ioc_.stop();  // the driver is gone
      std::istream is(&cmd_buf_);
      std::string line;
      std::getline(is, line);
      command(line);
      read_command();
    });
  }

  void command(const std::string& line) {
    std::istringstream in(line);
    std::string verb;
    in >> verb;
    if (verb == "open") {
      size_t n = 0;
      in >> n;
      open(n);
    } else if (verb == "count") {
      uint32_t step = 0;
      in >> step;
      auto it = steps_.find(step);
      write_line(fd_, "count " + std::to_string(it == steps_.end() ? 0 : it->second.inorder));
    } else if (verb == "report") {
      uint32_t step = 0;
      in >> step;
      report(step);
    } else if (verb == "storm") {
      storm();
    } else if (verb == "stormreport") {
      storm_report();
    } else if (verb == "quit") {
      ioc_.stop();
    }
  }

  void open(size_t n) {
    opening_ = true;
    batch_end_ = std::min(plan_.count, started_ + n);
    batch_begin_ = started_;
    batch_ok_ = batch_failed_ = 0;
    batch_first_ = now_us();
    batch_last_ = batch_first_;
    opened_ok_.resize(plan_.count, false);
    advance_open();
  }

  // Starts attempts up to the window; answers once the batch is complete.
  void advance_open() {
    if (!opening_) return;
    size_t done = batch_ok_ + batch_failed_;
    while (started_ < batch_end_ && started_ - batch_begin_ - done < plan_.window) {
      size_t i = plan_.first + started_;
      auto c = Connection::make(ioc_, Endpoint{plan_.host, plan_.port, plan_.tls}, *proto_, *this,
                                i, setup_for(plan_.setup, i));
      conns_.push_back(c);
      ++started_;
      c->start();
    }
    if (done < batch_end_ - batch_begin_) return;
    opening_ = false;
    std::string ids;
    for (size_t k = batch_begin_; k < batch_end_; ++k) {
      if (k > batch_begin_) ids += ',';
      if (conns_[k]->ready()) ids += conns_[k]->server_id();
    }
    write_line(fd_, "opened ok=" + std::to_string(batch_ok_) +
                        " failed=" + std::to_string(batch_failed_) +
                        " first=" + std::to_string(batch_first_) +
                        " last=" + std::to_string(batch_last_) + " ids=" + ids);
  }

  void report(uint32_t step) {
    StepStats s;
    if (auto it = steps_.find(step); it != steps_.end()) {
      s = std::move(it->second);
      steps_.erase(it);
      cached_step_ = UINT32_MAX;
    }
    std::string lat;
    lat.reserve(s.lastlat.size() * 4);
    for (size_t i = 0; i < s.lastlat.size(); ++i) {
      if (!s.lastlat[i]) continue;
      lat += std::to_string(i) + ':' + std::to_string(s.lastlat[i] - 1) + ',';
    }
    write_line(fd_, "report recv=" + std::to_string(s.recv) +
                        " inorder=" + std::to_string(s.inorder) + " ooo=" + std::to_string(s.ooo) +
                        " frames=" + std::to_string(s.frames) +
                        " closed=" + std::to_string(closed_) + " first=" +
                        std::to_string(s.first == UINT64_MAX ? 0 : s.first) +
                        " last=" + std::to_string(s.last) + " hist=" + s.hist.serialize() +
                        " lastlat=" + lat);
  }

  void storm() {
    storming_ = true;
    storm_ready_ = storm_failed_ = 0;
    storm_start_ = now_us();
    for (auto& c : conns_) {
      if (!c->ready()) continue;
      c->first_after_us = 0;
      c->drop_and_reconnect();
    }
    write_line(fd_, "storm");
  }

  void storm_report() {
    std::string times;
    for (auto& c : conns_)
      if (c->first_after_us) times += std::to_string(c->first_after_us - storm_start_) + ',';
    write_line(fd_, "stormreport ready=" + std::to_string(storm_ready_) +
                        " failed=" + std::to_string(storm_failed_) + " times=" + times);
  }

  WorkerPlan plan_;
  int fd_;
  net::io_context ioc_{1};
  std::unique_ptr<Protocol> proto_;
  net::posix::stream_descriptor cmd_;
  net::streambuf cmd_buf_;
  std::vector<std::shared_ptr<Connection>> conns_;

  bool opening_ = false;
  size_t started_ = 0, batch_begin_ = 0, batch_end_ = 0;
  size_t batch_ok_ = 0, batch_failed_ = 0;
  uint64_t batch_first_ = 0, batch_last_ = 0;
  std::vector<bool> opened_ok_;

  std::map<uint32_t, StepStats> steps_;
  uint32_t cached_step_ = UINT32_MAX;
  StepStats* cached_ = nullptr;
  uint64_t closed_ = 0;
  int notes_ = 0;
  bool frame_counted_ = false;

  bool storming_ = false;
  uint64_t storm_start_ = 0;
  size_t storm_ready_ = 0, storm_failed_ = 0;
};

}  // namespace

int run_worker(const WorkerPlan& plan, int fd) {
  Worker w(plan, fd);
  return w.run();
}

}  // namespace switchboard::bench
