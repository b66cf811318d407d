// Caps on open TCP connections, in total and per client IP. Every accepted
// connection takes a ticket first thing (plain HTTP keep-alive connections
// included, issue 9): the same ticket moves to the WebSocket on upgrade, so a
// connection counts once for its whole life. acquire() runs once per accepted
// connection (not on the delivery path), so one mutex is fine.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include "status/result.hpp"
#include "sync/mutex.hpp"

namespace switchboard::net {

class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  ConnectionLimiter(uint32_t max_total, uint32_t max_per_ip)
      : max_total_(max_total), max_per_ip_(max_per_ip) {}

  // Holding a Ticket holds one connection slot; destroying it frees the slot.
  class Ticket {
   public:
    Ticket(std::shared_ptr<ConnectionLimiter> l, std::string ip) : l_(std::move(l)), ip_(std::move(ip)) {}
    ~Ticket() { l_->release(ip_); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    std::shared_ptr<ConnectionLimiter> l_;
    std::string ip_;
  };

  // A ticket, or kLimit saying which cap is reached.
  Result<std::shared_ptr<Ticket>> acquire(const std::string& ip) {
    sync::Lock lock(mu_);
    if (total_ >= max_total_)
      return Status(StatusCode::kLimit, "the server is at its connection limit");
    auto& n = per_ip_[ip];
    if (n >= max_per_ip_) {
      if (n == 0) per_ip_.erase(ip);
      return Status(StatusCode::kLimit, "too many connections from this address");
    }
    ++n;
    ++total_;
    return std::make_shared<Ticket>(shared_from_this(), ip);
  }

 private:
  void release(const std::string& ip) {
    sync::Lock lock(mu_);
    --total_;
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  }

  const uint32_t max_total_;
  const uint32_t max_per_ip_;
  sync::Mutex mu_;
  uint32_t total_ SB_GUARDED_BY(mu_) = 0;
  std::unordered_map<std::string, uint32_t> per_ip_ SB_GUARDED_BY(mu_);
};

}  // namespace switchboard::net
