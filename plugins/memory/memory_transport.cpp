#include "memory_transport.hpp"

#include <map>
#include <vector>

namespace memory_plugin {

// A named bus: the set of started instances that share it.
class Bus {
 public:
  static std::shared_ptr<Bus> get(const std::string& name) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<Bus>> buses;
    std::lock_guard lock(mu);
    auto& weak = buses[name];
    auto bus = weak.lock();
    if (!bus) {
      bus = std::make_shared<Bus>();
      weak = bus;
    }
    return bus;
  }
  void join(MemoryTransport* t) {
    std::lock_guard lock(mu_);
    members_.push_back(t);
  }
  void leave(MemoryTransport* t) {
    std::lock_guard lock(mu_);
    std::erase(members_, t);
  }
  // All or nothing: OK promises that every started member, the publisher
  // included, delivers the message (conformance T2), so one full queue (a slow
  // peer's or our own) makes the whole publish BACKPRESSURE rather than OK-and-drop
  // somewhere. Queues grow only here, under mu_, so the room checked is still there
  // when we enqueue (a delivery thread can only shrink them meanwhile). Holding mu_
  // while enqueuing also gives every member one global order.
  bool publish(std::string_view bytes) {
    std::lock_guard lock(mu_);
    for (auto* m : members_)
      if (!m->has_room()) return false;
    auto msg = std::make_shared<const std::string>(bytes);
    for (auto* m : members_) m->enqueue(msg);
    return true;
  }

 private:
  std::mutex mu_;
  std::vector<MemoryTransport*> members_;  // guarded by mu_
};

MemoryTransport::MemoryTransport(const switchboard::PluginConfig& config, switchboard::Host host)
    : host_(host),
      bus_name_(config.get_string("bus")),
      max_queue_(static_cast<size_t>(config.get_int("max_queue_messages"))) {
  if (max_queue_ == 0) throw std::invalid_argument("memory.max_queue_messages must be at least 1");
}

MemoryTransport::~MemoryTransport() { stop(); }

switchboard::Status MemoryTransport::start() {
  {
    std::lock_guard lock(mu_);
    if (running_) return {};
    running_ = true;
  }
  bus_ = Bus::get(bus_name_);
  bus_->join(this);
  thread_ = std::thread([this] { run(); });
  host_.report_state(SWITCHBOARD_STATE_CONNECTED, "in-process bus '" + bus_name_ + "'");
  return {};
}

switchboard::Status MemoryTransport::publish(std::string_view bytes) {
  {
    std::lock_guard lock(mu_);
    if (!running_) return {switchboard::StatusCode::kUnavailable, "memory transport not started"};
  }
  if (!bus_->publish(bytes))
    return {switchboard::StatusCode::kBackpressure,
            "memory transport queue full (an instance on bus '" + bus_name_ + "' is behind)"};
  return {};
}

bool MemoryTransport::has_room() {
  std::lock_guard lock(mu_);
  return !running_ || queue_.size() < max_queue_;  // a stopping member takes nothing
}

void MemoryTransport::enqueue(const std::shared_ptr<const std::string>& message) {
  std::lock_guard lock(mu_);
  if (!running_) return;  // stopping: it leaves the bus and delivers nothing more
  queue_.push_back(message);
  cv_.notify_one();
}

void MemoryTransport::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return !queue_.empty() || !running_; });
    if (!running_) return;
    auto msg = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    host_.deliver(*msg);
    lock.lock();
  }
}

void MemoryTransport::stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
    queue_.clear();
  }
  cv_.notify_all();
  if (bus_) bus_->leave(this);
  if (thread_.joinable()) thread_.join();
  host_.report_state(SWITCHBOARD_STATE_STOPPED);
}

}  // namespace memory_plugin
