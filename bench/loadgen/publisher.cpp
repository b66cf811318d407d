#include "publisher.hpp"

#include <iostream>
#include <stdexcept>

namespace switchboard::bench {

Publisher::Publisher(const Protocol& proto, const Endpoint& ep, size_t connections)
    : proto_(proto), ep_(ep), work_(ioc_.get_executor()) {
  if (connections == 0 || connections > kMaxPublishers)
    throw std::invalid_argument("publishers must be 1.." + std::to_string(kMaxPublishers));
  for (size_t i = 0; i < connections; ++i)
    conns_.push_back(Connection::make(ioc_, ep_, proto_, *this, i, std::vector<SetupStep>{}));
  thread_ = std::thread([this] { ioc_.run(); });
}

Publisher::~Publisher() {
  stop();
  work_.reset();
  boost::asio::post(ioc_, [this] { ioc_.stop(); });
  thread_.join();
}

void Publisher::connect() {
  auto f = connected_.get_future();
  boost::asio::post(ioc_, [this] {
    for (auto& c : conns_) c->start();
  });
  f.get();
}

void Publisher::on_ready(Connection&) {
  if (++ready_ == conns_.size()) connected_.set_value();
}

void Publisher::on_closed(Connection& c, const std::string& why) {
  failure_ = "publisher connection " + std::to_string(c.index()) + ": " + why;
  if (ready_ < conns_.size()) {
    ready_ = conns_.size() + 1;  // no second set_value
    connected_.set_exception(std::make_exception_ptr(std::runtime_error(failure_)));
  }
}

void Publisher::on_frame(Connection&, std::string_view f) {
  if (f.find("\"err") == std::string_view::npos && f.find("\"error\"") == std::string_view::npos &&
      !f.starts_with("-ERR"))
    return;
  if (errors_++ < 3) std::cerr << "switchboard-bench: publish refused: " << f.substr(0, 300) << "\n";
}

std::future<void> Publisher::start(uint32_t step, double rate, uint64_t count,
                                   size_t payload_bytes,
                                   std::function<Destination(uint64_t)> destination) {
  auto run = std::make_shared<Run>();
  run->step = step;
  run->rate = rate;
  run->count = count;
  run->payload_bytes = payload_bytes;
  run->destination = std::move(destination);
  auto f = run->done.get_future();
  stop_ = false;
  boost::asio::post(ioc_, [this, run] {
    run_ = run;
    run_->start_us = now_us();
    tick();
  });
  return f;
}

void Publisher::stop() { stop_ = true; }

void Publisher::tick() {
  Run& r = *run_;
  if (!stop_) {
    auto elapsed = static_cast<double>(now_us() - r.start_us);
    auto due = std::min<uint64_t>(r.count, static_cast<uint64_t>(elapsed * r.rate / 1e6) + 1);
    const size_t k = conns_.size();
    for (; r.sent < due; ++r.sent) {
      Marker m{r.step, static_cast<uint32_t>(r.sent % k), static_cast<uint32_t>(r.sent / k),
               r.start_us + static_cast<uint64_t>(static_cast<double>(r.sent) * 1e6 / r.rate)};
      auto d = r.destination(r.sent);
      conns_[m.publisher]->send(
          proto_.publish(d.target, d.name, make_payload(m, r.payload_bytes), next_id_++));
    }
  }
  if (stop_ || r.sent == r.count) {
    auto run = std::move(run_);
    run->done.set_value();
    return;
  }
  timer_.expires_after(std::chrono::microseconds(250));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

}  // namespace switchboard::bench
